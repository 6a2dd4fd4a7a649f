/**
 * What every metric type shares: name, help, declared label names and the table of children.
 *
 * @module
 */
import { _checkLabelNames, _checkMetricName, _escapeHelp } from "./_format.ts";
import { _SeriesTable, DEFAULT_MAX_SERIES, type LabelTuple } from "./_series.ts";

/** Options every metric takes. */
export interface MetricOptions<L extends readonly string[]> {
  /** Metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
  readonly name: string;
  /** One line of help text (escaped on exposition). */
  readonly help: string;
  /** Label names, fixed at creation; every sample carries a value for each. Default none. */
  readonly labelNames?: L;
  /** Most label-value combinations; creating one more throws `RangeError`. Default 10000. */
  readonly maxSeries?: number;
}

/** The metric type as written on the `# TYPE` line. */
export type MetricType = "counter" | "gauge" | "histogram";

/** A metric as the registry sees it. */
export interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labelNames: readonly string[];
  /** Names of the sample lines this metric writes (the registry refuses clashes). */
  readonly sampleNames: readonly string[];
  /** Runs the metric's collect callback, if any (before exposition). */
  collect(): void;
  /** Appends the metric's `# HELP`, `# TYPE` and sample lines (without line ends) to `out`. */
  render(out: string[]): void;
}

const NO_VALUES: readonly string[] = Object.freeze([]);

/** Base of {@linkcode Counter}, {@linkcode Gauge} and {@linkcode Histogram}. */
export abstract class _BaseMetric<L extends readonly string[], C> implements Metric {
  /** Metric name. */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Declared label names, in order. */
  readonly labelNames: L;
  abstract readonly type: MetricType;
  abstract readonly sampleNames: readonly string[];
  protected readonly _table: _SeriesTable<C>;
  /** Set by a subclass whose options had a collect callback. */
  protected _onCollect: (() => void) | undefined;

  protected constructor(
    options: MetricOptions<L>,
    reservedLabels: readonly string[],
    create: (values: readonly string[]) => C,
  ) {
    if (options === null || typeof options !== "object") throw new TypeError("Metric options must be an object");
    _checkMetricName(options.name);
    if (typeof options.help !== "string" || options.help === "") {
      throw new TypeError(`Metric "${options.name}" needs help text`);
    }
    const labelNames = (options.labelNames ?? NO_VALUES) as L;
    if (!Array.isArray(labelNames)) throw new TypeError(`Label names of metric "${options.name}" must be an array`);
    _checkLabelNames(options.name, labelNames, reservedLabels);
    this.name = options.name;
    this.help = options.help;
    this.labelNames = Object.freeze([...labelNames]) as unknown as L;
    this._table = new _SeriesTable(options.name, this.labelNames, options.maxSeries ?? DEFAULT_MAX_SERIES, create);
    if (this.labelNames.length === 0) this._table.get(NO_VALUES); // a label-less metric is exposed from the start
  }

  /**
   * The child for these label values (one per label name, in order), created on first use and
   * cached: keep the returned handle on hot paths.
   *
   * @example
   * ```ts
   * const allowed = connections.labels("explicit", "connect", "allow");
   * allowed.inc();
   * ```
   */
  labels(...values: LabelTuple<L>): C {
    return this._table.get(values);
  }

  /** Removes the child for these label values; true if there was one. */
  remove(...values: LabelTuple<L>): boolean {
    return this._table.delete(values);
  }

  /** Removes every child (a label-less metric goes back to its initial value). */
  reset(): void {
    this._table.clear();
    if (this.labelNames.length === 0) this._table.get(NO_VALUES);
  }

  /** Number of children (label-value combinations) the metric holds. */
  get seriesCount(): number {
    return this._table.size;
  }

  collect(): void {
    this._onCollect?.();
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${_escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    for (const { values, child } of this._table.entries()) this._renderChild(out, values, child);
  }

  /** The child of a label-less metric, or the one named by `labels`. */
  protected _child(labels: Readonly<Record<string, string>> | undefined): C {
    return labels === undefined ? this._table.get(NO_VALUES) : this._table.getByObject(labels);
  }

  protected abstract _renderChild(out: string[], values: readonly string[], child: C): void;
}
