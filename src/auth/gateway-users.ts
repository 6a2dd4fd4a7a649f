import type { Config, LdapConfig } from "../config/config.ts";
import type { Runtime } from "../core/runtime.ts";
import type { Resolver } from "../dns/types.ts";
import { directoryDial, parseDirectoryUrl } from "./ldap/directory-dial.ts";
import { type DirectoryDial, LdapDirectory } from "./ldap/directory.ts";
import { certificateGroupsOf, type CertificateGroupsOf, DirectoryCertificateGroups } from "./certificate-groups.ts";
import { type BasicCredentials, createBasicCredentials, createProxyAuth, type ProxyAuth, type SignInMemory } from "./proxy-auth.ts";
import { PROCESS_GATE } from "./derivation-gate.ts";
import { readPasswordFile } from "../config/password-file.ts";
import { familiarToForget } from "./user-changes.ts";
import { type SignInCounts, SignInThrottle } from "./sign-in-throttle.ts";
import { readCaBundle } from "../config/setting-file.ts";

/** The gateway's users: proxy authentication and reverse routes' `basicAuth` share one cache. */
export interface GatewayUsers {
  readonly credentials: BasicCredentials;
  readonly proxyAuth: ProxyAuth;
  /** The groups of a user a client certificate names: the local user's, or the directory's (`ldap.certificateUsers`). */
  readonly certificateGroups: CertificateGroupsOf;
}

/** What reaching a `proxyAuth.ldap` directory takes. */
export interface DirectoryDeps {
  readonly runtime: Pick<Runtime, "dial" | "tls">;
  readonly resolver: Resolver;
  readonly readText: (path: string) => string;
}

/** What making the users takes: reaching a directory, and where sign-ins are counted. */
export interface UsersDeps extends DirectoryDeps {
  /** Counts kept elsewhere (a worker's: the primary's), used whatever the config; default: this process's. */
  readonly signIns?: SignInCounts;
}

/**
 * The users of `config.proxyAuth`, ready to check (undefined without a `proxyAuth`); with
 * `ldap`, the directory too (its `caFile`, and `certificateUsers.passwordFile`, read now).
 *
 * On a reload, `previous` (the config in force and its users) hands on what still holds, so
 * that a reload for another reason (a host list file that changed) neither makes every user's
 * password be checked again nor gives password guessers fresh allowances: failures counted
 * while `signInLimit` is the same (per name while `perUser` is; the addresses users signed in
 * from while those users are), and local users' verified sign-ins while all of `proxyAuth`
 * is. Directory users' are forgotten by every reload: the directory is asked again.
 * @throws {Error} naming `proxyAuth.ldap.caFile` or `certificateUsers.passwordFile` when it cannot be read
 */
export function gatewayUsers(
  config: Pick<Config, "proxyAuth">,
  deps: UsersDeps,
  previous?: { readonly config: Pick<Config, "proxyAuth">; readonly users: GatewayUsers | undefined },
): GatewayUsers | undefined {
  const auth = config.proxyAuth;
  if (!auth) return undefined;
  const dial = auth.ldap ? ldapDial(auth.ldap, deps) : undefined;
  const directory = auth.ldap && dial ? ldapDirectory(auth.ldap, dial) : undefined;
  const forCertificates = auth.ldap && dial ? certificateDirectory(auth.ldap, dial, deps) : undefined;
  const before = previous?.config.proxyAuth;
  const learnt = previous?.users?.credentials.memory;
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  // new limits: the addresses' counts start afresh, the names' go on while perUser is the same
  const throttle = !before || !learnt
    ? undefined
    : same(before.signInLimit, auth.signInLimit)
    ? learnt.throttle
    : learnt.throttle instanceof SignInThrottle
    ? learnt.throttle.withLimit(auth.signInLimit)
    : undefined;
  const carried = {
    ...(throttle ? { throttle } : {}),
    ...(before && learnt && same(before, auth) ? { verified: auth.ldap ? localOnly(learnt.verified, auth.users) : learnt.verified } : {}),
  };
  // a user removed or with a new password (perhaps in the wrong hands) keeps no familiar address
  const forget = familiarToForget(before, auth);
  if (throttle && forget) throttle.forgetFamiliar(forget);
  // counted elsewhere: the primary carries (or forgets) them by its own reload
  const credentials = createBasicCredentials(auth.users, auth.signInLimit, undefined, PROCESS_GATE, directory, deps.signIns ? { ...carried, throttle: deps.signIns } : carried);
  return { credentials, proxyAuth: createProxyAuth(auth, credentials), certificateGroups: certificateGroupsOf(auth.users, forCertificates) };
}

/**
 * The verified sign-ins of local users, in a new map: a reload forgets directory users'
 * (an account disabled or a password changed in the directory is asked about again, and a
 * check under way during the reload does not land in what is kept).
 */
function localOnly(verified: SignInMemory["verified"], users: readonly { readonly name: string }[]): SignInMemory["verified"] {
  const local = new Set(users.map((u) => u.name));
  return new Map([...verified].filter(([, v]) => local.has(v.user)));
}

function ldapDirectory(ldap: LdapConfig, dial: DirectoryDial): LdapDirectory {
  return new LdapDirectory({ url: ldap.url, bindName: ldap.bindName, timeoutMs: ldap.timeoutMs, ...(ldap.groups ? { groups: ldap.groups } : {}) }, dial);
}

/** With `certificateUsers` (and `groups`, which the schema requires with it): its password file read now. */
function certificateDirectory(ldap: LdapConfig, dial: DirectoryDial, deps: DirectoryDeps): DirectoryCertificateGroups | undefined {
  const c = ldap.certificateUsers;
  if (!c || !ldap.groups) return undefined;
  const password = readPasswordFile(deps.readText, "proxyAuth.ldap.certificateUsers.passwordFile", c.passwordFile);
  // an empty password would make the bind an unauthenticated one, which many servers accept
  if (password === "") throw new Error(`proxyAuth.ldap.certificateUsers.passwordFile "${c.passwordFile}" is empty: the gateway never binds without a password`);
  return new DirectoryCertificateGroups(
    { url: ldap.url, timeoutMs: ldap.timeoutMs, bindName: c.bindName, password, searchBase: c.searchBase, userAttribute: c.userAttribute, groups: ldap.groups },
    dial,
  );
}

function ldapDial(ldap: LdapConfig, deps: DirectoryDeps): DirectoryDial {
  const caPem = ldap.caFile ? [readCaBundle(deps.readText, "proxyAuth.ldap.caFile", ldap.caFile)] : [];
  return directoryDial(parseDirectoryUrl(ldap.url), deps, caPem);
}
