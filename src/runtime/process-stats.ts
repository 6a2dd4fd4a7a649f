/**
 * {@linkcode ProcessStats} from Node's process API, which Bun and Deno both provide, and
 * Linux's `/proc/self` for descriptors. Shared by the Bun and Deno adapters.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import type { ProcessStats } from "../core/runtime.ts";

/** Open descriptors: the entries of /proc/self/fd, less the one reading it. */
function openFds(): number | undefined {
  try {
    return readdirSync("/proc/self/fd").length - 1;
  } catch {
    return undefined; // not Linux, or not allowed to read /proc
  }
}

/** The soft "Max open files" of /proc/self/limits. */
function maxFds(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return m ? Number(m[1]) : undefined; // "unlimited" has no number
  } catch {
    return undefined;
  }
}

export const processStats: ProcessStats = {
  memory() {
    const m = process.memoryUsage();
    return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapSizeBytes: m.heapTotal };
  },
  cpuSeconds() {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
  },
  openFds,
  maxFds,
};
