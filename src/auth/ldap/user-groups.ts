/**
 * A directory user's groups, read right after their bind on the same connection, as them,
 * from the authenticated account's entry, whatever name was typed: a bind name that is a DN
 * names that entry; otherwise (Active Directory's `alice@corp.example`) "Who am I?" (RFC 4532)
 * says whom the directory signed in. One search then reads the entry's `memberOf`; with
 * `nested`, one more per level of groups in groups (that level's groups read at once).
 * @module
 */
import { MAX_GROUP_NAME } from "../../policy/scope.ts";
import type { LdapAnswers } from "./answers.ts";
import { dnWithin, parseDn, type Rdn, tryParseDn } from "./dn.ts";
import { resultText } from "./ldap-message.ts";
import { type EntrySearch, readSearchAnswer, searchRequest } from "./search-message.ts";
import { readWhoAmI, whoAmIRequest } from "./whoami-message.ts";

/** Where a user's groups are read (see `proxyAuth.ldap.groups`). */
export interface GroupSettings {
  /**
   * For a directory that names the user `u:DOMAIN\name` (Active Directory), not by a DN: the
   * entry below this DN whose `userAttribute` is `name` is read.
   */
  readonly searchBase?: string;
  readonly userAttribute: string;
  /**
   * The domain whose accounts `searchBase` holds (`CORP`): an identity of another domain (a
   * child domain, a trusted one) is refused rather than read as this one's same-named account.
   */
  readonly domain?: string;
  /** The entry's attribute listing the DNs of its groups. */
  readonly memberAttribute: string;
  /** Only groups below this DN count; absent = all. */
  readonly within?: string;
  /**
   * A user the directory shows in no group (below `within`) cannot sign in: missing
   * memberships then refuse, where a rule denying a group would let them through.
   */
  readonly required?: boolean;
  /**
   * Groups of groups count too: each group's own `memberAttribute` is read (wherever it is;
   * `within` then picks the names), level by level, until no new group turns up.
   */
  readonly nested?: boolean;
}

/** The most groups one sign-in follows through nesting; past it the directory "cannot tell" (fail closed). */
export const MAX_NESTED_GROUPS = 1000;
/** Group entries asked for at once. */
const BATCH = 32;

/** One request on the connection: its bytes go out under the next message ID. */
export type Ask = (request: (messageId: number) => Uint8Array) => Promise<number>;

/** Reads users' groups as `settings` say. */
export class UserGroups {
  readonly #settings: GroupSettings;
  readonly #within: readonly Rdn[] | undefined;
  readonly #timeLimitSeconds: number;

  /** @throws {Error} when `within` is not a DN */
  constructor(settings: GroupSettings, timeoutMs: number) {
    this.#settings = settings;
    this.#within = settings.within === undefined ? undefined : parseDn(settings.within);
    this.#timeLimitSeconds = Math.ceil(timeoutMs / 1000);
  }

  /**
   * The groups of the user just bound on the connection as `boundAs`: lower case, sorted,
   * once each.
   * @throws {Error} when the directory cannot tell: no identity, no entry or more than one,
   * a list in parts, a DN that does not parse
   */
  async read(ask: Ask, answers: LdapAnswers, boundAs: string): Promise<string[]> {
    // a simple bind with a DN authenticated exactly that entry
    const search = tryParseDn(boundAs) === undefined ? await this.#whoAmI(ask, answers) : this.#entrySearch(boundAs);
    const searchId = await ask((id) => searchRequest(id, search));
    const entry = await entryOf(answers, searchId);
    if (entry === undefined) throw new Error("no entry matched (or the user may not read it)");
    return this.#groupsOf(ask, answers, entry);
  }

