/**
 * What the focused benchmarks (`mint.ts`, `client-cert.ts`) share: the runtime's name for the
 * report's title, numeric arguments, and timing one call after another.
 * @module
 */
import process from "node:process";

interface RuntimeGlobals {
  Bun?: { version: string };
  Deno?: { version: { deno: string } };
}

/** "bun 1.4.5", "deno 2.9.6" or "node v24…": what the benchmark runs on. */
export function runtimeName(): string {
  const g = globalThis as RuntimeGlobals;
  if (g.Bun !== undefined) return `bun ${g.Bun.version}`;
  if (g.Deno !== undefined) return `deno ${g.Deno.version.deno}`;
  return `node ${process.version}`;
}

/** The positive number after `name` on the command line (`--hosts 500`), else `fallback`. */
export function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** The time of each of `n` calls of `fn` (awaited one after another), in ms, ascending. */
export async function timeEach(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn(i);
    out.push(performance.now() - start);
  }
  return out.sort((a, b) => a - b);
}
