/**
 * Runs byte streams through `llhttp-reference.mjs` (Node's llhttp, strict) in one `node`
 * process per batch, for the fuzzers that compare against it (`http-framing.ts`,
 * `http-roundtrip.ts`). Needs `node` on the PATH.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import type { Outcome } from "./http-framing-tollgate.ts";

const REFERENCE = new URL("./llhttp-reference.mjs", import.meta.url).pathname;

/** One stream for llhttp: requests, or responses to requests with `methods` in order. Latin1 text. */
export interface ReferenceInput {
  readonly kind: "request" | "response";
  readonly text: string;
  readonly methods: readonly string[];
}

/** How llhttp read each of `inputs`, in order. */
export function reference(inputs: readonly ReferenceInput[]): Promise<Outcome[]> {
  const child = spawn("node", ["--no-deprecation", REFERENCE], { stdio: ["pipe", "pipe", "inherit"] });
  const out: Uint8Array[] = [];
  child.stdout.on("data", (b: Uint8Array) => out.push(b));
  const input = inputs.map((c) => JSON.stringify({ kind: c.kind, methods: c.methods, data: btoa(c.text) })).join("\n");
  child.stdin.end(`${input}\n`);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      const lines = Buffer.concat(out).toString("utf8").split("\n").filter((l) => l !== "");
      if (code !== 0 || lines.length !== inputs.length) reject(new Error(`llhttp reference exited ${code} with ${lines.length} of ${inputs.length} results`));
      else resolve(lines.map((l) => JSON.parse(l) as Outcome));
    });
  });
}
