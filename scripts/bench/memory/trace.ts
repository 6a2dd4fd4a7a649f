/**
 * In-process memory trace: when `MEMTRACE_FILE` is set, appends one JSON line every
 * `MEMTRACE_MS` (default 100) ms with `process.memoryUsage()` and, on Bun, `bun:jsc`'s
 * heap and allocator figures. Loaded with `bun --preload` or imported first on Deno.
 * `MEMTRACE_GC=1` (Deno, with `--v8-flags=--expose-gc`) runs a full collection after every
 * sample, to tell live memory from garbage awaiting collection.
 *
 * @module
 */
import { appendFileSync } from "node:fs";
import process from "node:process";

const file = process.env["MEMTRACE_FILE"];
if (file) {
  const ms = Number(process.env["MEMTRACE_MS"] ?? "100");
  type Jsc = { heapStats(): Record<string, unknown>; memoryUsage(): Record<string, number> };
  let jsc: Jsc | undefined;
  if ("Bun" in globalThis) jsc = (await import("bun:jsc")) as unknown as Jsc;
  const gc = process.env["MEMTRACE_GC"] ? (globalThis as { gc?: () => void }).gc : undefined;
  if (process.env["MEMTRACE_GC"] && !gc) throw new Error("MEMTRACE_GC needs a collector to call: run with V8's --expose-gc");
  const t0 = Date.now();
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const row: Record<string, unknown> = { t: Date.now() - t0, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
    if (jsc) {
      const h = jsc.heapStats();
      row["jscHeapSize"] = h["heapSize"];
      row["jscHeapCapacity"] = h["heapCapacity"];
      row["jscExtra"] = h["extraMemorySize"];
      row["jscObjects"] = h["objectCount"];
      const u = jsc.memoryUsage();
      row["mi"] = u["current"];
      row["miCommit"] = u["currentCommit"];
      row["miPeakCommit"] = u["peakCommit"];
    }
    appendFileSync(file, JSON.stringify(row) + "\n");
    // MEMTRACE_GC=1 (with V8's --expose-gc): a full collection after each sample, so that
    // what the next sample shows beyond the last is what lived through it, not garbage
    if (gc) gc();
  }, ms);
  (timer as { unref?: () => void }).unref?.();
}
