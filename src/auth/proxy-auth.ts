import { parsePasswordHash, type PasswordHash, verifyPassword } from "./password-hash.ts";
import { DEFAULT_SIGN_IN_LIMIT, type SignInCounts, type SignInLimit, SignInThrottle } from "./sign-in-throttle.ts";
import { DerivationGate, GateFullError, PROCESS_GATE } from "./derivation-gate.ts";
import { TaskGate } from "../core/task-gate.ts";
import { DirectoryUnavailableError, type DirectoryVerdict } from "./ldap/directory.ts";

/** Where passwords of users not in the local list are checked (an LDAP directory). */
export interface PasswordDirectory {
  /** @throws {DirectoryUnavailableError} when it cannot tell */
  verify(user: string, password: string): Promise<DirectoryVerdict>;
}

/** Directory checks under way at once in a process (each one a connection to the directory). */
const DIRECTORY_GATE_SLOTS = 16;
const DIRECTORY_GATE_QUEUE = 64;

export interface ProxyUser {
  readonly name: string;
  /** `pbkdf2-sha256$…` as made by `tollgate auth hash`. */
  readonly passwordHash: string;
  /** The groups rules may name for this user (any case; compared in lower case). */
  readonly groups?: readonly string[];
}

export type AuthResult =
  /** `groups`: the user's groups, lower case and sorted (local ones, or the directory's). */
  | { readonly ok: true; readonly user: string; readonly groups: readonly string[] }
  /**
   * `retryAfterMs`: not checked at all. Either too many attempts failed, from the client's
   * address or (`byUser`) in the name given (answer 429), or, with `busy`, too many checks are
   * under way in the process (answer 503).
   */
  | {
    readonly ok: false;
    readonly reason: string;
    readonly retryAfterMs?: number;
    readonly byUser?: true;
    readonly busy?: true;
    readonly unavailable?: true;
  };

export interface ProxyAuth {
  readonly realm: string;
  /** Checks a `Proxy-Authorization` value (Basic) sent by the client at `client` (its address). */
  check(header: string | undefined, client: string): Promise<AuthResult>;
  /** The `Proxy-Authenticate` challenge for a 407. */
  readonly challenge: string;
}

/** The gateway's users, checked against Basic credentials from any header field. */
export interface BasicCredentials {
  /**
   * Checks `header` (the value of `field`, for the reasons given: `Authorization`, …) sent
   * by the client at address `client`, whose failed attempts are limited.
   */
  check(header: string | undefined, field: string, client: string): Promise<AuthResult>;
  /** What it has learnt, for the credentials of a reloaded config to go on with. */
  readonly memory: SignInMemory;
}

/** Sign-ins verified (by the SHA-256 of the credentials' base64), and failures counted. */
export interface SignInMemory {
  readonly verified: Map<string, { readonly user: string; readonly groups: readonly string[]; readonly until: number }>;
  readonly throttle: SignInCounts;
}

/** How long a verified credential is remembered (PBKDF2 is deliberately slow). */
/** How long a client is told to wait when the directory cannot tell (`Retry-After`). */
export const DIRECTORY_RETRY_AFTER_MS = 5000;

const CACHE_MS = 5 * 60_000;
const CACHE_MAX = 1024;

/** Directory checks under way at once in this process, across reloads (password binds, certificate users' groups). */
export const DIRECTORY_GATE = new TaskGate(DIRECTORY_GATE_SLOTS, DIRECTORY_GATE_QUEUE, "directory checks");

/**
 * Basic authentication against hashed passwords. Successful checks are cached by the
 * SHA-256 of the credentials (never the password itself) in a small bounded map, so a
 * keep-alive client does not pay a PBKDF2 derivation per request. A derivation is only made
 * while the failed attempts from the client's address, and in the name given, are within
 * `limit` (see `sign-in-throttle.ts`); beyond it the answer is a refusal with `retryAfterMs`,
 * at no cost.
 *
 * With a `directory`, a name not in `list` is checked there (a bind as the user); the local
 * users come first, so a break-glass account still works while the directory is down. A
 * directory that cannot tell is not the client's failure: the answer is 503, not counted.
 *
 * `carried`: what earlier credentials learnt that still holds (see `gateway-users.ts`).
 */
