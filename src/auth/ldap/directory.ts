/**
 * Passwords checked against an LDAP directory (OpenLDAP, Active Directory…) by a simple bind
 * as the user: `bindName` with `{user}` filled in (`uid={user},ou=people,dc=example,dc=org`,
 * or `{user}@corp.example` for Active Directory). One connection per check, closed with an
 * unbind; the caller caches what succeeded. With `groups`, the bind is followed by the reading
 * of the signed-in account's groups (`user-groups.ts`), as the user.
 * @module
 */
import { escapeDnValue } from "./bind-message.ts";
import { bindResultText, type DirectoryDial, DirectoryUnavailableError, errorText, inDirectorySession, SERVER_TROUBLE } from "./directory-session.ts";
import { type GroupSettings, UserGroups } from "./user-groups.ts";

export { type DirectoryDial, DirectoryUnavailableError } from "./directory-session.ts";

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
  verify(user: string, password: string): Promise<DirectoryVerdict> {
    if (password === "") return Promise.resolve({ ok: false, reason: "an empty password is never sent to the directory", unasked: true });
    if (!DIRECTORY_NAME_RE.test(user)) return Promise.resolve({ ok: false, reason: "not a name the directory is asked about (letters, digits and ._@- only)", unasked: true });
    // split/join: a replacement string would expand "$&"-like patterns in the name
    const name = this.#settings.bindName.split("{user}").join(escapeDnValue(user));
    return inDirectorySession(this.#settings.url, this.#dial, this.#settings.timeoutMs, async ({ ask, answers, signal, bind }) => {
      let step = "did not answer the bind";
      try {
        const result = await bind(name, password);
        if (result.resultCode !== 0) {
          const said = bindResultText(result);
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
      }
    });
  }
}
