/**
 * A histogram with fixed buckets, exposed as cumulative `_bucket{le=…}`, `_sum` and `_count`.
 *
 * @module
 */
import { _formatLabels, _formatValue } from "./_format.ts";
import { _BaseMetric, type MetricOptions } from "./_metric.ts";
import type { LabelObject, LabelTuple } from "./_series.ts";

/** Prometheus' default buckets, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/** Options of a {@linkcode Histogram}. */
export interface HistogramOptions<L extends readonly string[]> extends MetricOptions<L> {
  /** Upper bounds, strictly increasing and finite; `+Inf` is always added. Default {@linkcode DEFAULT_BUCKETS}. */
  readonly buckets?: readonly number[];
  /** Called before each exposition. */
  readonly collect?: (histogram: Histogram<L>) => void;
}

/** A snapshot of one histogram child. */
export interface HistogramSnapshot {
  /** Cumulative counts, one per bucket bound, the last for `+Inf` (equal to `count`). */
  readonly buckets: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/** One label-value combination of a histogram. */
export class HistogramChild {
  readonly #bounds: readonly number[];
  /** Non-cumulative counts per bucket; the last is the `+Inf` overflow. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.#counts = new Float64Array(bounds.length + 1);
  }

  /** Records one value; throws `RangeError` for NaN. */
  observe(value: number): void {
    if (typeof value !== "number" || Number.isNaN(value)) {
      throw new RangeError(`Histogram observation must be a number, got ${JSON.stringify(value)}`);
    }
    const bounds = this.#bounds;
    // binary search for the first bound >= value
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (value <= bounds[mid]!) hi = mid;
      else lo = mid + 1;
    }
    this.#counts[lo]! += 1;
    this.#sum += value;
    this.#count += 1;
  }

  /**
   * Starts a timer; calling the returned function observes the seconds elapsed and returns them.
   *
   * @example
   * ```ts
   * const done = mintSeconds.labels().startTimer();
   * await mint();
   * done();
   * ```
   */
  startTimer(): () => number {
    const start = performance.now();
    return () => {
      const seconds = (performance.now() - start) / 1000;
      this.observe(seconds);
      return seconds;
    };
  }

  /** Cumulative bucket counts, sum and count. */
  snapshot(): HistogramSnapshot {
    const buckets: number[] = [];
    let acc = 0;
    for (const c of this.#counts) buckets.push((acc += c));
    return { buckets, sum: this.#sum, count: this.#count };
  }
}

/**
 * A histogram with a fixed list of label names and fixed buckets.
 *
 * @example
 * ```ts
 * const h = new Histogram({ name: "lookup_seconds", help: "Lookup time.", buckets: [0.001, 0.01, 0.1] });
 * h.observe(0.004);
 * ```
 */
export class Histogram<const L extends readonly string[] = readonly []> extends _BaseMetric<L, HistogramChild> {
  readonly type = "histogram";
  readonly sampleNames: readonly string[];
  /** Bucket upper bounds, without `+Inf`. */
  readonly buckets: readonly number[];
  readonly #le: readonly string[];

  constructor(options: HistogramOptions<L>) {
    const bounds = checkBuckets(options?.name, options?.buckets ?? DEFAULT_BUCKETS);
    super(options, ["le"], () => new HistogramChild(bounds));
    this.buckets = bounds;
    this.#le = [...bounds.map(_formatValue), "+Inf"];
    this.sampleNames = [`${this.name}_bucket`, `${this.name}_sum`, `${this.name}_count`];
    const collect = options.collect;
    if (collect) this._onCollect = () => collect(this);
  }

  /** Records `value` in the label-less histogram. */
  observe(value: number): void;
  /** Records `value` in the child named by `labels`. */
  observe(value: number, labels: LabelObject<L>): void;
  observe(value: number, labels?: LabelObject<L>): void {
    this._child(labels as Readonly<Record<string, string>> | undefined).observe(value);
  }

  /** Starts a timer on the label-less histogram (see {@linkcode HistogramChild.startTimer}). */
  startTimer(): () => number {
    return this._child(undefined).startTimer();
  }

  /** Snapshot of the child with these label values, if it exists. */
  snapshot(...values: LabelTuple<L>): HistogramSnapshot | undefined {
    return this._table.find(values)?.snapshot();
  }

  protected _renderChild(out: string[], values: readonly string[], child: HistogramChild): void {
    const { buckets, sum, count } = child.snapshot();
    const le = this.#le;
    for (let i = 0; i < buckets.length; i++) {
      out.push(`${this.name}_bucket${_formatLabels(this.labelNames, values, "le", le[i])} ${_formatValue(buckets[i]!)}`);
    }
    const labels = _formatLabels(this.labelNames, values);
    out.push(`${this.name}_sum${labels} ${_formatValue(sum)}`, `${this.name}_count${labels} ${_formatValue(count)}`);
  }
}

function checkBuckets(metric: string | undefined, buckets: readonly number[]): readonly number[] {
  if (!Array.isArray(buckets)) throw new TypeError(`Buckets of metric "${metric}" must be an array`);
  const bounds = buckets.filter((b) => b !== Infinity);
  if (bounds.length === 0) throw new RangeError(`Metric "${metric}" needs at least one finite bucket`);
  for (let i = 0; i < bounds.length; i++) {
    const b = bounds[i]!;
    if (typeof b !== "number" || !Number.isFinite(b)) {
      throw new RangeError(`Bucket ${JSON.stringify(b)} of metric "${metric}" is not a finite number`);
    }
    if (i > 0 && b <= bounds[i - 1]!) throw new RangeError(`Buckets of metric "${metric}" must be strictly increasing`);
  }
  return Object.freeze(bounds);
}