export function createBasicCredentials(
  list: readonly ProxyUser[],
  limit: SignInLimit = DEFAULT_SIGN_IN_LIMIT,
  now?: () => number,
  gate: DerivationGate = PROCESS_GATE,
  directory?: PasswordDirectory,
  carried: Partial<SignInMemory> = {},
): BasicCredentials {
  const users = new Map<string, PasswordHash>();
  const localGroups = new Map<string, readonly string[]>();
  for (const u of list) {
    users.set(u.name, parsePasswordHash(u.passwordHash));
    localGroups.set(u.name, groupList(u.groups ?? []));
  }
  // an unknown name costs what a known one does: a derivation at a cost the users' hashes
  // have (one of them, picked by the name, when they differ), not a fixed one of its own
  const costs = [...new Set([...users.values()].map((h) => h.iterations))].sort((a, b) => a - b);
  const dummies = (costs.length > 0 ? costs : [600_000]).map((iterations): PasswordHash => ({ iterations, salt: new Uint8Array(16), hash: new Uint8Array(32) }));
  const dummyFor = (name: string) => dummies[nameNumber(name) % dummies.length]!;
  // directories match names regardless of case: "ROOT" must not reach the directory and come back as local "root"
  const localFolded = new Set(list.map((u) => u.name.toLowerCase()));
  const verified: SignInMemory["verified"] = carried.verified ?? new Map();
  const throttle = carried.throttle ?? new SignInThrottle(limit, now);
  // the users' credentials are current from here: a check made with them after a later
  // reload forgot a user's familiar addresses must not make one familiar again
  const since = throttle.epoch;
  return {
    memory: { verified, throttle },
    async check(header, field, client) {
      if (header === undefined) return { ok: false, reason: `no ${field}` };
      const m = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
      if (!m) return { ok: false, reason: `${field} is not Basic credentials` };
      // the credentials, not the header's spelling ("basic", spaces): one entry per sign-in
      const cacheKey = await digest(m[1] ?? "");
      const hit = verified.get(cacheKey);
      if (hit && hit.until > Date.now()) return { ok: true, user: hit.user, groups: hit.groups };
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
      // a failure is paid for before the derivation (so concurrent guesses count too), and
      // given back when it succeeds
      const attempt = await throttle.attempt(name, client, since);
      if (!attempt.ok) {
        const { reason, retryAfterMs } = attempt;
        if (attempt.by === "unavailable") return { ok: false, reason, retryAfterMs, busy: true, unavailable: true };
        return { ok: false, reason, retryAfterMs, ...(attempt.by === "user" ? { byUser: true as const } : {}) };
      }
      const password = decoded.slice(colon + 1);
      let refused: string | undefined;
      let unasked = false; // refused before the directory was asked: the name is not charged
      // a directory user is named in lower case, as the directory matches names (AD, uid)
      let user = name;
      let groups = localGroups.get(name) ?? [];
      try {
        if (stored || !directory || localFolded.has(name.toLowerCase())) {
          // unknown users cost a derivation too, so timing does not reveal which names exist
          const ok = await gate.run(() => verifyPassword(password, stored ?? dummyFor(name)));
          if (!stored || !ok) refused = `bad credentials for user ${JSON.stringify(name)}`;
        } else {
          const verdict = await DIRECTORY_GATE.run(() => directory.verify(name, password));
          if (!verdict.ok) {
            refused = `bad credentials for user ${JSON.stringify(name)}: ${verdict.reason}`;
            unasked = verdict.unasked === true;
          }
          else groups = verdict.groups;
          user = name.toLowerCase();
        }
      } catch (e) {
        attempt.uncounted(); // not the client's failure
        if (e instanceof DirectoryUnavailableError) return { ok: false, reason: `not checked: ${e.message}`, retryAfterMs: DIRECTORY_RETRY_AFTER_MS, busy: true, unavailable: true };
        if (!(e instanceof GateFullError)) throw e;
        return { ok: false, reason: `not checked: the gateway is busy checking other sign-ins (${e.message})`, retryAfterMs: 1000, busy: true };
      }
      if (refused !== undefined) {
        attempt.failed({ unasked });
        return { ok: false, reason: refused };
      }
      attempt.succeeded();
      if (verified.size >= CACHE_MAX) verified.delete(verified.keys().next().value as string);
      verified.set(cacheKey, { user, groups, until: Date.now() + CACHE_MS });
      return { ok: true, user, groups };
    },
  };
}

/** Group names as rules compare them: lower case, each once, sorted. */
export function groupList(names: readonly string[]): readonly string[] {
  return Object.freeze([...new Set(names.map((g) => g.toLowerCase()))].sort());
}

/**
 * The answer to a sign-in that was not checked (`retryAfterMs` set): `503` when the gateway is
 * busy checking others, `429` when the client failed too often; undefined for any other result.
 */
export function uncheckedAnswer(result: AuthResult): { readonly status: 429 | 503; readonly message: string; readonly retryAfter: string } | undefined {
  if (result.ok || result.retryAfterMs === undefined) return undefined;
  const retryAfter = String(Math.ceil(result.retryAfterMs / 1000));
  if (result.unavailable) return { status: 503, message: `Sign-ins cannot be checked now; retry after ${retryAfter} s`, retryAfter };
  return result.busy
    ? { status: 503, message: `Too many sign-ins are being checked; retry after ${retryAfter} s`, retryAfter }
    : { status: 429, message: `Too many failed sign-ins ${result.byUser ? "for this user" : "from this address"}; retry after ${retryAfter} s`, retryAfter };
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
    check: (header, client) => credentials.check(header, "Proxy-Authorization", client),
  };
}

/** A number of `name` (FNV-1a over its UTF-16 code units): the same name, the same number. */
function nameNumber(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

async function digest(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let s = "";
  for (const b of d) s += b.toString(16).padStart(2, "0");
  return s;
}
