/**
 * In-process memory trace: when `MEMTRACE_FILE` is set, appends one JSON line every
 * `MEMTRACE_MS` (default 100) ms with `process.memoryUsage()` and, on Bun, `bun:jsc`'s
 * heap and allocator figures. Loaded with `bun --preload` or imported first on Deno.
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
  }, ms);
  (timer as { unref?: () => void }).unref?.();
}
