/**
 * What the focused benchmarks (`mint.ts`, `client-cert.ts`) share: the runtime's name for the
 * report's title, and numeric arguments.
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
