/** One header field line: name (original case) and value (OWS trimmed). */
export type HeaderEntry = readonly [name: string, value: string];

/**
 * Passed by this module's own methods: the entries are a new array, of entries taken from a
 * list or new, which the new list adopts instead of copying each one again. Every request's
 * head goes through several derived lists (hop-by-hop fields removed, `Via` added, framing
 * fields set), so this matters per request.
 */
const ADOPT: unique symbol = Symbol("adopt");

function entry(name: string, value: string): HeaderEntry {
  return [name, value];
}

/**
 * A list of `entries` as they are, without copying each one: for a parser that made the
 * array and keeps no reference to it. `lowerNames`, when given, are the entries' names
 * lowercased, index for index (made cheaper from a whole head than one by one).
 */
export function adoptHeaderEntries(entries: HeaderEntry[], lowerNames?: string[]): HeaderList {
  return new HeaderList(entries, ADOPT, lowerNames);
}

/**
 * An immutable, ordered list of header fields that keeps the original name case and
 * order (needed to forward messages faithfully). Lookups are case-insensitive. Methods
 * that "change" the list return a new one. Immutable by its types (`readonly` all the
 * way down), not by `Object.freeze`: freezing each list and entry cost about 8% of the
 * gateway's CPU per request on a keep-alive decrypted connection (Bun), for a guarantee
 * the compiler already gives.
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
  /** The names lowercased, made on the first lookup (most lists are looked up several times). */
  #lower: string[] | undefined;

  constructor(entries: Iterable<readonly [string, string]> = [], adopt?: typeof ADOPT, lowerNames?: string[]) {
    this.#entries = adopt === ADOPT ? (entries as HeaderEntry[]) : Array.from(entries, ([n, v]) => entry(n, v));
    if (adopt === ADOPT) this.#lower = lowerNames;
  }

  #lowerNames(): string[] {
    this.#lower ??= this.#entries.map(([n]) => n.toLowerCase());
    return this.#lower;
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
    const lower = this.#lowerNames();
    const out: string[] = [];
    for (let i = 0; i < lower.length; i++) if (lower[i] === key) out.push(this.#entries[i]![1]);
    return out;
  }

  /** True when at least one field line has this name. */
  has(name: string): boolean {
    return this.#lowerNames().includes(name.toLowerCase());
  }

  /** A new list with one field line added at the end. */
  append(name: string, value: string): HeaderList {
    return new HeaderList([...this.#entries, entry(name, value)], ADOPT);
  }

  /**
   * A new list where `name` has exactly one line with `value`: it takes the place of the
   * first existing line with that name, or goes at the end.
   */
  set(name: string, value: string): HeaderList {
    const key = name.toLowerCase();
    const lower = this.#lowerNames();
    const out: HeaderEntry[] = [];
    let placed = false;
    for (let i = 0; i < lower.length; i++) {
      if (lower[i] !== key) out.push(this.#entries[i]!);
      else if (!placed) {
        out.push(entry(name, value));
        placed = true;
      }
    }
    if (!placed) out.push(entry(name, value));
    return new HeaderList(out, ADOPT);
  }

  /** A new list without any line whose name is one of `names` (case-insensitive). */
  delete(...names: string[]): HeaderList {
    const keys = new Set(names.map((n) => n.toLowerCase()));
    return this.filter(([n]) => !keys.has(n.toLowerCase()));
  }

  /** A new list with the lines for which `keep` returns true. */
  filter(keep: (entry: HeaderEntry) => boolean): HeaderList {
    return new HeaderList(this.#entries.filter(keep), ADOPT);
  }

  [Symbol.iterator](): Iterator<HeaderEntry> {
    return this.#entries[Symbol.iterator]();
  }
}
