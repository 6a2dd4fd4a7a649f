/**
 * Access control of the admin API: a Bearer token compared in constant time, and, when no
 * token is configured, a Host-header check that keeps DNS-rebinding pages away from a
 * loopback admin listener.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { jsonError } from "./http.ts";

/** `WWW-Authenticate` realm of the admin API. */
export const AUTH_REALM = "tollgate-admin";

const encoder = new TextEncoder();

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * Compares two secrets in time independent of where they differ: both are hashed (SHA-256,
 * so lengths leak nothing either) and the digests compared with a full XOR scan.
 *
 * @example
 * ```ts
 * await tokensEqual("s3cret", "s3cret"); // true
 * ```
 */
export async function tokensEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** The token of an `Authorization: Bearer <token>` header, or `undefined`. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/**
 * Middleware refusing requests without `Authorization: Bearer <token>` (401 with
 * `WWW-Authenticate: Bearer …`, JSON body). Paths in `open` pass without a token.
 */
export function bearerAuth(token: string, open: ReadonlySet<string>): MiddlewareHandler {
  return async (c, next) => {
    if (open.has(c.req.path)) return await next();
    const header = c.req.header("authorization");
    const given = bearerToken(header);
    if (given === undefined) {
      const challenge = header === undefined ? `Bearer realm="${AUTH_REALM}"` : `Bearer realm="${AUTH_REALM}", error="invalid_request"`;
      return jsonError(401, header === undefined ? "missing bearer token" : "malformed Authorization header (expected \"Bearer <token>\")", {
        "www-authenticate": challenge,
      });
    }
    if (!(await tokensEqual(given, token))) {
      return jsonError(401, "invalid bearer token", { "www-authenticate": `Bearer realm="${AUTH_REALM}", error="invalid_token"` });
    }
    return await next();
  };
}

const LOOPBACK_NAMES = new Set(["localhost", "localhost.", "ip6-localhost"]);

/** The host part of a Host header value (`"[::1]:9090"` → `"[::1]"`, `"a.b:1"` → `"a.b"`), lowercase. */
function hostOnly(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end < 0 ? h : h.slice(0, end + 1);
  }
  const colon = h.lastIndexOf(":");
  return colon < 0 ? h : h.slice(0, colon);
}

/**
 * True when a Host header names the admin listener directly: an IP literal, `localhost`, or
 * one of `extra` (lowercase names). A web page on another origin that rebinds its own name
 * to 127.0.0.1 sends its own name and is refused.
 */
export function isDirectHost(header: string | undefined, extra: ReadonlySet<string>): boolean {
  if (header === undefined || header === "") return false;
  const host = hostOnly(header);
  if (LOOPBACK_NAMES.has(host) || extra.has(host)) return true;
  if (host.startsWith("[") && host.endsWith("]")) return /^[0-9a-f:.]+$/.test(host.slice(1, -1));
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

/**
 * Middleware for an admin API without a token: refuses (403) requests whose Host header is
 * a DNS name other than `localhost` or `allowedHosts` (DNS rebinding).
 */
export function hostGuard(allowedHosts: readonly string[]): MiddlewareHandler {
  const extra = new Set(allowedHosts.map((h) => h.toLowerCase()));
  return async (c, next) => {
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    if (!isDirectHost(host, extra)) {
      return jsonError(403, `host ${JSON.stringify(host)} not allowed: use an IP address or localhost, or configure an admin token`);
    }
    return await next();
  };
}

/**
 * Refuses a state-changing request (not GET, HEAD or OPTIONS) a web page on another origin
 * made: the browser says so in `Sec-Fetch-Site`, or names that origin in `Origin`. Such a
 * request needs no CORS preflight when it is a simple POST, so without a token (loopback
 * only, where any page the admin opens could send one) the API would act on it. Tools (curl,
 * scripts) send neither field and are not affected.
 */
export function crossSiteGuard(): MiddlewareHandler {
  return async (c, next) => {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD" || method === "OPTIONS") return await next();
    const site = c.req.header("sec-fetch-site")?.toLowerCase();
    const origin = c.req.header("origin");
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    // a browser that says where the request came from is believed (a proxy in front may
    // rewrite Host, so Origin would not match it); Origin is compared only without it
    let foreign = site !== undefined && site !== "same-origin" && site !== "none";
    if (site === undefined && origin !== undefined) {
      try {
        foreign = new URL(origin).host.toLowerCase() !== host.toLowerCase();
      } catch {
        foreign = true; // "null" (a sandboxed frame, a file: page) or garbage
      }
    }
    if (foreign) return jsonError(403, `a ${method} from another site (${origin ?? site}) is refused: send it from the dashboard or a tool`);
    return await next();
  };
}
