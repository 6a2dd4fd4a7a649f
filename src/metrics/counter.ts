/**
 * A monotonically increasing counter.
 *
 * @module
 */
import { _formatLabels, _formatValue } from "./_format.ts";
import { _BaseMetric, type MetricOptions } from "./_metric.ts";
import type { LabelObject, LabelTuple } from "./_series.ts";

/** Options of a {@linkcode Counter}. */
export interface CounterOptions<L extends readonly string[]> extends MetricOptions<L> {
  /** Called before each exposition (e.g. to catch up with a count kept elsewhere). */
  readonly collect?: (counter: Counter<L>) => void;
}

/** One label-value combination of a counter. */
export class CounterChild {
  #value = 0;

  /** Adds `n` (default 1); throws `RangeError` for a negative or non-finite `n`. */
  inc(n = 1): void {
    if (!(n >= 0 && n !== Infinity)) throw new RangeError(`Counter increment must be a finite number >= 0, got ${JSON.stringify(n)}`);
    this.#value += n;
  }

  /** Current value. */
  get value(): number {
    return this.#value;
  }
}

/**
 * A counter with a fixed list of label names.
 *
 * @example
 * ```ts
 * const c = new Counter({ name: "hits_total", help: "Hits.", labelNames: ["route"] as const });
 * c.inc({ route: "/" });
 * c.labels("/").inc(2);
 * c.value("/"); // 3
 * ```
 */
export class Counter<const L extends readonly string[] = readonly []> extends _BaseMetric<L, CounterChild> {
  readonly type = "counter";
  readonly sampleNames: readonly string[];

  constructor(options: CounterOptions<L>) {
    super(options, [], () => new CounterChild());
    this.sampleNames = [this.name];
    const collect = options.collect;
    if (collect) this._onCollect = () => collect(this);
  }

  /** Adds `n` (default 1) to the label-less counter. */
  inc(n?: number): void;
  /** Adds `n` (default 1) to the child named by `labels`. */
  inc(labels: LabelObject<L>, n?: number): void;
  inc(a?: number | LabelObject<L>, n?: number): void {
    if (typeof a === "object") this._child(a as Readonly<Record<string, string>>).inc(n);
    else this._child(undefined).inc(a);
  }

  /** Current value of the child with these label values (0 if it does not exist yet). */
  value(...values: LabelTuple<L>): number {
    return this._table.find(values)?.value ?? 0;
  }

  protected _renderChild(out: string[], values: readonly string[], child: CounterChild): void {
    out.push(`${this.name}${_formatLabels(this.labelNames, values)} ${_formatValue(child.value)}`);
  }
}
