/**
 * The children (one per label-values combination) of a metric, kept in a tree keyed by one
 * label value per level, so a lookup walks a few maps and builds no key string.
 *
 * @module
 */

interface Node<C> {
  next: Map<string, Node<C>> | undefined;
  child: C | undefined;
  values: readonly string[] | undefined;
}

/** Label values, one per declared label name, in declaration order. */
export type LabelTuple<L extends readonly string[]> = { readonly [K in keyof L]: string };

/** Label values by label name. */
export type LabelObject<L extends readonly string[]> = { readonly [K in L[number]]: string };

/** Default most children of one metric. */
export const DEFAULT_MAX_SERIES = 10_000;

/** Children of one metric, created on first use and cached. */
export class _SeriesTable<C> {
  readonly #metric: string;
  readonly #names: readonly string[];
  readonly #max: number;
  readonly #create: (values: readonly string[]) => C;
  #root: Node<C> = { next: undefined, child: undefined, values: undefined };
  #size = 0;

  constructor(metric: string, names: readonly string[], maxSeries: number, create: (values: readonly string[]) => C) {
    if (!Number.isSafeInteger(maxSeries) || maxSeries < 1) {
      throw new RangeError(`Invalid maxSeries ${JSON.stringify(maxSeries)} for metric "${metric}"`);
    }
    this.#metric = metric;
    this.#names = names;
    this.#max = maxSeries;
    this.#create = create;
  }

  /** Number of children. */
  get size(): number {
    return this.#size;
  }

  /** The child for `values` (one string per label name), created on first use. */
  get(values: readonly string[]): C {
    const names = this.#names;
    if (values.length !== names.length) {
      throw new TypeError(`Metric "${this.#metric}" takes ${names.length} label values, got ${values.length}`);
    }
    let node: Node<C> | undefined = this.#root;
    for (let i = 0; i < names.length && node; i++) node = this.#step(node, values[i], i);
    return node?.child ?? this.#insert(values);
  }

  /** The child for `values`, if it exists (never creates one). */
  find(values: readonly string[]): C | undefined {
    if (values.length !== this.#names.length) {
      throw new TypeError(`Metric "${this.#metric}" takes ${this.#names.length} label values, got ${values.length}`);
    }
    let node: Node<C> | undefined = this.#root;
    for (let i = 0; i < values.length && node; i++) node = this.#step(node, values[i], i);
    return node?.child;
  }

  /** The child for label values given by name; every declared name and no other. */
  getByObject(labels: Readonly<Record<string, string>>): C {
    if (labels === null || typeof labels !== "object") {
      throw new TypeError(`Metric "${this.#metric}" takes labels as an object`);
    }
    const names = this.#names;
    let keys = 0;
    for (const _ in labels) keys++;
    if (keys !== names.length) {
      throw new TypeError(`Metric "${this.#metric}" takes labels ${JSON.stringify(names)}, got ${JSON.stringify(Object.keys(labels))}`);
    }
    let node: Node<C> | undefined = this.#root;
    for (let i = 0; i < names.length && node; i++) node = this.#step(node, labels[names[i]!], i);
    return node?.child ?? this.#insert(names.map((n) => labels[n]!));
  }

  /** Removes the child for `values`; true if there was one. */
  delete(values: readonly string[]): boolean {
    if (values.length !== this.#names.length) return false;
    const path: Node<C>[] = [this.#root];
    let node = this.#root;
    for (let i = 0; i < values.length; i++) {
      const next = node.next?.get(values[i]!);
      if (!next) return false;
      path.push(next);
      node = next;
    }
    if (node.child === undefined) return false;
    node.child = undefined;
    node.values = undefined;
    this.#size--;
    // prune empty branches
    for (let i = values.length; i > 0; i--) {
      const n = path[i]!;
      if (n.child !== undefined || (n.next !== undefined && n.next.size > 0)) break;
      path[i - 1]!.next?.delete(values[i - 1]!);
    }
    return true;
  }

  /** Removes every child. */
  clear(): void {
    this.#root = { next: undefined, child: undefined, values: undefined };
    this.#size = 0;
  }

  /** Every child with its label values, sorted by label values (first label first). */
  entries(): Array<{ readonly values: readonly string[]; readonly child: C }> {
    const out: Array<{ readonly values: readonly string[]; readonly child: C }> = [];
    const walk = (node: Node<C>): void => {
      if (node.child !== undefined && node.values !== undefined) out.push({ values: node.values, child: node.child });
      if (!node.next) return;
      const keys = [...node.next.keys()].sort(compareStrings);
      for (const k of keys) walk(node.next.get(k)!);
    };
    walk(this.#root);
    return out;
  }

  /** The node one level down for `value`, if it exists; throws unless `value` is a string. */
  #step(node: Node<C>, value: string | undefined, i: number): Node<C> | undefined {
    this.#check(value, i);
    return node.next?.get(value as string);
  }

  #check(value: unknown, i: number): void {
    if (typeof value !== "string") {
      throw new TypeError(`Label "${this.#names[i]}" of metric "${this.#metric}" needs a string value, got ${typeof value}`);
    }
  }

  /** Creates the child for `values`, within the limit. */
  #insert(values: readonly string[]): C {
    if (this.#size >= this.#max) {
      throw new RangeError(`Metric "${this.#metric}" has reached its limit of ${this.#max} label combinations`);
    }
    values.forEach((value, i) => this.#check(value, i)); // before any insertion
    let node = this.#root;
    for (const value of values) {
      let next = node.next?.get(value);
      if (!next) {
        next = { next: undefined, child: undefined, values: undefined };
        (node.next ??= new Map()).set(value, next);
      }
      node = next;
    }
    const frozen = Object.freeze([...values]);
    const child = this.#create(frozen);
    node.child = child;
    node.values = frozen;
    this.#size++;
    return child;
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
