/**
 * Config schema of `proxyAuth`: local users with PBKDF2 hashes, and optionally an LDAP
 * directory for everyone else.
 * @module
 */
import * as v from "valibot";
import { parsePasswordHash } from "../auth/password-hash.ts";
import { parseDirectoryUrl } from "../auth/ldap/directory-dial.ts";
import { parseDn, tryParseDn } from "../auth/ldap/dn.ts";
import { groupNameError } from "../policy/scope.ts";
import { boolean, checkedString, expected, filePath, integer, object, ownString, unique, USER_NAME_RE } from "./schema-kit.ts";

const errorOf = (check: (text: string) => unknown) => (text: string) => {
  try {
    check(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
};

/** Attribute types a group's DN is written with; a name that parses as a DN of them is one. */
const DN_TYPES = new Set(["cn", "ou", "o", "dc", "uid", "l", "c", "st"]);

/**
 * A DN given where a group's name is wanted (`CN=Staff,OU=Groups,…`, `cn=staff`): the name
 * to write instead, its `cn` (else first) value, as sign-ins name groups; else undefined.
 */
function dnGroupError(text: string): string | undefined {
  const rdns = text.includes("=") ? tryParseDn(text) : undefined;
  const first = rdns?.[0];
  if (rdns === undefined || first === undefined || (rdns.length === 1 && !first.every((a) => DN_TYPES.has(a.type) || /^\d/.test(a.type)))) return undefined;
  const name = (first.find((a) => a.type === "cn") ?? first[0])!.value;
  return `${JSON.stringify(text)} is a DN; a group is named by its DN's first value: write ${JSON.stringify(name)}`;
}

const groupName = checkedString("a group name", (t) => groupNameError(t) ?? dnGroupError(t));

/** A list of group names (a user's, a route's). */
export const groupNamesSchema = v.array(groupName, expected("an array of group names"));

/** A rule's groups: empty is refused, as a rule's condition it would match anyone. */
export const ruleGroupsSchema = v.pipe(
  groupNamesSchema,
  v.check((list) => list.length > 0, 'expected at least one group name (an empty list would match anyone: leave "groups" out)'),
);

const dn = checkedString('a DN like "ou=groups,dc=example,dc=org"', (text) => {
  if (text.trim() === "") return 'expected a DN like "ou=groups,dc=example,dc=org", got an empty string';
  return errorOf(parseDn)(text);
});

const attribute = v.pipe(v.string(expected("an attribute name")), v.regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'expected an attribute name like "memberOf"'));

/** Whether `bindName` with a user put in is a DN (not `{user}@corp.example` or `CORP\{user}`). */
export function bindNameIsDn(bindName: string): boolean {
  return tryParseDn(bindName.split("{user}").join("x")) !== undefined;
}

/**
 * The user's groups, read after the bind (as the user) from the entry of the account the
 * directory says it signed in ("Who am I?"): named by its DN (OpenLDAP), or `u:DOMAIN\name`
 * (Active Directory), found below `searchBase` by `userAttribute`.
 */
const groupsSchema = object({
  /** Where an account the directory names `u:DOMAIN\name` is looked for (the domain's DN). */
  searchBase: v.optional(dn),
  /** The attribute holding that name. */
  userAttribute: v.optional(attribute, "sAMAccountName"),
  /** The domain (NetBIOS name, `CORP`) whose accounts `searchBase` holds: another domain's are refused. */
  domain: v.optional(v.pipe(v.string(expected("a domain name")), v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'expected a domain\'s NetBIOS name like "CORP"'))),
  /** The entry's attribute listing its groups' DNs. */
  memberAttribute: v.optional(attribute, "memberOf"),
  /** Only groups below this DN count (a group's name is its DN's first value, so a same-named group elsewhere must not). */
  within: v.optional(dn),
  /** A user shown in no group (below `within`) cannot sign in: the directory hiding the memberships then refuses, never lets through. */
  required: v.optional(boolean, false),
  /** Groups in the user's groups count too (each group's own `memberAttribute`, through any depth); `within` still picks the names. */
  nested: v.optional(boolean, false),
});

/**
 * The groups of users a client certificate signs in (`tls.clientCertificates`), read by the
 * gateway's own account: they have given no password to bind with.
 */