  /**
   * The groups of the one entry below `base` whose `attribute` equals `value`, on a
   * connection bound as an account that may read it (the gateway's own): lower case, sorted,
   * once each; undefined when no entry matches (or the account may not see it).
   * @throws {Error} when the directory cannot tell: more than one entry, a list in parts, a
   * group that cannot be read (with `nested`)
   */
  async readFound(ask: Ask, answers: LdapAnswers, base: string, attribute: string, value: string): Promise<string[] | undefined> {
    const search: EntrySearch = { base, filter: { attribute, value }, want: this.#settings.memberAttribute, timeLimitSeconds: this.#timeLimitSeconds };
    const searchId = await ask((id) => searchRequest(id, search));
    const entry = await entryOf(answers, searchId);
    return entry === undefined ? undefined : this.#groupsOf(ask, answers, entry);
  }

  async #groupsOf(ask: Ask, answers: LdapAnswers, entry: ReadonlyMap<string, readonly string[]>): Promise<string[]> {
    const direct = this.#listed(entry);
    return this.#names(this.#settings.nested ? await this.#follow(ask, answers, direct) : direct);
  }

  /**
   * `direct` and every group they are in, through any depth: a round trip per level (per
   * 32 groups of it, asked at once), each group read once (cycles end), at most
   * {@link MAX_NESTED_GROUPS}.
   */
  async #follow(ask: Ask, answers: LdapAnswers, direct: readonly string[]): Promise<string[]> {
    const seen = new Set<string>();
    const all: string[] = [];
    let level: string[] = [];
    const add = (dn: string) => {
      const key = dnKey(dn);
      if (seen.has(key)) return;
      if (seen.size >= MAX_NESTED_GROUPS) throw new Error(`more than ${MAX_NESTED_GROUPS} groups through nesting; not read`);
      seen.add(key);
      all.push(dn);
      level.push(dn);
    };
    for (const dn of direct) add(dn);
    while (level.length > 0) {
      const reading = level;
      level = [];
      // a few at a time: requests written while no answer is read must not fill both ways' buffers
      for (let i = 0; i < reading.length; i += BATCH) {
        const asked = new Map<number, string>(); // message ID → the group's DN
        for (const dn of reading.slice(i, i + BATCH)) asked.set(await ask((id) => searchRequest(id, this.#entrySearch(dn))), dn);
        const entries = await entriesOf(answers, asked);
        for (const id of asked.keys()) for (const dn of this.#listed(entries.get(id)!)) add(dn);
      }
    }
    return all;
  }

  /** The search for the entry "Who am I?" names. */
  async #whoAmI(ask: Ask, answers: LdapAnswers): Promise<EntrySearch> {
    const whoId = await ask(whoAmIRequest);
    const who = await answers.next(readWhoAmI, (p) => p.result);
    if (who.messageId !== whoId) throw new Error(`an answer to message ${who.messageId}, not to "Who am I?"`);
    if (who.resultCode !== 0) throw new Error(`the directory did not say whom it signed in ("Who am I?", RFC 4532): ${resultText(who)}`);
    return this.#searchFor(who.authzId);
  }

  #entrySearch(dn: string): EntrySearch {
    return { base: dn, filter: "any", want: this.#settings.memberAttribute, timeLimitSeconds: this.#timeLimitSeconds };
  }

  /** The search for the entry of authorization identity `authzId` (`dn:…` or `u:…`). */
  #searchFor(authzId: string): EntrySearch {
    const want = this.#settings.memberAttribute;
    const timeLimitSeconds = this.#timeLimitSeconds;
    const shown = JSON.stringify(authzId);
    if (authzId.startsWith("dn:")) {
      const dn = authzId.slice(3);
      if (parseDn(dn).length === 0) throw new Error(`the directory names the user ${shown}, an empty DN`);
      return this.#entrySearch(dn);
    }
    if (authzId.startsWith("u:")) {
      const { searchBase, domain } = this.#settings;
      if (searchBase === undefined || domain === undefined) throw new Error(`the directory names the user ${shown}, not by a DN: set groups.searchBase and groups.domain`);
      // Active Directory: u:CORP\alice, an account name within a domain
      const m = /^u:([^\\]+)\\([^\\]+)$/.exec(authzId);
      if (!m) throw new Error(`the directory names the user ${shown}, not as DOMAIN\\name`);
      if (m[1]!.toLowerCase() !== domain.toLowerCase()) throw new Error(`the directory names the user ${shown}, of another domain than groups.domain ${JSON.stringify(domain)}`);
      return { base: searchBase, filter: { attribute: this.#settings.userAttribute, value: m[2]! }, want, timeLimitSeconds };
    }
    throw new Error(`the directory names the user ${authzId === "" ? "anonymous" : JSON.stringify(authzId)}, neither dn: nor u:`);
  }

  /** The DNs of the groups an entry lists. */
  #listed(entry: ReadonlyMap<string, readonly string[]>): readonly string[] {
    const want = this.#settings.memberAttribute.toLowerCase();
    for (const key of entry.keys()) {
      // Active Directory sends a long list in ranges (memberOf;range=0-1499): not read, so refused
      if (key.startsWith(`${want};`)) throw new Error(`the directory sent ${key}, a part of the list; not read`);
    }
    return entry.get(want) ?? [];
  }

  /** The names of groups `dns`: each DN's `cn` (else first) value, lower case, within `within`. */
  #names(dns: readonly string[]): string[] {
    const names = new Set<string>();
    for (const text of dns) {
      const dn = parseDn(text);
      if (this.#within !== undefined && !dnWithin(dn, this.#within)) continue;
      const rdn = dn[0];
      const value = (rdn?.find((a) => a.type === "cn") ?? rdn?.[0])?.value;
      if (value !== undefined && value.length > 0 && value.length <= MAX_GROUP_NAME) names.add(value.toLowerCase());
    }
    return [...names].sort();
  }
}

/** A DN as compared: types and values in lower case, a multi-valued RDN's parts in order. */
function dnKey(text: string): string {
  return JSON.stringify(parseDn(text).map((rdn) => rdn.map((a) => `${a.type}=${a.value.toLowerCase()}`).sort()));
}

/**
 * The entries base searches `ids` (asked together) find, by search: answers may come in any
 * order. @throws {Error} when one finds none, or fails
 */
async function entriesOf(answers: LdapAnswers, asked: ReadonlyMap<number, string>): Promise<Map<number, ReadonlyMap<string, readonly string[]>>> {
  const found = new Map<number, ReadonlyMap<string, readonly string[]>>();
  const open = new Set(asked.keys());
  while (open.size > 0) {
    const answer = await answers.next(readSearchAnswer, (p) => p.answer);
    const { messageId } = answer;
    if (!open.has(messageId)) throw new Error(`an answer to message ${messageId}, not to a search for a group`);
    if (answer.kind === "entry") {
      if (found.has(messageId)) throw new Error(`more than one entry for group ${JSON.stringify(asked.get(messageId))}`);
      found.set(messageId, answer.attributes);
    }
    if (answer.kind !== "done") continue;
    open.delete(messageId);
    const group = JSON.stringify(asked.get(messageId));
    if (answer.result.resultCode !== 0) throw new Error(`reading group ${group}: ${resultText(answer.result)}`);
    if (!found.has(messageId)) throw new Error(`group ${group} was not found (or the user may not read it)`);
  }
  return found;
}

/** The one entry search `id` finds, undefined for none. @throws {Error} when it finds more than one, or fails */
async function entryOf(answers: LdapAnswers, id: number): Promise<ReadonlyMap<string, readonly string[]> | undefined> {
  let found: ReadonlyMap<string, readonly string[]> | undefined;
  const ambiguous = "more than one entry matched (make userAttribute unique, or searchBase narrower)";
  for (;;) {
    const answer = await answers.next(readSearchAnswer, (p) => p.answer);
    if (answer.messageId !== id) throw new Error(`an answer to message ${answer.messageId}, not to the search`);
    if (answer.kind === "entry") {
      if (found !== undefined) throw new Error(ambiguous);
      found = answer.attributes;
    }
    if (answer.kind !== "done") continue;
    // sizeLimitExceeded: a second entry matched
    if (answer.result.resultCode === 4) throw new Error(ambiguous);
    if (answer.result.resultCode !== 0) throw new Error(resultText(answer.result));
    return found;
  }
}
