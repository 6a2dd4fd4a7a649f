/**
 * The options the differential HTTP fuzzers share (`http-framing.ts`, `http-roundtrip.ts`):
 * `--count` cases per side, `--seed`, `--side request,response`, `--examples` kept per
 * group, `--mutate` share of cases mutated byte by byte.
 * @module
 */
import process from "node:process";

export interface FuzzOptions {
  readonly count: number;
  readonly seed: number;
  readonly sides: readonly ("request" | "response")[];
  readonly keep: number;
  readonly mutate: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** The options from the command line, with the defaults both fuzzers document. */
export function fuzzOptions(): FuzzOptions {
  const sides = arg("--side", "request,response").split(",");
  for (const s of sides) if (s !== "request" && s !== "response") throw new TypeError(`--side: expected request and/or response, got ${JSON.stringify(s)}`);
  return {
    count: Number(arg("--count", "20000")),
    seed: Number(arg("--seed", "1")),
    sides: sides as ("request" | "response")[],
    keep: Number(arg("--examples", "2")),
    mutate: Number(arg("--mutate", "0.25")),
  };
}
