/**
 * The groups of users a client certificate signs in. A local `proxyAuth` user of the same
 * name has their configured groups. Otherwise, with `proxyAuth.ldap.certificateUsers`, the
 * directory is asked: the gateway binds as its own account (the user gave no password to bind
 * with), finds the entry below `searchBase` whose `userAttribute` is the certificate's name,
 * and reads its groups as `proxyAuth.ldap.groups` says (`memberAttribute`, `within`,
 * `nested`, `required`). Answers are kept 5 minutes, as sign-ins are; lookups of one name
 * under way at once are one.
 * @module
 */
import { type GroupSettings, UserGroups } from "./ldap/user-groups.ts";
import { DIRECTORY_NAME_RE } from "./ldap/directory.ts";
import { bindResultText, type DirectoryDial, DirectoryUnavailableError, errorText, inDirectorySession } from "./ldap/directory-session.ts";
import { GateFullError, type TaskGate } from "../core/task-gate.ts";
import { DIRECTORY_GATE, groupList } from "./proxy-auth.ts";

/** A certificate user's groups (lower case, sorted), or why they may not sign in. */
export type CertificateGroupsVerdict = readonly string[] | { readonly refused: string };

/**
 * The groups of the user a certificate names: at once when known, else once the directory
 * has answered. @throws {DirectoryUnavailableError} when the directory cannot tell
 */
export type CertificateGroupsOf = (user: string) => CertificateGroupsVerdict | Promise<CertificateGroupsVerdict>;

/** Where and how the directory is asked. */
export interface CertificateGroupsSettings {
  /** How the directory is named in messages. */
  readonly url: string;
  /** For one lookup: connection, TLS, bind and searches. */
  readonly timeoutMs: number;
  /** The gateway's own account, and its password. */
  readonly bindName: string;
  readonly password: string;
  readonly searchBase: string;
  readonly userAttribute: string;
  readonly groups: GroupSettings;
}

const CACHE_MS = 5 * 60_000;
const CACHE_MAX = 1024;

/** Reads certificate users' groups from one directory (see the module doc). */
export class DirectoryCertificateGroups {
  readonly #settings: CertificateGroupsSettings;
  readonly #dial: DirectoryDial;
  readonly #gate: TaskGate;
  readonly #now: () => number;
  readonly #reader: UserGroups;
  readonly #known = new Map<string, { readonly verdict: CertificateGroupsVerdict; readonly until: number }>();
  readonly #asking = new Map<string, Promise<CertificateGroupsVerdict>>();

  /** @throws {Error} when `groups.within` is not a DN */
  constructor(settings: CertificateGroupsSettings, dial: DirectoryDial, options: { readonly gate?: TaskGate; readonly now?: () => number } = {}) {
    this.#settings = settings;
    this.#dial = dial;
    this.#gate = options.gate ?? DIRECTORY_GATE;
    this.#now = options.now ?? Date.now;
    this.#reader = new UserGroups(settings.groups, settings.timeoutMs);
  }

  /**
   * `user`'s groups in the directory. A name the directory is not asked about (see
   * {@link DIRECTORY_NAME_RE}) or that no entry has counts as in no group.
   * @throws {DirectoryUnavailableError} when the directory cannot tell (not kept)
   */
  groupsOf(user: string): CertificateGroupsVerdict | Promise<CertificateGroupsVerdict> {
    const known = this.#known.get(user);
    if (known && known.until > this.#now()) return known.verdict;
    if (!DIRECTORY_NAME_RE.test(user)) return this.#judge(user, [], `${JSON.stringify(user)} is not a name the directory is asked about (letters, digits and ._@- only)`);
    let asking = this.#asking.get(user);
    if (!asking) {
      asking = this.#ask(user).then((verdict) => {
        this.#known.delete(user);
        if (this.#known.size >= CACHE_MAX) this.#known.delete(this.#known.keys().next().value as string);
        this.#known.set(user, { verdict, until: this.#now() + CACHE_MS });
        return verdict;
      }).finally(() => this.#asking.delete(user));
      this.#asking.set(user, asking);
    }
    return asking;
  }

  async #ask(user: string): Promise<CertificateGroupsVerdict> {
    try {
      return await this.#gate.run(() => this.#read(user));
    } catch (e) {
      if (e instanceof GateFullError) throw new DirectoryUnavailableError(`the gateway is busy with other directory checks (${e.message})`);
      throw e;
    }
  }

  #read(user: string): Promise<CertificateGroupsVerdict> {
    const { url, timeoutMs, bindName, password, searchBase, userAttribute } = this.#settings;
    return inDirectorySession(url, this.#dial, timeoutMs, async ({ ask, answers, signal, bind }) => {
      let step = "did not answer the gateway's bind";
      try {
        const bound = await bind(bindName, password);
        if (bound.resultCode !== 0) {
          throw new DirectoryUnavailableError(`the directory ${url} refused the gateway's bind as ${JSON.stringify(bindName)} (proxyAuth.ldap.certificateUsers): ${bindResultText(bound)}`);
        }
        step = `could not tell ${JSON.stringify(user)}'s groups`;
        const groups = await this.#reader.readFound(ask, answers, searchBase, userAttribute, user);
        if (groups === undefined) return this.#judge(user, [], `the directory has no entry with ${userAttribute} ${JSON.stringify(user)} below ${JSON.stringify(searchBase)}`);
        return this.#judge(user, groups);
      } catch (e) {
        if (e instanceof DirectoryUnavailableError) throw e;
        throw new DirectoryUnavailableError(`the directory ${url} ${step}: ${errorText(e, signal)}`);
      }
    });
  }

  /**
   * `groups`, unless `groups.required` refuses a user in none. `none`: why there are none,
   * when it is not that the entry lists none (within `within`).
   */
  #judge(user: string, groups: readonly string[], none?: string): CertificateGroupsVerdict {
    if (groups.length > 0 || !this.#settings.groups.required) return groups;
    const { within } = this.#settings.groups;
    const why = none ?? `the directory shows ${JSON.stringify(user)} in no group${within === undefined ? "" : ` within ${JSON.stringify(within)}`}`;
    return { refused: `${why}, and groups.required is set` };
  }
}

/**
 * What a certificate's user is in: the local user's groups for a local name; with
 * `directory`, the directory's for any other. A name that is a local user's but for case
 * (`ROOT` where `root` is local) is never looked up, as password sign-ins never look it up:
 * it has no groups.
 */
export function certificateGroupsOf(
  localUsers: readonly { readonly name: string; readonly groups?: readonly string[] }[],
  directory: DirectoryCertificateGroups | undefined,
): CertificateGroupsOf {
  const local = new Map(localUsers.map((u) => [u.name, groupList(u.groups ?? [])]));
  const folded = new Set(localUsers.map((u) => u.name.toLowerCase()));
  return (user) => local.get(user) ?? (directory && !folded.has(user.toLowerCase()) ? directory.groupsOf(user) : []);
}
