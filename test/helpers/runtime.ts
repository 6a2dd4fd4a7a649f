import type { Runtime } from "../../src/core/runtime.ts";

/** The name of the runtime executing the tests. */
export const runtimeName: "bun" | "deno" | "node" =
  "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";

/** The adapter for the runtime executing the tests (path computed so type-checkers don't follow it). */
export async function currentRuntime(): Promise<Runtime> {
  const path = `../../src/runtime/${runtimeName}/index.ts`;
  const mod = (await import(path)) as Record<string, Runtime>;
  const rt = mod[`${runtimeName}Runtime`];
  if (!rt) throw new Error(`No adapter for ${runtimeName}`);
  return rt;
}
