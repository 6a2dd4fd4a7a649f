/**
 * The host index of a compiled policy: finds the smallest rule index whose host condition
 * matches a host and whose other conditions pass a caller-supplied check.
 *
 * Exact names and `.suffix`/`*.suffix` patterns live in hash tables ({@link NameTable});
 * a lookup hashes the host's suffixes in one right-to-left pass and probes the tables at
 * each label boundary, so its cost depends on the host, not on the number of rules. Exact
 * IPs sit in a hash table keyed by their bytes ({@link IpTable}), and CIDR blocks in one hash
 * table per prefix length ({@link CidrTable}), so an IP destination costs one probe per
 * prefix length present, plus one, and is never formatted as text. An
 * IPv6 destination that designates an IPv4 address (NAT64, IPv4-translated, …: see
 * `translatedIPv4`) is looked up as both addresses, the smaller rule winning. `*`
 * (and rules without host conditions) and regex rules are kept in ascending lists and only
 * scanned below the best index found so far.
 * Rules that name host lists ({@link HostList}) are scanned the same way; each list is
 * matched at most once per lookup, however many rules name it.
 * @module
 */

import { designatesIPv4 } from "../core/translated-ipv4.ts";
import { isIPv4Mapped } from "../core/ip.ts";
import { CidrTable } from "./cidr-table.ts";
import type { HostList } from "./host-list.ts";
import type { HostPattern } from "./host-pattern.ts";
import { IpTable } from "./ip-table.ts";
import { hashStep, NameTable, randomSeed } from "./name-table.ts";
import type { Host } from "./types.ts";

/** How the winning rule's host condition matched. */
export type HostMatchKind = "exact" | "subdomains" | "domain" | "any" | "ip" | "cidr" | "regex" | "list";

interface ListEntry {
  readonly rule: number;
  /** Indexes into the index's lists. */
  readonly lists: readonly number[];
}

interface RegexEntry {
  readonly rule: number;
  readonly re: RegExp;
  readonly source: string;
}

function _firstInList(list: readonly number[], limit: number, ok: (rule: number) => boolean): number {
  for (let i = 0; i < list.length; i++) {
    const r = list[i] ?? limit;
    if (r >= limit) return -1;
    if (ok(r)) return r;
  }
  return -1;
}

/**
 * Host index. Rules must be added in ascending rule order. After {@link HostIndex.find}
 * returns a rule, `matchKind` and `matchText` describe how its host matched.
 */
export class HostIndex {
  readonly #seed = randomSeed();
  readonly #exact = new NameTable(this.#seed);
  readonly #subdomains = new NameTable(this.#seed);
  readonly #domain = new NameTable(this.#seed);
  readonly #ip = new IpTable(this.#seed);
  readonly #any: number[] = [];
  readonly #cidrs = new CidrTable(this.#seed);
  readonly #regexes: RegexEntry[] = [];
  readonly #listRules: ListEntry[] = [];
  readonly #lists: HostList[] = [];
  // per lookup: whether list k matched (valid while #listSeen[k] === #lookup; the list keeps what)
  readonly #listSeen: number[] = [];
  readonly #listHit: boolean[] = [];
  #lookup = 0;
  /** How the last successful `find` matched. */
  matchKind: HostMatchKind = "any";
  /**
   * The key (name, suffix, address, CIDR or regex source) that matched; "" for `any`; for
   * `list`, the list's pattern as written in a rule (`.ads.example`).
   */
  matchText = "";
  /** After a `list` match: the list's name. */
  matchList = "";
  // what #findIp matched
  #ipKind: HostMatchKind = "ip";
  #ipText = "";
  readonly #v4 = new Uint8Array(4); // the IPv4 address an IPv6 destination designates

