/**
 * The reverse proxy's routing table: which route a request takes, by host, path prefix,
 * method and listener.
 *
 * Precedence, most specific first (Envoy-like): the host match (an exact name or IP, then
 * `*.suffix` with the longer suffix first, then `*`), then the longest path prefix, then a
 * route that lists methods over one that does not, then definition order. Prefixes match at
 * segment boundaries: `/api` matches `/api`, `/api/` and `/api/v1`, never `/apix`; a
 * trailing `/` in a prefix is ignored. A route with `caseSensitive: false` takes its prefix (and
 * its deny rules' paths) without regard to ASCII case, for backends that do not tell `/Admin`
 * from `/admin`: then `/ADMIN/x` takes the `/admin` route, with its client list and deny rules,
 * rather than a broader one.
 *
 * Paths are matched normalised (`url-path.ts`: dot-segments resolved, unreserved escapes
 * decoded). When the lenient reading of a path (`%2F`, `\`, `;` read as separators) would
 * take another route, the request is refused as ambiguous: a route's client allow list or
 * deny rules cannot be dodged with `/public/..%2Fadmin`.
 *
 * @example
 * ```ts
 * const table = new RouteTable([apiRoute, siteRoute]);
 * table.resolve({ host: normalizeHost("a.example"), target: "/api/v1?x", method: "GET", listener: "web" });
 * // { kind: "route", route: <apiRoute compiled>, path: "/api/v1" }
 * ```
 * @module
 */
import { anyCidrContains, type Cidr, IpScratch } from "../core/ip.ts";
import { type HostPattern, hostPatternMatches, parseClientCidr, parseHostPattern } from "../policy/host-pattern.ts";
import type { Host, UrlPolicy } from "../policy/types.ts";
import { foldPathCase, normalizeUrlPath, parsePathPattern } from "../policy/url-path.ts";
import { compileUrlRules } from "../policy/url-rules.ts";
import type { RouteConfig } from "./config-types.ts";

/**
 * Parse a route host pattern: an exact name or IP literal, `*.suffix` (strict subdomains at
 * any depth) or `*`.
 *
 * @throws {TypeError} for anything else (including `.domain` and CIDRs)
 */
export function parseRouteHost(pattern: string): HostPattern {
  const p = parseHostPattern(pattern);
  if (p.kind === "domain" || p.kind === "cidr") {
    throw new TypeError(`expected a host name, an IP address, "*.suffix" or "*", got ${JSON.stringify(pattern)}`);
  }
  return p;
}

