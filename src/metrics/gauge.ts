/**
 * A value that goes up and down, set directly or computed at scrape time.
 *
 * @module
 */
import { _formatLabels, _formatValue } from "./_format.ts";
import { _BaseMetric, type MetricOptions } from "./_metric.ts";
import type { LabelObject, LabelTuple } from "./_series.ts";

/** Options of a {@linkcode Gauge}. */
export interface GaugeOptions<L extends readonly string[]> extends MetricOptions<L> {
  /**
   * Called before each exposition to set values computed at scrape time.
   *
   * @example
   * ```ts
   * registry.gauge({ name: "cache_size", help: "Entries.", collect: (g) => g.set(cache.size) });
   * ```
   */
  readonly collect?: (gauge: Gauge<L>) => void;
}

/** One label-value combination of a gauge. */
export class GaugeChild {
  #value = 0;

  /** Sets the value. */
  set(value: number): void {
    if (typeof value !== "number") throw new TypeError(`Gauge value must be a number, got ${typeof value}`);
    this.#value = value;
  }

  /** Adds `n` (default 1). */
  inc(n = 1): void {
    this.set(this.#value + n);
  }

  /** Subtracts `n` (default 1). */
  dec(n = 1): void {
    this.set(this.#value - n);
  }

  /** Current value. */
  get value(): number {
    return this.#value;
  }
}

/**
 * A gauge with a fixed list of label names.
 *
 * @example
 * ```ts
 * const active = new Gauge({ name: "active", help: "Open connections.", labelNames: ["listener"] as const });
 * const main = active.labels("main");
 * main.inc();
 * main.dec();
 * ```
 */
export class Gauge<const L extends readonly string[] = readonly []> extends _BaseMetric<L, GaugeChild> {
  readonly type = "gauge";
  readonly sampleNames: readonly string[];

  constructor(options: GaugeOptions<L>) {
    super(options, [], () => new GaugeChild());
    this.sampleNames = [this.name];
    const collect = options.collect;
    if (collect) this._onCollect = () => collect(this);
  }

  /** Sets the label-less gauge. */
  set(value: number): void;
  /** Sets the child named by `labels`. */
  set(labels: LabelObject<L>, value: number): void;
  set(a: number | LabelObject<L>, value?: number): void {
    if (typeof a === "object") this._child(a as Readonly<Record<string, string>>).set(value as number);
    else this._child(undefined).set(a);
  }

  /** Adds `n` (default 1) to the label-less gauge. */
  inc(n?: number): void;
  /** Adds `n` (default 1) to the child named by `labels`. */
  inc(labels: LabelObject<L>, n?: number): void;
  inc(a?: number | LabelObject<L>, n?: number): void {
    if (typeof a === "object") this._child(a as Readonly<Record<string, string>>).inc(n);
    else this._child(undefined).inc(a);
  }

  /** Subtracts `n` (default 1) from the label-less gauge. */
  dec(n?: number): void;
  /** Subtracts `n` (default 1) from the child named by `labels`. */
  dec(labels: LabelObject<L>, n?: number): void;
  dec(a?: number | LabelObject<L>, n?: number): void {
    if (typeof a === "object") this._child(a as Readonly<Record<string, string>>).dec(n);
    else this._child(undefined).dec(a);
  }

  /** Current value of the child with these label values (0 if it does not exist yet). */
  value(...values: LabelTuple<L>): number {
    return this._table.find(values)?.value ?? 0;
  }

  protected _renderChild(out: string[], values: readonly string[], child: GaugeChild): void {
    out.push(`${this.name}${_formatLabels(this.labelNames, values)} ${_formatValue(child.value)}`);
  }
}
