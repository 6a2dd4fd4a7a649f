/**
 * Passwords checked against an LDAP directory (OpenLDAP, Active Directory…) by a simple bind
 * as the user: `bindName` with `{user}` filled in (`uid={user},ou=people,dc=example,dc=org`,
 * or `{user}@corp.example` for Active Directory). One connection per check, closed with an
 * unbind; the caller caches what succeeded. With `groups`, the bind is followed by a search
 * of the user's own entry for their groups (`memberOf`), as the user.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { concatBytes } from "../../core/bytes.ts";
import { MAX_GROUP_NAME } from "../../policy/scope.ts";
import { bindRequest, escapeDnValue, readBindResult, unbindRequest } from "./bind-message.ts";
import { dnWithin, parseDn, type Rdn } from "./dn.ts";
import { resultText } from "./ldap-message.ts";
import { type EntrySearch, readSearchAnswer, searchRequest } from "./search-message.ts";

/** Opens a connection to the directory (TLS already negotiated for `ldaps://`). */
export type DirectoryDial = (signal: AbortSignal) => Promise<Conn>;

/** The directory did not answer usefully: not the client's failure (503, not counted). */
export class DirectoryUnavailableError extends Error {
  override name = "DirectoryUnavailableError";
}

/** What a bind said about a user's password; with it, the user's groups (lower case, sorted). */
export type DirectoryVerdict = { readonly ok: true; readonly groups: readonly string[] } | { readonly ok: false; readonly reason: string };

/**
 * The names asked of a directory: letters, digits and `._@-`, 1-64 of them. Directories match
 * names loosely (case, spaces at the ends, Unicode compatibility forms), so any freer form
 * could reach one account under many policy names.
 */
export const DIRECTORY_NAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;

/** Result codes that mean the server, not the credentials, is the problem (RFC 4511 Appendix A). */
const SERVER_TROUBLE = new Set([1 /* operationsError */, 51 /* busy */, 52 /* unavailable */, 80 /* other */]);

export interface DirectorySettings {
  /** How the directory is named in messages, e.g. `ldaps://dc1.corp.example:636`. */
  readonly url: string;
  /** The bind name, `{user}` standing for the (escaped) user name. */
  readonly bindName: string;
  /** For the whole check: connection, TLS, bind (and the search for groups). */
  readonly timeoutMs: number;
  /** Read the user's groups after the bind; absent = no groups. */
  readonly groups?: GroupSettings;
}

/** Where a user's groups are read (see `proxyAuth.ldap.groups`). */
export interface GroupSettings {
  /**
   * Below this DN the entry whose `userAttribute` is the user name is read; absent = the
   * entry the bind name names (it must then be a DN).
   */
  readonly searchBase?: string;
  readonly userAttribute: string;
  /** The entry's attribute listing the DNs of its groups. */
  readonly memberAttribute: string;
  /** Only groups below this DN count; absent = all. */
  readonly within?: string;
}

/** Checks users' passwords against one directory. */
export class LdapDirectory {
  readonly #settings: DirectorySettings;
  readonly #dial: DirectoryDial;
  readonly #within: readonly Rdn[] | undefined;

  /** @throws {Error} when `groups.within` is not a DN */
  constructor(settings: DirectorySettings, dial: DirectoryDial) {
    this.#settings = settings;
    this.#dial = dial;
    const within = settings.groups?.within;
    this.#within = within === undefined ? undefined : parseDn(within);
  }

