/**
 * Host lists: files of host patterns that policy rules name (`policy.hostLists`), such as a
 * threat feed or an ad list with a million names. A list is parsed once into its own
 * {@link HostIndex}, however many rules name it, and matched in one pass over the host's
 * labels (an IP destination: one probe per CIDR prefix length present), so its size does
 * not change the cost of a decision.
 *
 * Three line formats, each with `#` comments and blank lines:
 *
 * | format       | a line                      | means                                        |
 * |--------------|-----------------------------|----------------------------------------------|
 * | `"patterns"` | `evil.example`, `.ads.example`, `*.cdn.example`, `192.0.2.7`, `198.51.100.0/24` | the pattern, as in a rule's `hosts` |
 * | `"domains"`  | `evil.example`              | `.evil.example`: the name and every subdomain (other patterns as written) |
 * | `"hosts"`    | `0.0.0.0 evil.example a.evil.example` | each name exactly (a hosts file: the address is ignored; `localhost` and names without a dot are skipped) |
 *
 * Parsing is sans-IO: {@link HostListBuilder} takes text and stops after a number of lines,
 * so a loader can yield to the event loop between slices. The first malformed line throws,
 * naming its number.
 *
 * @example
 * ```ts
 * const list = parseHostList("ads", "# ads\n.ads.example\ntracker.example\n", "patterns");
 * list.matches(normalizeHost("x.ads.example"), undefined); // true
 * list.matchText; // ".ads.example"
 * ```
 * @module
 */

import { isIp } from "../core/ip.ts";
import { HostIndex } from "./host-index.ts";
import { type HostPattern, parseHostPattern } from "./host-pattern.ts";
import type { Host } from "./types.ts";

/** How a host list file's lines are read (see the module comment). */
export type HostListFormat = "patterns" | "domains" | "hosts";

export const HOST_LIST_FORMATS: readonly HostListFormat[] = ["patterns", "domains", "hosts"];

/** Longest list file accepted, in characters (128 Mi). */
export const MAX_HOST_LIST_CHARS = 128 * 1024 * 1024;
/** Most patterns one list may hold. */
export const MAX_HOST_LIST_ENTRIES = 4_000_000;

const always = (): boolean => true;

/** A parsed host list: matches hosts against its patterns. */
export class HostList {
  readonly name: string;
  readonly format: HostListFormat;
  /** Patterns read (a pattern listed twice counts twice). */
  readonly size: number;
  /** A digest of the text it was parsed from (a reload that reads the same text in the same format reuses the list). */
  readonly digest: string;
  /** When it was parsed (epoch ms). */
  readonly parsedAt: number;
  readonly #index: HostIndex;
  /** After {@link matches} returned true: the pattern that matched, as a rule's `hosts` would write it. */
  matchText = "";

  constructor(name: string, format: HostListFormat, size: number, index: HostIndex, digest: string, parsedAt: number) {
    this.name = name;
    this.parsedAt = parsedAt;
    this.format = format;
    this.size = size;
    this.#index = index;
    this.digest = digest;
  }

  /** True when a pattern of the list matches `host` (`ip`: the parsed address of an IP host). */
  matches(host: Host, ip: Uint8Array | undefined): boolean {
    const index = this.#index;
    if (index.find(host, ip, 1, always) < 0) return false;
    switch (index.matchKind) {
      case "subdomains":
        this.matchText = `*.${index.matchText}`;
        break;
      case "domain":
        this.matchText = `.${index.matchText}`;
        break;
      case "cidr":
        this.matchText = index.cidrMatchText;
        break;
      default:
        this.matchText = index.matchText;
    }
    return true;
  }
}

/**
 * The list `name` of `lists`, for a rule's `hostLists` item.
 *
 * @throws {TypeError} `no host list named "x" (the policy has "a", "b")`
 */
export function hostListNamed(lists: ReadonlyMap<string, HostList>, name: unknown): HostList {
  const list = typeof name === "string" ? lists.get(name) : undefined;
  if (list !== undefined) return list;
  const known = [...lists.keys()].map((n) => JSON.stringify(n)).join(", ");
  throw new TypeError(`no host list named ${JSON.stringify(name) ?? String(name)} (${known === "" ? "the policy has no hostLists" : `the policy has ${known}`})`);
}

/** Matches the empty string: see {@link forgetLastMatch}. */
const EMPTY = /(?:)/;