/** `undefined` when `pattern` is a valid route host, else the reason. */
export function routeHostError(pattern: string): string | undefined {
  try {
    parseRouteHost(pattern);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Parse a path prefix (starts with `/`, no `*`, `?`, `#`, `.` or `..` segments) into its
 * normalised form without a trailing `/` (except the root `/`).
 *
 * @throws {SyntaxError} naming the prefix
 */
export function parsePathPrefix(text: string, foldCase = false): string {
  if (typeof text === "string" && text.includes("*")) throw new SyntaxError(`expected a path prefix without "*", got ${JSON.stringify(text)}`);
  const p = parsePathPattern(text, foldCase);
  if (p.kind !== "prefix") throw new SyntaxError(`expected a path prefix, got ${JSON.stringify(text)}`);
  const prefix = p.prefix.replace(/\/+$/, "");
  return prefix === "" ? "/" : prefix;
}

/** `undefined` when `text` is a valid path prefix, else the reason. */
export function pathPrefixError(text: string): string | undefined {
  try {
    parsePathPrefix(text);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** True when the normalised `path` is `prefix` or below it (segment boundary). */
export function pathHasPrefix(path: string, prefix: string): boolean {
  if (prefix === "/") return path.startsWith("/");
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || path.charCodeAt(prefix.length) === 47;
}

/** A route ready to match, with its access rules compiled. */
export interface CompiledRoute {
  readonly id: string;
  readonly config: RouteConfig;
  readonly hosts: readonly HostPattern[];
  /** Normalised prefix (see {@link parsePathPrefix}); in lower case when {@link foldCase}. */
  readonly prefix: string;
  /** `caseSensitive: false`: the prefix matches the path read by `foldPathCase`. */
  readonly foldCase: boolean;
  readonly methods: ReadonlySet<string> | undefined;
  readonly listeners: ReadonlySet<string> | undefined;
  /** The route's deny rules as url rules (ids `<route>.deny-<n>`); undefined without any. */
  readonly deny: UrlPolicy | undefined;
  /** Client allow list; undefined = everyone. */
  readonly clients: readonly Cidr[] | undefined;
  readonly index: number;
}

/** What a request is matched on. */
export interface RouteQuery {
  /** Normalised host from `Host` (or the absolute-form target); undefined when the request named none. */
  readonly host: Host | undefined;
  /** The request target (origin-form, query allowed). */
  readonly target: string;
  readonly method: string;
  readonly listener: string;
}

/** The outcome of {@link RouteTable.resolve}. */
export type RouteResult =
  | {
    readonly kind: "route";
    readonly route: CompiledRoute;
    readonly path: string;
    /** The target had dot-segments, which `path` has resolved (see `NormalizedPath.dotSegments`). */
    readonly dotSegments?: true;
  }
  | { readonly kind: "none"; readonly path: string }
  | { readonly kind: "bad-path"; readonly reason: string };

/** Specificity of a host pattern match: higher is more specific; -1 = no match. */
export function hostScore(p: HostPattern, host: Host | undefined, ip: Uint8Array | undefined): number {
  if (p.kind === "any") return 0;
  if (host === undefined || !hostPatternMatches(p, host, ip)) return -1;
  if (p.kind === "subdomains") return 1 + p.suffix.length;
  return 1000; // exact name or IP: beats any suffix (names are at most 253 characters)
}

/** The compiled routes of a `reverse` section. */
export class RouteTable {
  readonly routes: readonly CompiledRoute[];
  readonly #scratch = new IpScratch(); // the host's address, for one match() at a time

  constructor(routes: readonly RouteConfig[]) {
    this.routes = routes.map((r, index) => compileRoute(r, index));
  }

  /** The most specific route for a normalised path, or undefined. */
  match(host: Host | undefined, path: string, method: string, listener: string): CompiledRoute | undefined {
    const ip = host && host.kind !== "dns" ? this.#scratch.parse(host.address) : undefined;
    let best: CompiledRoute | undefined;
    let bestKey: readonly number[] = [];
    let folded: string | undefined;
    for (const r of this.routes) {
      if (r.listeners && !r.listeners.has(listener)) continue;
      if (r.methods && !r.methods.has(method)) continue;
      if (!pathHasPrefix(r.foldCase ? (folded ??= foldPathCase(path)) : path, r.prefix)) continue;
      let hs = -1;
      for (const p of r.hosts) hs = Math.max(hs, hostScore(p, host, ip));
      if (hs < 0) continue;
      const key = [hs, r.prefix === "/" ? 0 : r.prefix.length, r.methods ? 1 : 0, -r.index];
      if (!best || greater(key, bestKey)) {
        best = r;
        bestKey = key;
      }
    }
    return best;
  }

  /** Normalises the target's path and finds its route (refusing paths whose readings disagree). */
  resolve(q: RouteQuery): RouteResult {
    let normal;
    try {
      normal = normalizeUrlPath(q.target);
    } catch (e) {
      return { kind: "bad-path", reason: `Invalid request path: ${e instanceof Error ? e.message : String(e)}` };
    }
    const method = q.method.toUpperCase();
    const route = this.match(q.host, normal.path, method, q.listener);
    if (normal.lenient !== undefined && this.match(q.host, normal.lenient, method, q.listener) !== route) {
      return { kind: "bad-path", reason: `Ambiguous request path ${JSON.stringify(normal.path)}: read with "%2F", "\\" or ";" as separators, or "//" as "/", it takes another route` };
    }
    if (!route) return { kind: "none", path: normal.path };
    return normal.dotSegments ? { kind: "route", route, path: normal.path, dotSegments: true } : { kind: "route", route, path: normal.path };
  }
}

function greater(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return false;
}

function compileRoute(r: RouteConfig, index: number): CompiledRoute {
  const deny = r.deny.length === 0
    ? undefined
    : compileUrlRules(r.deny.map((d, i) => ({
      id: `${r.id}.deny-${i + 1}`,
      ...(d.paths ? { paths: d.paths, ...(r.caseSensitive === false ? { caseSensitive: false } : {}) } : {}),
      ...(d.methods ? { methods: d.methods } : {}),
      action: "deny" as const,
      log: true,
    })));
  return {
    id: r.id,
    config: r,
    hosts: r.hosts.map(parseRouteHost),
    prefix: parsePathPrefix(r.pathPrefix, r.caseSensitive === false),
    foldCase: r.caseSensitive === false,
    methods: r.methods ? new Set(r.methods) : undefined,
    listeners: r.listeners ? new Set(r.listeners) : undefined,
    deny,
    clients: r.clients ? r.clients.map(parseClientCidr) : undefined,
    index,
  };
}

/** True when `ip` (text) is in one of `cidrs`. */
export function clientAllowed(cidrs: readonly Cidr[], ip: string): boolean {
  return anyCidrContains(cidrs, ip);
}
