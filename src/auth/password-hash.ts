/**
 * Password hashes for proxy users: PBKDF2-HMAC-SHA-256 through WebCrypto, stored as
 * `pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>`. Never plain text.
 */

/** OWASP's 2023 recommendation for PBKDF2-HMAC-SHA-256. */
export const DEFAULT_ITERATIONS = 600_000;
/** The fewest PBKDF2 iterations a password hash may have. */
export const MIN_ITERATIONS = 100_000;
/** The most: a check costs ~1.3 s at this count. */
export const MAX_ITERATIONS = 10_000_000;
const PREFIX = "pbkdf2-sha256";

export interface PasswordHash {
  readonly iterations: number;
  readonly salt: Uint8Array<ArrayBuffer>;
  readonly hash: Uint8Array<ArrayBuffer>;
}

/** Parses a stored hash; throws SyntaxError naming what is wrong (never echoing the hash). */
export function parsePasswordHash(text: string): PasswordHash {
  const parts = text.split("$");
  if (parts.length !== 4 || parts[0] !== PREFIX) {
    throw new SyntaxError(`Expected "${PREFIX}$<iterations>$<salt>$<hash>" (make one with "tollgate auth hash")`);
  }
  const iterations = Number(parts[1]);
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new SyntaxError(`Iterations must be an integer from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}`);
  }
  const salt = fromBase64(parts[2] ?? "");
  const hash = fromBase64(parts[3] ?? "");
  if (salt.byteLength < 16) throw new SyntaxError("Salt must be at least 16 bytes");
  if (hash.byteLength !== 32) throw new SyntaxError("Hash must be 32 bytes");
  return { iterations, salt, hash };
}

/** Hashes `password` with a fresh random salt. */
export async function hashPassword(password: string, iterations = DEFAULT_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, iterations);
  return `${PREFIX}$${iterations}$${toBase64(salt)}$${toBase64(hash)}`;
}

/** True when `password` matches `stored` (constant-time comparison of the derived bytes). */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const got = await derive(password, stored.salt, stored.iterations);
  let diff = got.byteLength ^ stored.hash.byteLength;
  for (let i = 0; i < stored.hash.byteLength; i++) diff |= (got[i] ?? 0) ^ (stored.hash[i] ?? 0);
  return diff === 0;
}

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256));
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  let raw: string;
  try {
    raw = atob(text);
  } catch {
    throw new SyntaxError("Salt and hash must be base64");
  }
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}
