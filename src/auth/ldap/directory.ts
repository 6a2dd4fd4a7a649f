/**
 * Passwords checked against an LDAP directory (OpenLDAP, Active Directory…) by a simple bind
 * as the user: `bindName` with `{user}` filled in (`uid={user},ou=people,dc=example,dc=org`,
 * or `{user}@corp.example` for Active Directory). One connection per check, closed with an
 * unbind; the caller caches what succeeded. With `groups`, the bind is followed by the reading
 * of the signed-in account's groups (`user-groups.ts`), as the user.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { LdapAnswers } from "./answers.ts";
import { bindRequest, escapeDnValue, readBindResult, unbindRequest } from "./bind-message.ts";
import { type Ask, type GroupSettings, UserGroups } from "./user-groups.ts";

/** Opens a connection to the directory (TLS already negotiated for `ldaps://`). */
export type DirectoryDial = (signal: AbortSignal) => Promise<Conn>;

/** The directory did not answer usefully: not the client's failure (503, not counted). */
export class DirectoryUnavailableError extends Error {
  override name = "DirectoryUnavailableError";
}

/** What a bind said about a user's password; with it, the user's groups (lower case, sorted). */
export type DirectoryVerdict =
  | { readonly ok: true; readonly groups: readonly string[] }
  /** `unasked`: refused without asking the directory (which then counted nothing). */
  | { readonly ok: false; readonly reason: string; readonly unasked?: true };

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

/** Checks users' passwords against one directory. */
export class LdapDirectory {
  readonly #settings: DirectorySettings;
  readonly #dial: DirectoryDial;
  readonly #groups: UserGroups | undefined;

  /** @throws {Error} when `groups.within` is not a DN */
  constructor(settings: DirectorySettings, dial: DirectoryDial) {
    this.#settings = settings;
    this.#dial = dial;
    this.#groups = settings.groups === undefined ? undefined : new UserGroups(settings.groups, settings.timeoutMs);
  }

  /**
   * Binds as `user` with `password`. An empty password is refused without asking: LDAP
   * takes a name with no password as an *unauthenticated* bind, which many servers accept.
   * @throws {DirectoryUnavailableError} when the directory cannot be reached or is in trouble
   */
  async verify(user: string, password: string): Promise<DirectoryVerdict> {
    if (password === "") return { ok: false, reason: "an empty password is never sent to the directory", unasked: true };
    if (!DIRECTORY_NAME_RE.test(user)) return { ok: false, reason: "not a name the directory is asked about (letters, digits and ._@- only)", unasked: true };
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
    const answers = new LdapAnswers(conn.readable.getReader());
    let nextId = 1;
    const ask: Ask = async (request) => {
      const id = nextId++;
      await writer.write(request(id));
      return id;
    };
    let step = "did not answer the bind";
    try {
      await ask((id) => bindRequest(id, name, password));
      const { messageId, ...result } = await answers.next(readBindResult, (p) => p.result);
      if (messageId !== 1) throw new Error(`an answer to message ${messageId}, not to the bind`);
      if (result.resultCode !== 0) {
        const said = `result ${result.resultCode}${result.diagnosticMessage ? ` (${result.diagnosticMessage})` : ""}`;
        if (SERVER_TROUBLE.has(result.resultCode)) throw new DirectoryUnavailableError(`the directory ${this.#settings.url} could not check the password: ${said}`);
        return { ok: false, reason: `the directory refused the bind: ${said}` };
      }
      if (this.#groups === undefined) return { ok: true, groups: [] };
      step = `could not tell ${JSON.stringify(user)}'s groups`;
      const groups = await this.#groups.read(ask, answers, name);
      const { required, within } = this.#settings.groups ?? {};
      if (required && groups.length === 0) {
        return { ok: false, reason: `the directory shows ${JSON.stringify(user)} in no group${within === undefined ? "" : ` within ${JSON.stringify(within)}`}, and groups.required is set` };
      }
      return { ok: true, groups };
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
}

function errorText(e: unknown, signal: AbortSignal): string {
  if (signal.aborted) return "timed out";
  return e instanceof Error ? e.message : String(e);
}
