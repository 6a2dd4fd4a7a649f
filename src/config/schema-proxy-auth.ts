/**
 * Config schema of `proxyAuth`: local users with PBKDF2 hashes, and optionally an LDAP
 * directory for everyone else.
 * @module
 */
import * as v from "valibot";
import { parsePasswordHash } from "../auth/password-hash.ts";
import { parseDirectoryUrl } from "../auth/ldap/directory-dial.ts";
import { checkedString, expected, filePath, integer, object, USER_NAME_RE } from "./schema-kit.ts";

const errorOf = (check: (text: string) => unknown) => (text: string) => {
  try {
    check(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
};

/** Users not in `users` sign in with their directory password (a simple bind as the user). */
const ldapSchema = object({
  /** `ldaps://host[:port]` (or `ldap://`, in clear). */
  url: checkedString('"ldaps://host[:port]"', errorOf(parseDirectoryUrl)),
  /** What is bound as: `uid={user},ou=people,dc=example,dc=org`, or `{user}@corp.example` (Active Directory). */
  bindName: checkedString('a bind name with "{user}"', (text) =>
    text.includes("{user}") ? undefined : `expected "{user}" in the bind name, like "uid={user},ou=people,dc=example,dc=org" or "{user}@corp.example"; got ${JSON.stringify(text)}`),
  /** Extra CA certificates (PEM) for the directory's TLS certificate, besides the system roots. */
  caFile: v.optional(filePath),
  /** For one check: connection, TLS and bind. */
  timeoutMs: v.optional(integer(100, 60_000), 5000),
});

/** Proxy authentication (explicit and SOCKS5 listeners, reverse routes' basicAuth). */
export const proxyAuthSchema = v.pipe(
  object({
    realm: v.optional(v.pipe(v.string(expected("a string")), v.regex(/^[\x20-\x7e]{1,64}$/, "expected 1-64 printable ASCII characters")), "tollgate"),
    /** Local users, with hashes from `tollgate auth hash`; they come before the directory. */
    users: v.optional(
      v.array(
        object({
          name: v.pipe(v.string(expected("a user name")), v.regex(USER_NAME_RE, "expected 1-64 characters, no colon or control characters")),
          passwordHash: checkedString('a hash from "tollgate auth hash"', errorOf(parsePasswordHash)),
        }),
        expected("an array of users"),
      ),
      [],
    ),
    ldap: v.optional(ldapSchema),
    /** Failed sign-ins allowed per client address (IPv6: per /64) before 429: `burst` at once, then `perMinute`. */
    signInLimit: v.optional(object({
      burst: v.optional(integer(1, 100_000), 10),
      perMinute: v.optional(integer(1, 1_000_000), 10),
    }), {}),
  }),
  v.forward(
    v.check((a) => a.users.length > 0 || a.ldap !== undefined, 'expected at least one user, or "ldap"'),
    ["users"],
  ),
);
