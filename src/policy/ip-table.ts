/**
 * Exact IP addresses of rules, for the host index, keyed by the address's bytes: one hash
 * table of IPv4 addresses (a word each) and one of IPv6 addresses (four words), each key
 * holding an ascending list of rule indexes. A lookup reads the parsed address into words,
 * hashes and probes one table: it formats no text and allocates nothing (on Deno a new
 * typed array costs as much as the lookup; RFC 5952 text cost more than the rest of it).
 *
 * Addresses are equal as `ipKey` (host-pattern.ts) says: an IPv4 address and its IPv4-mapped IPv6 form
 * are one key, everything else is compared by all its bytes. Forms that only designate an
 * IPv4 address (NAT64, …) are the caller's to look up again (see `translatedIPv4`).
 *
 * @example
 * ```ts
 * const t = new IpTable(seed);
 * t.add("10.1.2.3", 0);
 * t.add("2001:db8::1", 1);
 * t.find(parseIp("::ffff:10.1.2.3")!, Infinity, () => true); // 0
 * t.find(parseIp("2001:DB8:0::1")!, Infinity, () => true);   // 1
 * t.matchText;                                               // "2001:db8::1"
 * ```
 * @module
 */

import { IpScratch } from "../core/ip.ts";
import { addressWords, PrefixTable } from "./prefix-table.ts";

/** Exact addresses of rules (see the module comment). */
export class IpTable {
  readonly #v4: PrefixTable;
  readonly #v6: PrefixTable;
  // the key text of each address, by its key index in its table
  readonly #texts4: string[] = [];
  readonly #texts6: string[] = [];
  readonly #words = new Int32Array(4);
  readonly #scratch = new IpScratch();
  /** After a successful {@link find}: the matched address's key text. */
  matchText = "";

  constructor(seed: number) {
    this.#v4 = new PrefixTable(4, 32, seed);
    this.#v6 = new PrefixTable(6, 128, seed);
  }

  /** Number of distinct addresses. */
  get size(): number {
    return this.#v4.size + this.#v6.size;
  }

  /**
   * Add the address `key` for `rule`; rules must come in ascending order (a repeat of the
   * last rule is ignored). `key` is the address's canonical text (`ipKey`), which
   * {@link matchText} gives back.
   *
   * @throws {SyntaxError} when `key` is not an IP address
   */
  add(key: string, rule: number): void {
    const bytes = this.#scratch.parse(key);
    const words = this.#words;
    const family = bytes === undefined ? 0 : addressWords(bytes, words);
    if (family === 0) throw new SyntaxError(`Invalid IP address "${key}"`);
    const table = family === 4 ? this.#v4 : this.#v6;
    const texts = family === 4 ? this.#texts4 : this.#texts6;
    const k = table.add(words, family === 4 ? 3 : 0, rule, 0);
    if (k === texts.length) texts.push(key);
  }

  /**
   * Smallest rule below `limit` stored under the address `ip` (4 or 16 bytes) that passes
   * `ok`, or -1; on a match {@link matchText} is its key. Allocation-free.
   */
  find(ip: Uint8Array, limit: number, ok: (rule: number) => boolean): number {
    const words = this.#words;
    const family = addressWords(ip, words);
    if (family === 0) return -1;
    const table = family === 4 ? this.#v4 : this.#v6;
    if (table.size === 0 || table.minRule >= limit) return -1;
    const k = table.indexOf(words, family === 4 ? 3 : 0);
    if (k < 0) return -1;
    const r = table.firstPassing(k, limit, ok);
    if (r >= 0) this.matchText = (family === 4 ? this.#texts4 : this.#texts6)[k] ?? "";
    return r;
  }
}