const certificateUsersSchema = object({
  /** The gateway's account (a DN, or `tollgate@corp.example`): it reads the users' entries and groups. */
  bindName: checkedString("the gateway's bind name", (text) =>
    text.trim() === "" ? "expected the name of an account the gateway binds as, like \"cn=tollgate,ou=services,dc=example,dc=org\"" : text.includes("{user}") ? 'this is the gateway\'s own account: no "{user}" in it' : undefined),
  /** A file holding its password (one trailing newline ignored). */
  passwordFile: filePath,
  /** Where users' entries are looked for. */
  searchBase: dn,
  /** The attribute holding the name the certificate gives (`userPrincipalName`, `mail`, `uid`). */
  userAttribute: attribute,
});

/** Users not in `users` sign in with their directory password (a simple bind as the user). */
const ldapSchema = v.pipe(object({
  /** `ldaps://host[:port]` (or `ldap://`, in clear). */
  url: checkedString('"ldaps://host[:port]"', errorOf(parseDirectoryUrl)),
  /** What is bound as: `uid={user},ou=people,dc=example,dc=org`, or `{user}@corp.example` (Active Directory). */
  bindName: checkedString('a bind name with "{user}"', (text) =>
    text.includes("{user}") ? undefined : `expected "{user}" in the bind name, like "uid={user},ou=people,dc=example,dc=org" or "{user}@corp.example"; got ${JSON.stringify(text)}`),
  /** Extra CA certificates (PEM) for the directory's TLS certificate, besides the system roots. */
  caFile: v.optional(filePath),
  /** For one check: connection, TLS, bind and the search for groups. */
  timeoutMs: v.optional(integer(100, 60_000), 5000),
  groups: v.optional(groupsSchema),
  certificateUsers: v.optional(certificateUsersSchema),
}), v.forward(
  v.check(
    (l) => l.certificateUsers === undefined || l.groups !== undefined,
    'certificateUsers reads groups as "groups" says (memberAttribute, within, nested, required): set "groups" too',
  ),
  ["certificateUsers"],
), v.forward(
  v.check(
    (l) => l.groups === undefined || (l.groups.searchBase !== undefined && l.groups.domain !== undefined) || bindNameIsDn(l.bindName),
    'with a bind name that is not a DN (like "{user}@corp.example", Active Directory), groups needs "searchBase" (the domain\'s DN, like "dc=corp,dc=example"), where the account is found by "userAttribute" (default "sAMAccountName"), and "domain" (its NetBIOS name, like "CORP")',
  ),
  ["groups"],
));

/** Proxy authentication (explicit and SOCKS5 listeners, reverse routes' basicAuth). */
export const proxyAuthSchema = v.pipe(
  object({
    realm: v.optional(v.pipe(v.string(expected("a string")), v.regex(/^[\x20-\x7e]{1,64}$/, "expected 1-64 printable ASCII characters")), "tollgate"),
    /** Local users, with hashes from `tollgate auth hash`; they come before the directory. */
    users: v.optional(
      v.pipe(
        v.array(
          object({
            name: v.pipe(v.string(expected("a user name")), v.regex(USER_NAME_RE, "expected 1-64 characters, no colon or control characters")),
            passwordHash: checkedString('a hash from "tollgate auth hash"', errorOf(parsePasswordHash)),
            /** Groups rules may name (`groups`), compared in lower case. */
            groups: v.optional(groupNamesSchema, []),
          }),
          expected("an array of users"),
        ),
        // one entry per user: with two, the last one's password silently won, and removing
        // the first (a leaked password) changed nothing
        unique("name", "user name", (item) => ownString(item, "name", "")),
      ),
      [],
    ),
    ldap: v.optional(ldapSchema),
    /** Failed sign-ins allowed per client address (IPv6: per /64) before 429: `burst` at once, then `perMinute`. */
    signInLimit: v.optional(object({
      burst: v.optional(integer(1, 100_000), 10),
      perMinute: v.optional(integer(1, 1_000_000), 10),
      /**
       * And per user name, from all addresses together (addresses it signed in from before
       * excepted): `failures`, then none until `resetMinutes` pass without one. Absent = none.
       */
      perUser: v.optional(object({
        failures: integer(1, 1000),
        resetMinutes: integer(1, 1440),
      })),
    }), {}),
  }),
  v.forward(
    v.check((a) => a.users.length > 0 || a.ldap !== undefined, 'expected at least one user, or "ldap"'),
    ["users"],
  ),
);
