/**
 * CIDR blocks indexed by prefix length, for the host index: one open-addressing hash table
 * per (family, prefix length) present, keyed by the masked network, each key holding an
 * ascending list of rule indexes. A lookup masks the address once per table and probes it,
 * so it costs one probe per prefix length present (at most 33 IPv4 and 129 IPv6 tables, a
 * handful in practice), however many blocks there are.
 *
 * Containment is {@link cidrContains}'s: an IPv4 address and its IPv4-mapped form are the
 * same address; an IPv4 block holds only those, an IPv6 block holds an IPv4 address when it
 * holds its mapped form (`::/0` holds every address).
 *
 * Entries are typed-array rows, not objects: a million blocks hold no `Cidr` (a matched one
 * is rebuilt for its reason).
 *
 * @example
 * ```ts
 * const t = new CidrTable(seed);
 * t.add(parseCidr("10.0.0.0/8"), 0);
 * t.add(parseCidr("10.1.0.0/16"), 1);
 * t.find(parseIp("10.1.2.3")!, Infinity, () => true); // 0
 * t.matchText;                                         // "10.0.0.0/8"
 * ```
 * @module
 */

import { type Cidr, formatCidr } from "../core/ip.ts";

function _u32(b: Uint8Array, o: number): number {
  return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) | 0;
}

/** The mask of word `w` (32 bits each) of a `prefix`-bit network. */
function _mask(prefix: number, w: number): number {
  const bits = Math.min(Math.max(prefix - 32 * w, 0), 32);
  return bits === 0 ? 0 : bits === 32 ? -1 : -1 << (32 - bits);
}

function _mix(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  return x ^ (x >>> 16);
}

/** The blocks of one family and prefix length: masked networks (1 or 4 words) to rule lists. */
class PrefixTable {
  readonly family: 4 | 6;
  readonly prefix: number;
  readonly #width: number;
  readonly #masks: Int32Array;
  readonly #seed: number;
  #slots = new Int32Array(16); // key index + 1, 0 = empty
  #keys: Int32Array;
  #rules = new Int32Array(8); // smallest rule per key
  #seqs = new Int32Array(8); // when that rule's block was added
  readonly #more = new Map<number, number[]>(); // further [rule, seq] pairs, ascending
  size = 0;
  /** The smallest rule of the table (rules come in ascending order). */
  minRule = -1;

  constructor(family: 4 | 6, prefix: number, seed: number) {
    this.family = family;
    this.prefix = prefix;
    this.#width = family === 4 ? 1 : 4;
    this.#masks = Int32Array.from({ length: this.#width }, (_, w) => _mask(prefix, w));
    this.#keys = new Int32Array(8 * this.#width);
    this.#seed = seed;
  }

  /** Hash of `words[at..]` masked to the prefix. */
  #hash(words: Int32Array, at: number): number {
    let h = this.#seed ^ this.prefix;
    for (let w = 0; w < this.#width; w++) h = _mix(h ^ ((words[at + w] ?? 0) & (this.#masks[w] ?? 0)));
    return h;
  }

