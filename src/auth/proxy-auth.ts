import { parsePasswordHash, type PasswordHash, verifyPassword } from "./password-hash.ts";

export interface ProxyUser {
  readonly name: string;
  /** `pbkdf2-sha256$…` as made by `tollgate auth hash`. */
  readonly passwordHash: string;
}

export type AuthResult = { readonly ok: true; readonly user: string } | { readonly ok: false; readonly reason: string };

export interface ProxyAuth {
  readonly realm: string;
  /** Checks a `Proxy-Authorization` value (Basic). */
  check(header: string | undefined): Promise<AuthResult>;
  /** The `Proxy-Authenticate` challenge for a 407. */
  readonly challenge: string;
}

/** The gateway's users, checked against Basic credentials from any header field. */
export interface BasicCredentials {
  /** Checks `header` (the value of `field`, for the reasons given: `Authorization`, …). */
  check(header: string | undefined, field: string): Promise<AuthResult>;
}

/** How long a verified credential is remembered (PBKDF2 is deliberately slow). */
const CACHE_MS = 5 * 60_000;
const CACHE_MAX = 1024;

/**
 * Basic authentication against hashed passwords. Successful checks are cached by the
 * SHA-256 of the header value (never the password itself) in a small bounded map, so a
 * keep-alive client does not pay a PBKDF2 derivation per request.
 */
export function createBasicCredentials(list: readonly ProxyUser[]): BasicCredentials {
  const users = new Map<string, PasswordHash>();
  for (const u of list) users.set(u.name, parsePasswordHash(u.passwordHash));
  const verified = new Map<string, { user: string; until: number }>();
  return {
    async check(header, field) {
      if (header === undefined) return { ok: false, reason: `no ${field}` };
      const m = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
      if (!m) return { ok: false, reason: `${field} is not Basic credentials` };
      const key = await digest(header);
      const hit = verified.get(key);
      if (hit && hit.until > Date.now()) return { ok: true, user: hit.user };
      let decoded: string;
      try {
        decoded = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(m[1] ?? ""), (c) => c.charCodeAt(0)));
      } catch {
        return { ok: false, reason: `${field} is not valid base64 UTF-8` };
      }
      const colon = decoded.indexOf(":");
      if (colon < 0) return { ok: false, reason: `${field} has no user:password` };
      const name = decoded.slice(0, colon);
      const stored = users.get(name);
      // unknown users cost a derivation too, so timing does not reveal which names exist
      const ok = await verifyPassword(decoded.slice(colon + 1), stored ?? DUMMY);
      if (!stored || !ok) return { ok: false, reason: `bad credentials for user ${JSON.stringify(name)}` };
      if (verified.size >= CACHE_MAX) verified.delete(verified.keys().next().value as string);
      verified.set(key, { user: name, until: Date.now() + CACHE_MS });
      return { ok: true, user: name };
    },
  };
}

/** A Basic challenge (`Proxy-Authenticate` / `WWW-Authenticate` value) for `realm`. */
export function basicChallenge(realm: string): string {
  return `Basic realm="${realm.replace(/["\\]/g, "")}", charset="UTF-8"`;
}

/**
 * Basic proxy authentication (`Proxy-Authorization`) for explicit listeners, checking
 * `credentials` (by default made from `options.users`; pass them to share their cache).
 */
export function createProxyAuth(
  options: { readonly realm: string; readonly users: readonly ProxyUser[] },
  credentials: BasicCredentials = createBasicCredentials(options.users),
): ProxyAuth {
  return {
    realm: options.realm.replace(/["\\]/g, ""),
    challenge: basicChallenge(options.realm),
    check: (header) => credentials.check(header, "Proxy-Authorization"),
  };
}

const DUMMY: PasswordHash = {
  iterations: 600_000,
  salt: new Uint8Array(16),
  hash: new Uint8Array(32),
};

async function digest(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let s = "";
  for (const b of d) s += b.toString(16).padStart(2, "0");
  return s;
}