  /**
   * Binds as `user` with `password`. An empty password is refused without asking: LDAP
   * takes a name with no password as an *unauthenticated* bind, which many servers accept.
   * @throws {DirectoryUnavailableError} when the directory cannot be reached or is in trouble
   */
  async verify(user: string, password: string): Promise<DirectoryVerdict> {
    if (password === "") return { ok: false, reason: "an empty password is never sent to the directory" };
    if (!DIRECTORY_NAME_RE.test(user)) return { ok: false, reason: "not a name the directory is asked about (letters, digits and ._@- only)" };
    // split/join: a replacement string would expand "$&"-like patterns in the name
    const name = this.#settings.bindName.split("{user}").join(escapeDnValue(user));
    const signal = AbortSignal.timeout(this.#settings.timeoutMs);
    let conn: Conn;
    try {
      conn = await this.#dial(signal);
    } catch (e) {
      throw new DirectoryUnavailableError(`cannot reach the directory ${this.#settings.url}: ${errorText(e, signal)}`);
    }
    const onAbort = () => conn.close();
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();
    const writer = conn.writable.getWriter();
    const answers = new Answers(conn.readable.getReader());
    let nextId = 1;
    let step = "did not answer the bind";
    try {
      await writer.write(bindRequest(nextId++, name, password));
      const { messageId, ...result } = await answers.next(readBindResult, (p) => p.result);
      if (messageId !== 1) throw new Error(`an answer to message ${messageId}, not to the bind`);
      if (result.resultCode !== 0) {
        const said = `result ${result.resultCode}${result.diagnosticMessage ? ` (${result.diagnosticMessage})` : ""}`;
        if (SERVER_TROUBLE.has(result.resultCode)) throw new DirectoryUnavailableError(`the directory ${this.#settings.url} could not check the password: ${said}`);
        return { ok: false, reason: `the directory refused the bind: ${said}` };
      }
      const groups = this.#settings.groups;
      if (groups === undefined) return { ok: true, groups: [] };
      step = `could not tell ${JSON.stringify(user)}'s groups`;
      const id = nextId++;
      await writer.write(searchRequest(id, this.#search(groups, user, name)));
      return { ok: true, groups: this.#groupNames(groups, await this.#entry(answers, id)) };
    } catch (e) {
      if (e instanceof DirectoryUnavailableError) throw e;
      throw new DirectoryUnavailableError(`the directory ${this.#settings.url} ${step}: ${errorText(e, signal)}`);
    } finally {
      signal.removeEventListener("abort", onAbort);
      // an unbind, then the end of the connection (RFC 4511 §4.3); nothing waits for it
      writer.write(unbindRequest(nextId)).then(() => writer.close()).catch(() => {}).finally(() => {
        answers.cancel();
        conn.close();
      });
    }
  }

  #search(groups: GroupSettings, user: string, boundAs: string): EntrySearch {
    const timeLimitSeconds = Math.ceil(this.#settings.timeoutMs / 1000);
    const want = groups.memberAttribute;
    if (groups.searchBase === undefined) return { base: boundAs, filter: "any", want, timeLimitSeconds };
    return { base: groups.searchBase, filter: { attribute: groups.userAttribute, value: user }, want, timeLimitSeconds };
  }

  /** The one entry message `id` finds. @throws {Error} when it finds none or more than one */
  async #entry(answers: Answers, id: number): Promise<ReadonlyMap<string, readonly string[]>> {
    const found: ReadonlyMap<string, readonly string[]>[] = [];
    for (;;) {
      const answer = await answers.next(readSearchAnswer, (p) => p.answer);
      if (answer.messageId !== id) throw new Error(`an answer to message ${answer.messageId}, not to the search`);
      if (answer.kind === "entry") found.push(answer.attributes);
      if (answer.kind !== "done") continue;
      // sizeLimitExceeded: a second entry matched
      if (answer.result.resultCode === 4 || found.length > 1) throw new Error("more than one entry matched (make userAttribute unique, or searchBase narrower)");
      if (answer.result.resultCode !== 0) throw new Error(resultText(answer.result));
      if (found.length === 0) throw new Error("no entry matched (or the user may not read it)");
      return found[0]!;
    }
  }

  /** The names of the groups an entry lists: each DN's first value, lower case, within `within`. */
  #groupNames(groups: GroupSettings, entry: ReadonlyMap<string, readonly string[]>): string[] {
    const want = groups.memberAttribute.toLowerCase();
    for (const key of entry.keys()) {
      // Active Directory sends a long list in ranges (memberOf;range=0-1499): not read, so refused
      if (key.startsWith(`${want};`)) throw new Error(`the directory sent ${key}, a part of the list; not read`);
    }
    const names = new Set<string>();
    for (const text of entry.get(want) ?? []) {
      const dn = parseDn(text);
      if (this.#within !== undefined && !dnWithin(dn, this.#within)) continue;
      const name = dn[0]?.[0]?.value.toLowerCase();
      if (name !== undefined && name.length > 0 && name.length <= MAX_GROUP_NAME) names.add(name);
    }
    return [...names].sort();
  }
}

/** The directory's answers in order, read from one connection. */
class Answers {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #got: Uint8Array = new Uint8Array(0);

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>) {
    this.#reader = reader;
  }

  /** The next answer `parse` reads, as `pick` takes it. @throws {Error} when the connection ends first */
  async next<P extends { readonly size: number }, T>(parse: (bytes: Uint8Array) => P | "incomplete", pick: (parsed: P) => T): Promise<T> {
    for (;;) {
      const parsed = parse(this.#got);
      if (parsed !== "incomplete") {
        this.#got = this.#got.subarray(parsed.size);
        return pick(parsed);
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("the directory closed the connection without an answer");
      this.#got = this.#got.length === 0 ? value : concatBytes([this.#got, value]);
    }
  }

  cancel(): void {
    this.#reader.cancel().catch(() => {});
  }
}

function errorText(e: unknown, signal: AbortSignal): string {
  if (signal.aborted) return "timed out";
  return e instanceof Error ? e.message : String(e);
}