  /** Key index of the network holding `words[at..]` (an address), or -1. */
  indexOf(words: Int32Array, at: number, h = this.#hash(words, at)): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    const width = this.#width;
    const keys = this.#keys;
    const masks = this.#masks;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const k = (slots[s] ?? 0) - 1;
      if (k < 0) return -1;
      let w = 0;
      while (w < width && keys[k * width + w] === ((words[at + w] ?? 0) & (masks[w] ?? 0))) w++;
      if (w === width) return k;
    }
  }

  #grow(): void {
    const slots = new Int32Array(this.#slots.length * 2);
    const mask = slots.length - 1;
    for (let k = 0; k < this.size; k++) {
      let s = this.#hash(this.#keys, k * this.#width) & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = k + 1;
    }
    this.#slots = slots;
  }

  /** Add the network of `words[at..]` for `rule` (ascending; a repeat of the last rule is ignored). */
  add(words: Int32Array, at: number, rule: number, seq: number): void {
    if (this.minRule < 0) this.minRule = rule;
    const h = this.#hash(words, at);
    const k = this.indexOf(words, at, h);
    if (k >= 0) {
      const more = this.#more.get(k);
      const last = more === undefined ? this.#rules[k] : more[more.length - 2];
      if (last === rule) return;
      if (more === undefined) this.#more.set(k, [rule, seq]);
      else more.push(rule, seq);
      return;
    }
    const n = this.size;
    if ((n + 1) * 2 > this.#slots.length) this.#grow();
    if (n >= this.#rules.length) {
      const grow = (a: Int32Array, len: number) => {
        const b = new Int32Array(len);
        b.set(a);
        return b;
      };
      this.#rules = grow(this.#rules, n * 2);
      this.#seqs = grow(this.#seqs, n * 2);
      this.#keys = grow(this.#keys, n * 2 * this.#width);
    }
    for (let w = 0; w < this.#width; w++) this.#keys[n * this.#width + w] = (words[at + w] ?? 0) & (this.#masks[w] ?? 0);
    this.#rules[n] = rule;
    this.#seqs[n] = seq;
    this.size = n + 1;
    const mask = this.#slots.length - 1;
    let s = h & mask;
    while (this.#slots[s] !== 0) s = (s + 1) & mask;
    this.#slots[s] = n + 1;
  }

  /** Smallest rule under key `k` below `limit` that passes `ok`, or -1. */
  firstPassing(k: number, limit: number, ok: (rule: number) => boolean): number {
    const first = this.#rules[k] ?? limit;
    if (first >= limit) return -1;
    if (ok(first)) return first;
    const more = this.#more.get(k);
    if (more === undefined) return -1;
    for (let i = 0; i < more.length; i += 2) {
      const r = more[i] ?? limit;
      if (r >= limit) return -1;
      if (ok(r)) return r;
    }
    return -1;
  }

  /** When `rule`'s block under key `k` was added. */
  seqOf(k: number, rule: number): number {
    if (this.#rules[k] === rule) return this.#seqs[k] ?? 0;
    const more = this.#more.get(k) ?? [];
    for (let i = 0; i < more.length; i += 2) if (more[i] === rule) return more[i + 1] ?? 0;
    return 0;
  }

  /** The block of key `k`, its network written into `bytes` (4 or 16 long, for the family). */
  cidr(k: number, bytes: Uint8Array): Cidr {
    for (let i = 0; i < bytes.length; i++) bytes[i] = ((this.#keys[k * this.#width + (i >> 2)] ?? 0) >>> (24 - 8 * (i & 3))) & 0xff;
    return { family: this.family, bytes, prefix: this.prefix };
  }
}

/** CIDR blocks of rules, by prefix length (see the module comment). */
export class CidrTable {
  readonly #seed: number;
  readonly #byPrefix: (PrefixTable | undefined)[] = []; // IPv4 /p at p, IPv6 /p at 33 + p
  readonly #v4: PrefixTable[] = [];
  readonly #v6: PrefixTable[] = [];
  #seq = 0;
  readonly #words = new Int32Array(4);
  readonly #bytes4 = new Uint8Array(4);
  readonly #bytes16 = new Uint8Array(16);
  #hit: PrefixTable | undefined;
  #hitKey = -1;

  constructor(seed: number) {
    this.#seed = seed;
  }

  /** Number of blocks added (a block repeated for a rule counts once per add). */
  get size(): number {
    return this.#seq;
  }

  /** Add `cidr` for `rule`; rules must come in ascending order. */
  add(cidr: Cidr, rule: number): void {
    const v4 = cidr.family === 4;
    const slot = v4 ? cidr.prefix : 33 + cidr.prefix;
    let table = this.#byPrefix[slot];
    if (table === undefined) {
      table = new PrefixTable(cidr.family, cidr.prefix, this.#seed);
      this.#byPrefix[slot] = table;
      // in the order made, which is by ascending smallest rule: the early ones bound the rest
      (v4 ? this.#v4 : this.#v6).push(table);
    }
    const words = this.#words;
    for (let w = 0; w < cidr.bytes.length / 4; w++) words[w] = _u32(cidr.bytes, w * 4);
    table.add(words, 0, rule, this.#seq++);
  }

  /**
   * Smallest rule below `limit` with a block holding `ip` (4 or 16 bytes) that passes `ok`,
   * or -1. Among that rule's blocks holding `ip`, {@link match} is the first one added.
   */
  find(ip: Uint8Array, limit: number, ok: (rule: number) => boolean): number {
    const words = this.#words;
    let v4: boolean;
    if (ip.length === 4) {
      words[0] = 0;
      words[1] = 0;
      words[2] = 0xffff;
      words[3] = _u32(ip, 0);
      v4 = true;
    } else if (ip.length === 16) {
      for (let w = 0; w < 4; w++) words[w] = _u32(ip, w * 4);
      v4 = words[0] === 0 && words[1] === 0 && words[2] === 0xffff;
    } else {
      return -1;
    }
    let found = -1;
    let seq = 0;
    for (let pass = v4 ? 0 : 1; pass < 2; pass++) {
      const tables = pass === 0 ? this.#v4 : this.#v6;
      const at = pass === 0 ? 3 : 0;
      for (let t = 0; t < tables.length; t++) {
        const table = tables[t] as PrefixTable;
        // below the best so far; the best itself too, for the first-added block among its own
        const bound = found < 0 ? limit : found + 1;
        if (table.minRule >= bound) continue;
        const k = table.indexOf(words, at);
        if (k < 0) continue;
        const r = table.firstPassing(k, bound, ok);
        if (r < 0) continue;
        const s = table.seqOf(k, r);
        if (found < 0 || r < found || s < seq) {
          found = r;
          seq = s;
          this.#hit = table;
          this.#hitKey = k;
        }
      }
    }
    return found;
  }

  /** The block of the last successful {@link find} (rebuilt on each call). */
  get match(): Cidr | undefined {
    const hit = this.#hit;
    return hit?.cidr(this.#hitKey, new Uint8Array(hit.family === 4 ? 4 : 16));
  }

  /**
   * {@link match} as text (`"10.0.0.0/8"`), or "". Allocates no typed array: on Deno a new
   * `Uint8Array` costs as much as the lookup itself.
   */
  get matchText(): string {
    const hit = this.#hit;
    return hit === undefined ? "" : formatCidr(hit.cidr(this.#hitKey, hit.family === 4 ? this.#bytes4 : this.#bytes16));
  }
}
