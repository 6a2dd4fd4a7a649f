/**
 * Hash tables keyed by IP networks of one family and prefix length, for the policy index's
 * CIDR blocks ({@link CidrTable}) and exact addresses (a /32 or /128, {@link IpTable}): the
 * key is the masked network as 32-bit words, so a lookup hashes and compares numbers and
 * allocates nothing, and an entry is a typed-array row, not an object.
 *
 * Addresses come as words from {@link addressWords}: an IPv4 address and its IPv4-mapped
 * form give the same words, an IPv4 network is read from word 3.
 * @module
 */

import type { Cidr } from "../core/ip.ts";

/** Family of an address {@link addressWords} loaded: 4 (IPv4 or IPv4-mapped), 6, or 0 (neither). */
export type WordsFamily = 0 | 4 | 6;

/**
 * Write the 16-byte (IPv4-mapped for IPv4) form of `ip` (4 or 16 bytes) into `words` as four
 * big-endian 32-bit words; the IPv4 address is then `words[3]`. Allocation-free.
 *
 * @returns 4 for an IPv4 or IPv4-mapped address, 6 for other IPv6, 0 (words untouched) for
 * another length
 */
export function addressWords(ip: Uint8Array, words: Int32Array): WordsFamily {
  if (ip.length === 4) {
    words[0] = 0;
    words[1] = 0;
    words[2] = 0xffff;
    words[3] = _u32(ip, 0);
    return 4;
  }
  if (ip.length !== 16) return 0;
  for (let w = 0; w < 4; w++) words[w] = _u32(ip, w * 4);
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff ? 4 : 6;
}

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

/**
 * The networks of one family and prefix length: masked networks (1 word for IPv4, 4 for
 * IPv6) to ascending rule lists. Rules must be added in ascending order.
 */
export class PrefixTable {
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

  /**
   * Add the network of `words[at..]` for `rule` (ascending; a repeat of the last rule is
   * ignored); `seq` says when (see {@link seqOf}). Returns the network's key index, which is
   * {@link size} - 1 for a network not there before.
   */
  add(words: Int32Array, at: number, rule: number, seq: number): number {
    if (this.minRule < 0) this.minRule = rule;
    const h = this.#hash(words, at);
    const k = this.indexOf(words, at, h);
    if (k >= 0) {
      const more = this.#more.get(k);
      const last = more === undefined ? this.#rules[k] : more[more.length - 2];
      if (last === rule) return k;
      if (more === undefined) this.#more.set(k, [rule, seq]);
      else more.push(rule, seq);
      return k;
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
    return n;
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
