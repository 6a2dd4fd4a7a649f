/**
 * What a reload cannot change: the config sections that only take
 * effect after a restart, so a reload can name them instead of pretending.
 * @module
 */
import type { Config } from "./config.ts";

/** Sections whose change only takes effect after a restart. */
export function restartNeeded(old: Config, next: Config): string[] {
  const out: string[] = [];
  for (const key of ["workers"] as const) {
    if (JSON.stringify(old[key]) !== JSON.stringify(next[key])) out.push(key);
  }
  return out;
}
