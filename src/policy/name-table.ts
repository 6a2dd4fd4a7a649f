/**
 * An open-addressing hash table from strings to ascending rule-index lists, built for the
 * policy index: no object per entry (compiling a million rules creates no garbage beyond
 * the key strings) and lookups by a precomputed hash of a suffix of a longer string, so
 * walking a host's suffixes allocates nothing.
 *
 * Hashes are FNV-1a computed from the END of the string towards its start: the hash of
 * every suffix of a host name falls out of a single right-to-left pass (see
 * {@link hashStep}). The seed is random per table set, so hash collisions cannot be
 * planned from outside.
 * @module
 */

const FNV_PRIME = 0x01000193;

/** A random 32-bit seed for one index. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] ?? 0x811c9dc5;
}

/** Fold one character code into a right-to-left hash. */
export function hashStep(h: number, c: number): number {
  return Math.imul(h ^ c, FNV_PRIME);
}

/** Right-to-left hash of `s` (equal to the walk's hash for the suffix `s`). */
export function hashString(s: string, seed: number): number {
  let h = seed;
  for (let i = s.length - 1; i >= 0; i--) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

function _slot(h: number, mask: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x45d9f3b);
  x ^= x >>> 16;
  return x & mask;
}

/** String-keyed table of ascending rule lists. */
export class NameTable {
  readonly seed: number;
  #slots = new Int32Array(16); // key index + 1, 0 = empty
  #mask = 15;
  #hashes = new Int32Array(8);
  readonly #keys: string[] = [];
  readonly #first: number[] = [];
  readonly #more = new Map<number, number[]>();
  /** Keys below this index were copied by {@link NameTable.ownNewKeys}. */
  #owned = 0;

  constructor(seed: number) {
    this.seed = seed;
  }

  /** Number of distinct keys. */
  get size(): number {
    return this.#keys.length;
  }

  #grow(): void {
    const slots = new Int32Array(this.#slots.length * 2);
    const mask = slots.length - 1;
    const hashes = this.#hashes;
    for (let k = 0; k < this.#keys.length; k++) {
      let s = _slot(hashes[k] ?? 0, mask);
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = k + 1;
    }
    this.#slots = slots;
    this.#mask = mask;
  }

  /** Key index of `key` (whose hash is `h`, see {@link hashString}) or -1. */
  indexOf(key: string, h: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let s = _slot(h, mask); ; s = (s + 1) & mask) {
      const k = (slots[s] ?? 0) - 1;
      if (k < 0) return -1;
      if (this.#hashes[k] === h && this.#keys[k] === key) return k;
    }
  }

  /**
   * Key index of the suffix of `name` starting at `start`, given its hash `h`, or -1.
   * Allocation-free.
   */
  indexOfSuffix(name: string, start: number, h: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    const len = name.length - start;
    for (let s = _slot(h, mask); ; s = (s + 1) & mask) {
      const k = (slots[s] ?? 0) - 1;
      if (k < 0) return -1;
      if (this.#hashes[k] === h) {
        const key = this.#keys[k] as string;
        if (key.length === len && name.endsWith(key)) return k;
      }
    }
  }

  /**
   * Add `rule` under `key`; rules must come in ascending order (a repeat of the last rule
   * is ignored). Returns the key index.
   */
  add(key: string, rule: number): number {
    const h = hashString(key, this.seed);
    const existing = this.indexOf(key, h);
    if (existing >= 0) {
      const first = this.#first[existing] ?? -1;
      const more = this.#more.get(existing);
      const last = more === undefined ? first : (more[more.length - 1] ?? first);
      if (last !== rule) {
        if (more === undefined) this.#more.set(existing, [rule]);
        else more.push(rule);
      }
      return existing;
    }
    const k = this.#keys.length;
    if ((k + 1) * 2 > this.#slots.length) this.#grow();
    if (k >= this.#hashes.length) {
      const hashes = new Int32Array(this.#hashes.length * 2);
      hashes.set(this.#hashes);
      this.#hashes = hashes;
    }
    this.#hashes[k] = h;
    this.#keys.push(key);
    this.#first.push(rule);
    const mask = this.#mask;
    let s = _slot(h, mask);
    while (this.#slots[s] !== 0) s = (s + 1) & mask;
    this.#slots[s] = k + 1;
    return k;
  }

  /**
   * Gives the keys added since the last call storage of their own. A key read from a host
   * list is a slice of the file's whole text, and both engines keep a slice as a view of its
   * parent (V8 from 13 characters, JavaScriptCore too): a table of such keys would keep the
   * whole text alive as long as the policy. A JSON round trip is the copy measured to come
   * out flat on both, and the smallest: `toLowerCase()` and `(" " + key).slice(1)` still
   * share on Bun, and a join and split of many keys leaves each a view of the joined text.
   */
  ownNewKeys(): void {
    const keys = this.#keys;
    for (let i = this.#owned; i < keys.length; i++) keys[i] = JSON.parse(JSON.stringify(keys[i])) as string;
    this.#owned = keys.length;
  }

  /** The smallest rule stored under key index `k`. */
  firstRule(k: number): number {
    return this.#first[k] ?? -1;
  }

  /** The key text of key index `k`. */
  key(k: number): string {
    return this.#keys[k] ?? "";
  }

  /** Smallest rule under key index `k` that is below `limit` and passes `ok`, or -1. */
  firstPassing(k: number, limit: number, ok: (rule: number) => boolean): number {
    const first = this.#first[k] ?? limit;
    if (first >= limit) return -1;
    if (ok(first)) return first;
    const more = this.#more.get(k);
    if (more === undefined) return -1;
    for (let i = 0; i < more.length; i++) {
      const r = more[i] ?? limit;
      if (r >= limit) return -1;
      if (ok(r)) return r;
    }
    return -1;
  }
}