  /** Index a parsed host pattern of `rule`. */
  addPattern(p: HostPattern, rule: number): void {
    switch (p.kind) {
      case "any":
        if (this.#any[this.#any.length - 1] !== rule) this.#any.push(rule);
        return;
      case "exact":
        this.#exact.add(p.name, rule);
        return;
      case "subdomains":
        this.#subdomains.add(p.suffix, rule);
        return;
      case "domain":
        this.#domain.add(p.suffix, rule);
        return;
      case "ip":
        this.#ip.add(p.key, rule);
        return;
      case "cidr":
        this.#cidrs.add(p.cidr, rule);
        return;
    }
  }

  /** Names added since the last call get storage of their own (see {@link NameTable.ownNewKeys}; addresses are formatted text already). */
  ownNewKeys(): void {
    this.#exact.ownNewKeys();
    this.#subdomains.ownNewKeys();
    this.#domain.ownNewKeys();
  }

  /** Index an anchored regex of `rule` (matched against DNS names only). */
  addRegex(re: RegExp, source: string, rule: number): void {
    this.#regexes.push({ rule, re, source });
  }

  /** Index the host lists `rule` names (a list named by several rules is matched once per lookup). */
  addLists(lists: readonly HostList[], rule: number): void {
    const ids = lists.map((list) => {
      const k = this.#lists.indexOf(list);
      if (k >= 0) return k;
      this.#lists.push(list);
      this.#listSeen.push(0);
      this.#listHit.push(false);
      return this.#lists.length - 1;
    });
    if (ids.length > 0) this.#listRules.push({ rule, lists: ids });
  }

  /** Whether list `k` matches this lookup's host (matched once per lookup). */
  #listMatches(k: number, host: Host, ip: Uint8Array | undefined): boolean {
    if (this.#listSeen[k] === this.#lookup) return this.#listHit[k] === true;
    const hit = (this.#lists[k] as HostList).matches(host, ip);
    this.#listSeen[k] = this.#lookup;
    this.#listHit[k] = hit;
    return hit;
  }

  /** Mark `rule` as matching any host (no host conditions). */
  addAny(rule: number): void {
    this.addPattern({ kind: "any" }, rule);
  }

  /** After a `cidr` match: the block, as text (`"10.0.0.0/8"`). */
  get cidrMatchText(): string {
    return this.#cidrs.matchText;
  }

  /**
   * Smallest rule below `limit` whose IP or CIDR pattern holds `ip` and passes `ok`, or -1;
   * on a match `#ipKind` and `#ipText` say how.
   */
  #findIp(ip: Uint8Array, limit: number, ok: (rule: number) => boolean): number {
    let best = -1;
    let bound = limit;
    const ipTable = this.#ip;
    if (ipTable.size > 0) {
      best = ipTable.find(ip, bound, ok);
      if (best >= 0) {
        bound = best;
        this.#ipKind = "ip";
        this.#ipText = ipTable.matchText;
      }
    }
    if (this.#cidrs.size > 0) {
      const r = this.#cidrs.find(ip, bound, ok);
      if (r >= 0) {
        best = r;
        this.#ipKind = "cidr";
        this.#ipText = "";
      }
    }
    return best;
  }

  /**
   * Smallest rule index below `limit` whose host condition matches and for which `ok`
   * holds, or -1. `ip` is the parsed address of an IP host (undefined for names or an
   * unparseable address, which then only matches `*`).
   */
  find(host: Host, ip: Uint8Array | undefined, limit: number, ok: (rule: number) => boolean): number {
    let best = limit;
    let kind: HostMatchKind = "any";
    let text = "";
    let r: number;
    if (host.kind === "dns") {
      // one right-to-left pass hashes every suffix; probe the tables at label boundaries
      const name = host.name;
      const exact = this.#exact.size > 0 ? this.#exact : undefined;
      const sub = this.#subdomains.size > 0 ? this.#subdomains : undefined;
      const dom = this.#domain.size > 0 ? this.#domain : undefined;
      if (exact !== undefined || sub !== undefined || dom !== undefined) {
        let h = this.#seed;
        for (let i = name.length - 1; i >= -1 && best > 0; i--) {
          const c = i >= 0 ? name.charCodeAt(i) : 46;
          if (c === 46) {
            const start = i + 1;
            if (start === 0 && exact !== undefined) {
              const k = exact.indexOfSuffix(name, 0, h);
              if (k >= 0) {
                r = exact.firstPassing(k, best, ok);
                if (r >= 0) {
                  best = r;
                  kind = "exact";
                  text = name;
                }
              }
            }
            if (start > 0 && sub !== undefined) {
              const k = sub.indexOfSuffix(name, start, h);
              if (k >= 0) {
                r = sub.firstPassing(k, best, ok);
                if (r >= 0) {
                  best = r;
                  kind = "subdomains";
                  text = sub.key(k);
                }
              }
            }
            if (dom !== undefined) {
              const k = dom.indexOfSuffix(name, start, h);
              if (k >= 0) {
                r = dom.firstPassing(k, best, ok);
                if (r >= 0) {
                  best = r;
                  kind = "domain";
                  text = dom.key(k);
                }
              }
            }
          }
          h = hashStep(h, c);
        }
      }
      const res = this.#regexes;
      for (let i = 0; i < res.length; i++) {
        const e = res[i];
        if (e === undefined || e.rule >= best) break;
        if (e.re.test(name) && ok(e.rule)) {
          best = e.rule;
          kind = "regex";
          text = e.source;
          break;
        }
      }
    } else if (ip !== undefined) {
      r = this.#findIp(ip, best, ok);
      // an IPv6 form of an IPv4 address (NAT64, translated, …) is that address too
      if (ip.length === 16 && !isIPv4Mapped(ip) && designatesIPv4(ip)) {
        const v4 = this.#v4; // its last 4 bytes, copied: a view would be a new object per lookup
        for (let i = 0; i < 4; i++) v4[i] = ip[12 + i] as number;
        const r4 = this.#findIp(v4, r >= 0 ? r : best, ok);
        if (r4 >= 0) r = r4;
      }
      if (r >= 0) {
        // #ipKind and #ipText are the last match's, which is the winner
        best = r;
        kind = this.#ipKind;
        text = this.#ipText;
      }
    }
    const listRules = this.#listRules;
    if (listRules.length > 0) {
      if (++this.#lookup === 0x7fffffff) {
        this.#lookup = 1;
        this.#listSeen.fill(0);
      }
      let list = -1;
      for (let i = 0; i < listRules.length && list < 0; i++) {
        const e = listRules[i];
        if (e === undefined || e.rule >= best) break;
        for (let j = 0; j < e.lists.length; j++) {
          const k = e.lists[j] as number;
          if (this.#listMatches(k, host, ip)) {
            if (ok(e.rule)) {
              best = e.rule;
              list = k;
            }
            break;
          }
        }
      }
      if (list >= 0) {
        const l = this.#lists[list] as HostList;
        kind = "list";
        text = l.matchText; // set by its match in this lookup
        this.matchList = l.name;
      }
    }
    r = _firstInList(this.#any, best, ok);
    if (r >= 0) {
      best = r;
      kind = "any";
      text = "";
    }
    if (best === limit) return -1;
    this.matchKind = kind;
    this.matchText = text;
    return best;
  }
}
