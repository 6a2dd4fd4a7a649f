/**
 * In-process memory trace: when `MEMTRACE_FILE` is set, appends one JSON line every
 * `MEMTRACE_MS` (default 100) ms with `process.memoryUsage()` and, on Bun, `bun:jsc`'s
 * heap and allocator figures. Loaded with `bun --preload` or imported first on Deno.
 * `MEMTRACE_GC=1` (Deno, with `--v8-flags=--expose-gc`) runs a full collection after every
 * sample, to tell live memory from garbage awaiting collection. On Deno each line also has
 * V8's space sizes (`space_new_space`, `space_old_space`, …, from `node:v8`) and, where FFI is
 * allowed and libc is glibc, `mallinfo2()`: `mallocArena` (bytes all arenas hold from the
 * OS, mmapped blocks aside), `mallocInUse` and `mallocFree` — so that memory the allocator keeps in use (live
 * or waiting for a collection) can be told from memory it holds free.
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
  type V8Spaces = { getHeapSpaceStatistics(): { space_name: string; space_size: number }[] };
  const v8: V8Spaces | undefined = "Deno" in globalThis ? ((await import("node:v8")) as unknown as V8Spaces) : undefined;
  const mallinfo = "Deno" in globalThis ? openMallinfo() : undefined;
  const t0 = Date.now();
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const row: Record<string, unknown> = { t: Date.now() - t0, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
    for (const space of v8?.getHeapSpaceStatistics() ?? []) row[`space_${space.space_name}`] = space.space_size;
    if (mallinfo) Object.assign(row, mallinfo());
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

/** glibc's `mallinfo2()` through Deno's FFI, or undefined (no FFI permission, not glibc). */
function openMallinfo(): (() => Record<string, number>) | undefined {
  type Lib = { symbols: { mallinfo2(): Uint8Array } };
  type DenoFfi = { dlopen(path: string, symbols: Record<string, unknown>): Lib };
  try {
    const size_t = "usize";
    const lib = (globalThis as unknown as { Deno: DenoFfi }).Deno.dlopen("libc.so.6", {
      mallinfo2: { parameters: [], result: { struct: Array(10).fill(size_t) } },
    });
    return () => {
      // struct mallinfo2: arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost
      const f = new BigUint64Array(lib.symbols.mallinfo2().buffer);
      return { mallocArena: Number(f[0]), mallocMmapped: Number(f[4]), mallocInUse: Number(f[7]), mallocFree: Number(f[8]) };
    };
  } catch {
    return undefined;
  }
}
