/** One header field line: name (original case) and value (OWS trimmed). */
export type HeaderEntry = readonly [name: string, value: string];

/**
 * An immutable, ordered list of header fields that keeps the original name case and
 * order (needed to forward messages faithfully). Lookups are case-insensitive. Methods
 * that "change" the list return a new one.
 *
 * @example
 * ```ts
 * const h = new HeaderList([["Host", "example.com"], ["Accept", "a"], ["accept", "b"]]);
 * h.get("HOST");       // "example.com"
 * h.getAll("accept");  // ["a", "b"]
 * h.get("accept");     // "a, b"
 * ```
 */
export class HeaderList implements Iterable<HeaderEntry> {
  readonly #entries: readonly HeaderEntry[];

  constructor(entries: Iterable<readonly [string, string]> = []) {
    this.#entries = Object.freeze(Array.from(entries, ([n, v]): HeaderEntry => Object.freeze([n, v] as const)));
  }

  /** All field lines in order. */
  get entries(): readonly HeaderEntry[] {
    return this.#entries;
  }

  /** Number of field lines. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * The field's value, with several field lines combined by ", " (RFC 9110 §5.3), or
   * `undefined` when absent. Do not use for Set-Cookie; use `getAll`.
   */
  get(name: string): string | undefined {
    const all = this.getAll(name);
    return all.length === 0 ? undefined : all.join(", ");
  }

  /** The values of every field line with this name, in order. */
  getAll(name: string): string[] {
    const key = name.toLowerCase();
    const out: string[] = [];
    for (const [n, v] of this.#entries) if (n.toLowerCase() === key) out.push(v);
    return out;
  }

  /** True when at least one field line has this name. */
  has(name: string): boolean {
    const key = name.toLowerCase();
    return this.#entries.some(([n]) => n.toLowerCase() === key);
  }

  /** A new list with one field line added at the end. */
  append(name: string, value: string): HeaderList {
    return new HeaderList([...this.#entries, [name, value]]);
  }

  /**
   * A new list where `name` has exactly one line with `value`: it takes the place of the
   * first existing line with that name, or goes at the end.
   */
  set(name: string, value: string): HeaderList {
    const key = name.toLowerCase();
    const out: HeaderEntry[] = [];
    let placed = false;
    for (const entry of this.#entries) {
      if (entry[0].toLowerCase() !== key) out.push(entry);
      else if (!placed) {
        out.push([name, value]);
        placed = true;
      }
    }
    if (!placed) out.push([name, value]);
    return new HeaderList(out);
  }

  /** A new list without any line whose name is one of `names` (case-insensitive). */
  delete(...names: string[]): HeaderList {
    const keys = new Set(names.map((n) => n.toLowerCase()));
    return this.filter(([n]) => !keys.has(n.toLowerCase()));
  }

  /** A new list with the lines for which `keep` returns true. */
  filter(keep: (entry: HeaderEntry) => boolean): HeaderList {
    return new HeaderList(this.#entries.filter(keep));
  }

  [Symbol.iterator](): Iterator<HeaderEntry> {
    return this.#entries[Symbol.iterator]();
  }
}
