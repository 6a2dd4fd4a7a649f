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
import { addressWords, PrefixTable } from "./prefix-table.ts";

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
    addressWords(cidr.bytes, words);
    table.add(words, v4 ? 3 : 0, rule, this.#seq++);
  }

  /**
   * Smallest rule below `limit` with a block holding `ip` (4 or 16 bytes) that passes `ok`,
   * or -1. Among that rule's blocks holding `ip`, {@link match} is the first one added.
   */
  find(ip: Uint8Array, limit: number, ok: (rule: number) => boolean): number {
    const words = this.#words;
    const family = addressWords(ip, words);
    if (family === 0) return -1;
    const v4 = family === 4;
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
