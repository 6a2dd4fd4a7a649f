/**
 * The process's own resources as Prometheus metrics, read at scrape time from the runtime
 * adapter's {@linkcode ProcessStats}. The `process_*` names are the ones Prometheus client
 * libraries use, so existing dashboards and alerts work unchanged.
 *
 * @module
 */
import type { ProcessStats } from "../core/runtime.ts";
import type { Registry } from "./registry.ts";

/** Names of the families registered by {@linkcode registerProcessMetrics}. */
export const PROCESS_METRIC_NAMES = [
  "process_cpu_seconds_total",
  "process_resident_memory_bytes",
  "process_open_fds",
  "process_max_fds",
  "tollgate_js_heap_used_bytes",
  "tollgate_js_heap_size_bytes",
] as const;

/**
 * Registers CPU time, resident memory, descriptors and the JavaScript heap (in use, and held). The descriptor
 * families are registered only where the platform gives them (Linux's `/proc`).
 *
 * @example
 * ```ts
 * if (runtime.process) registerProcessMetrics(registry, runtime.process);
 * ```
 */
export function registerProcessMetrics(registry: Registry, stats: ProcessStats): void {
  registry.counter({
    name: "process_cpu_seconds_total",
    help: "User and system CPU time spent, seconds.",
    collect: (c) => {
      const delta = stats.cpuSeconds() - c.value();
      if (delta > 0) c.inc(delta);
    },
  });
  registry.gauge({ name: "process_resident_memory_bytes", help: "Resident memory size, bytes.", collect: (g) => g.set(stats.memory().rssBytes) });
  registry.gauge({
    name: "tollgate_js_heap_used_bytes",
    help: "JavaScript heap in use as the engine counts it (V8 on Deno; JavaScriptCore, with its extra memory, on Bun), bytes.",
    collect: (g) => g.set(stats.memory().heapUsedBytes),
  });
  registry.gauge({
    name: "tollgate_js_heap_size_bytes",
    help: "JavaScript heap the engine holds from the system, used and free, bytes. It grows in steps as the engine sizes its heap for the load; resident memory less this is memory outside the heap.",
    collect: (g) => g.set(stats.memory().heapSizeBytes),
  });
  const optional = (name: string, help: string, read: () => number | undefined) => {
    if (read() === undefined) return;
    registry.gauge({ name, help, collect: (g) => g.set(read() ?? Number.NaN) });
  };
  optional("process_open_fds", "Open file descriptors.", () => stats.openFds());
  optional("process_max_fds", "Soft limit on open file descriptors.", () => stats.maxFds());
}