/**
 * Points the legacy RegExp statics (`RegExp.input`, `RegExp.lastMatch`, …) at the empty
 * string. V8 (Deno) and JavaScriptCore (Bun) both keep the subject of the last successful
 * match there, and a parsed line is a slice of the list's whole text: without this, a text
 * of up to {@link MAX_HOST_LIST_CHARS} characters stays alive after its list is gone, until
 * some other regex happens to match (a hosts-format list matches on every line).
 */
function forgetLastMatch(): void {
  EMPTY.exec("");
}

function isLocalName(name: string): boolean {
  return !name.includes(".") || name === "localhost.localdomain";
}

/**
 * Builds a {@link HostList} from its text, a slice of lines at a time.
 *
 * @example
 * ```ts
 * const b = new HostListBuilder("feed", "domains");
 * let at = 0;
 * while (at >= 0) at = b.add(text, at, 50_000); // e.g. await a pause between slices
 * const list = b.finish(digest);
 * ```
 */
export class HostListBuilder {
  readonly name: string;
  readonly format: HostListFormat;
  readonly #index = new HostIndex();
  #size = 0;
  #line = 0;

  constructor(name: string, format: HostListFormat) {
    this.name = name;
    this.format = format;
  }

  /**
   * Reads up to `maxLines` lines of `text` from offset `from`; returns the offset to go on
   * from, or -1 at the end of the text.
   *
   * @throws {TypeError} `line N: …` for a line that is not in the list's format, or when the list grows past {@link MAX_HOST_LIST_ENTRIES}
   */
  add(text: string, from: number, maxLines = Infinity): number {
    if (text.length > MAX_HOST_LIST_CHARS) throw new TypeError(`longer than ${MAX_HOST_LIST_CHARS} characters`);
    let at = from;
    try {
      for (let n = 0; n < maxLines; n++) {
        if (at >= text.length) return -1;
        let end = text.indexOf("\n", at);
        if (end < 0) end = text.length;
        this.#line++;
        this.#addLine(text.slice(at, end));
        at = end + 1;
      }
    } finally {
      this.#index.ownNewKeys(); // so the list does not keep `text` alive
      forgetLastMatch();
    }
    return at >= text.length ? -1 : at;
  }

  /** The list read so far (`digest` of its text, see {@link HostList.digest}; parsed at `now`). */
  finish(digest = "", now = Date.now()): HostList {
    return new HostList(this.name, this.format, this.#size, this.#index, digest, now);
  }

  #fail(message: string): never {
    throw new TypeError(`line ${this.#line}: ${message}`);
  }

  #pattern(token: string): HostPattern {
    let p: HostPattern;
    try {
      p = parseHostPattern(token);
    } catch (e) {
      this.#fail((e as Error).message);
    }
    if (p.kind === "any") this.#fail(`"*" would match every host (a rule without hosts does that)`);
    return p;
  }

  #put(p: HostPattern): void {
    if (this.#size >= MAX_HOST_LIST_ENTRIES) this.#fail(`more than ${MAX_HOST_LIST_ENTRIES} entries`);
    this.#size++;
    this.#index.addPattern(p, 0);
  }

  #addLine(raw: string): void {
    const hash = raw.indexOf("#");
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line.length === 0) return;
    const tokens = line.split(/\s+/);
    if (this.format === "hosts") {
      // the address is not used; a link-local one may carry a zone id (`fe80::1%lo0 localhost`,
      // in published lists' headers and macOS's /etc/hosts)
      if (tokens.length < 2 || !isIp((tokens[0] as string).replace(/%[^%]+$/, ""))) {
        this.#fail(`expected an address and names ("0.0.0.0 ads.example"), got ${JSON.stringify(line)}`);
      }
      for (let i = 1; i < tokens.length; i++) {
        const token = tokens[i] as string;
        if (isIp(token)) continue;
        const p = this.#pattern(token);
        if (p.kind !== "exact") this.#fail(`expected a host name, got ${JSON.stringify(token)}`);
        if (!isLocalName(p.name)) this.#put(p);
      }
      return;
    }
    if (tokens.length !== 1) this.#fail(`expected one host pattern per line, got ${JSON.stringify(line)}`);
    const p = this.#pattern(tokens[0] as string);
    this.#put(this.format === "domains" && p.kind === "exact" ? { kind: "domain", suffix: p.name } : p);
  }
}

/**
 * Parses a whole list at once (tests, small lists; a loader uses {@link HostListBuilder}).
 *
 * @throws {TypeError} `line N: …` for a malformed line
 */
export function parseHostList(name: string, text: string, format: HostListFormat): HostList {
  const builder = new HostListBuilder(name, format);
  builder.add(text, 0);
  return builder.finish();
}
