import { existsSync, readFileSync } from "node:fs";

/** The JSON lines of a file (a flow log) parsed; none while the file does not exist yet. */
export function jsonLines(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
}
