/**
 * A set of metrics exposed together in the Prometheus text format 0.0.4.
 *
 * @module
 */
import { Counter, type CounterOptions } from "./counter.ts";
import { Gauge, type GaugeOptions } from "./gauge.ts";
import { Histogram, type HistogramOptions } from "./histogram.ts";
import type { Metric } from "./_metric.ts";

/** `Content-Type` of {@linkcode Registry.expose}'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Metrics by name. Exposition lists metric families sorted by name and, within a family,
 * children sorted by label values, so the output is stable.
 *
 * @example
 * ```ts
 * const registry = new Registry();
 * const hits = registry.counter({ name: "hits_total", help: "Hits.", labelNames: ["route"] });
 * hits.labels("/").inc();
 * new Response(registry.expose(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } });
 * ```
 */
export class Registry {
  readonly #metrics = new Map<string, Metric>();
  /** Family and sample names in use, so `x_count` cannot clash with histogram `x`. */
  readonly #names = new Set<string>();

  /** Creates and registers a counter. */
  counter<const L extends readonly string[] = readonly []>(options: CounterOptions<L>): Counter<L> {
    return this.register(new Counter(options));
  }

  /** Creates and registers a gauge. */
  gauge<const L extends readonly string[] = readonly []>(options: GaugeOptions<L>): Gauge<L> {
    return this.register(new Gauge(options));
  }

  /** Creates and registers a histogram. */
  histogram<const L extends readonly string[] = readonly []>(options: HistogramOptions<L>): Histogram<L> {
    return this.register(new Histogram(options));
  }

  /** Registers a metric; throws `TypeError` if its name or a sample name is taken. */
  register<M extends Metric>(metric: M): M {
    const names = [metric.name, ...metric.sampleNames];
    for (const n of names) {
      if (this.#names.has(n)) throw new TypeError(`Metric name "${n}" is already registered`);
    }
    for (const n of names) this.#names.add(n);
    this.#metrics.set(metric.name, metric);
    return metric;
  }

  /** Removes a metric by name; true if it was registered. */
  unregister(name: string): boolean {
    const metric = this.#metrics.get(name);
    if (!metric) return false;
    this.#metrics.delete(name);
    this.#names.delete(metric.name);
    for (const n of metric.sampleNames) this.#names.delete(n);
    return true;
  }

  /** The metric registered under `name`. */
  get(name: string): Metric | undefined {
    return this.#metrics.get(name);
  }

  /** Every registered metric, sorted by name. */
  metrics(): Metric[] {
    return [...this.#metrics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * The text exposition (format 0.0.4): `# HELP` and `# TYPE` lines and samples for every
   * metric, each line ending in `\n`. Collect callbacks run first; an error from one
   * propagates (a scrape fails rather than showing stale values silently).
   */
  expose(): string {
    const metrics = this.metrics();
    for (const m of metrics) m.collect();
    const lines: string[] = [];
    for (const m of metrics) m.render(lines);
    return lines.length === 0 ? "" : lines.join("\n") + "\n";
  }
}
