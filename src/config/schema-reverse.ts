/**
 * Config schema for the reverse proxy's top-level `reverse` section (pools and routes), the
 * cross-checks between it and the listeners, and the conversion to the domain types of
 * `reverse/config-types.ts`. The listeners' own fields are in `schema-reverse-listener.ts`.
 * @module
 */
import * as v from "valibot";
import { pathPatternError } from "../policy/url-path.ts";
import { methodError } from "../policy/url-rules.ts";
import { backendUrlError } from "../reverse/backend.ts";
import { certificateNameError } from "../reverse/cert-store.ts";
import type { HostHeaderConfig, PoolConfig, ReverseConfig, RouteConfig } from "../reverse/config-types.ts";
import { headerEditsSchema, toEdits } from "./schema-header-edits.ts";
import { passthroughIssues, passthroughSchema, toPassthrough } from "./schema-passthrough.ts";
import { parsePathPrefix, pathPrefixError, routeHostError } from "../reverse/routes.ts";
import { parseHostPort } from "../protocol/http-authority.ts";
import { boolean, checkedString, cidrList, expected, filePath, ID_RE, ID_WHAT, id, integer, isPlainObject, object, ownString, record, unique } from "./schema-kit.ts";
import { groupNamesSchema } from "./schema-proxy-auth.ts";
import { groupNameProblem, userNameProblem } from "./rule-names.ts";
import { tlsVersion } from "./schema-reverse-listener.ts";

const methods = v.array(checkedString('an uppercase HTTP method like "GET"', methodError), expected("an array of HTTP methods"));

const hostHeaderSchema = v.lazy((input) =>
  isPlainObject(input)
    ? object({ set: checkedString('"host" or "host:port"', (t) => (parseHostPort(t, 80) ? undefined : `expected "host" or "host:port", got ${JSON.stringify(t)}`)) })
    : v.picklist(["preserve", "backend"], expected('"preserve", "backend" or {"set": "host:port"}'))
);

const healthCheckSchema = object({
  path: checkedString('a path starting with "/"', (p) => (/^\/[\x21-\x7e]*$/.test(p) ? undefined : `expected a path starting with "/", got ${JSON.stringify(p)}`)),
  host: v.optional(checkedString('"host" or "host:port"', (t) => (parseHostPort(t, 80) ? undefined : `expected "host" or "host:port", got ${JSON.stringify(t)}`))),
  intervalMs: v.optional(integer(100, 3_600_000), 10_000),
  timeoutMs: v.optional(integer(1, 600_000), 2_000),
  healthyThreshold: v.optional(integer(1, 100), 2),
  unhealthyThreshold: v.optional(integer(1, 100), 3),
});

const poolTlsSchema = v.pipe(
  object({
    caFile: v.optional(filePath),
    serverName: v.optional(checkedString("a server name", (n) => (certificateNameError(n) === undefined && !n.startsWith("*") ? undefined : `expected a server name, got ${JSON.stringify(n)}`))),
    clientCert: v.optional(filePath),
    clientKey: v.optional(filePath),
    minVersion: v.optional(tlsVersion, "TLSv1.2"),
  }),
  v.check((t) => (t.clientCert === undefined) === (t.clientKey === undefined), 'expected "clientCert" and "clientKey" together'),
);

const poolSchema = object({
  backends: v.pipe(
    v.array(checkedString('an "http://host:port" or "https://host:port" URL', backendUrlError), expected("an array of backend URLs")),
    v.check((list) => list.length > 0, "expected at least one backend, got an empty array"),
  ),
  tls: v.optional(poolTlsSchema, {}),
  connectTimeoutMs: v.optional(integer(1, 600_000)),
  timeoutMs: v.optional(integer(1, 86_400_000), 60_000),
  healthCheck: v.optional(healthCheckSchema),
  ejectAfterFailures: v.optional(integer(0, 1000), 1),
  ejectMs: v.optional(integer(0, 86_400_000), 10_000),
  /** How the available backends take turns. */
  balance: v.optional(v.picklist(["round-robin", "least-requests", "client-hash"], expected('"round-robin", "least-requests" or "client-hash"')), "round-robin"),
  /** Idle backend connections kept for any client's next request (`maxIdlePerBackend: 0`: none). */
  keepAlive: v.optional(object({
    maxIdlePerBackend: v.optional(integer(0, 10_000), 32),
    idleTimeoutMs: v.optional(integer(1, 3_600_000), 4_000),
    clientHoldMs: v.optional(integer(0, 600_000), 1_000),
  }), {}),
  /** The backends expect a PROXY protocol header (HAProxy's) first on every connection. */
  proxyProtocol: v.optional(v.picklist(["v1", "v2"], expected('"v1" or "v2"'))),
});

const denySchema = v.pipe(
  object({
    paths: v.optional(v.array(checkedString('a path pattern starting with "/"', pathPatternError), expected("an array of path patterns"))),
    methods: v.optional(methods),
  }),
  v.check((d) => (d.paths?.length ?? 0) + (d.methods?.length ?? 0) > 0, 'expected "paths" or "methods" (a deny rule without conditions would deny everything)'),
);

const routeSchema = object({
  id: v.optional(id),
  hosts: v.pipe(
    v.array(checkedString('a host name, "*.suffix" or "*"', routeHostError), expected("an array of host patterns")),
    v.check((h) => h.length > 0, 'expected at least one host pattern (use ["*"] for any host)'),
  ),
  pathPrefix: v.optional(checkedString('a path prefix starting with "/"', pathPrefixError), "/"),
  /** Replaces `pathPrefix` in the path the backend gets. */
  backendPrefix: v.optional(checkedString('a path prefix starting with "/"', pathPrefixError)),
  /** False: `pathPrefix` and deny `paths` match without regard to ASCII case (backends such as IIS). */
  caseSensitive: v.optional(boolean, true),
  methods: v.optional(methods),
  listeners: v.optional(v.array(v.string(expected("a listener name")), expected("an array of listener names"))),
  pool: checkedString(ID_WHAT, (t) => (ID_RE.test(t) ? undefined : `expected ${ID_WHAT}, got ${JSON.stringify(t)}`)),
  hostHeader: v.optional(hostHeaderSchema, "preserve"),
  requestHeaders: v.optional(headerEditsSchema, {}),
  responseHeaders: v.optional(headerEditsSchema, {}),
  deny: v.optional(v.array(denySchema, expected("an array of deny rules")), []),
  clients: v.optional(cidrList),
  /** HTTP Basic authentication of the route's requests, against the `proxyAuth` users: these users, or members of these groups. */
  basicAuth: v.optional(v.pipe(object({
    users: v.optional(v.array(v.string(expected("a user name")), expected("an array of user names")), []),
    groups: v.optional(groupNamesSchema, []),
    realm: v.optional(checkedString("a realm (printable text)", (t) => (/^[\x20-\x7e]{1,64}$/.test(t) ? undefined : `expected 1-64 printable ASCII characters, got ${JSON.stringify(t)}`))),
  }), v.check((a) => a.users.length + a.groups.length > 0, 'expected at least one user or group in "users" or "groups"'))),
  /** Token-bucket request rate limit of the route (per client address, or for the whole route). */
  rateLimit: v.optional(object({
    requestsPerSecond: v.pipe(
      v.number(expected("a number of requests per second, 0.001-1000000")),
      v.check((n) => Number.isFinite(n) && n >= 0.001 && n <= 1_000_000, expected("a number of requests per second, 0.001-1000000")),
    ),
    burst: v.optional(integer(1, 1_000_000)),
    per: v.optional(v.picklist(["client", "route"], expected('"client" or "route"')), "client"),
  })),
  log: v.optional(boolean, true),
});

/** The top-level `reverse` section: named backend pools and the routes to them. */
export const reverseSchema = object({
  pools: record(
    checkedString(ID_WHAT, (t) => (ID_RE.test(t) ? undefined : `expected a pool name (${ID_WHAT}), got ${JSON.stringify(t)}`)),
    poolSchema,
    'an object like {"app": {"backends": ["http://127.0.0.1:8080"]}}',
  ),
  routes: v.pipe(
    v.array(routeSchema, expected("an array of routes")),
    unique("id", "route id", (item, index) => ownString(item, "id", `route-${index + 1}`)),
  ),
  /** TLS connections routed by SNI to a pool without being terminated. */
  passthrough: v.optional(passthroughSchema, []),
  /** What visitors see of the gateway's own error answers (`reverse/error-pages.ts`). */
  errorPages: v.optional(object({
    template: v.optional(filePath),
    detailsFor: v.optional(cidrList, []),
  }), {}),
});

type Issue = { message: string; path: [string | number, unknown][] };

/**
 * Whole-config checks: a reverse listener needs the `reverse` section; routes name existing
 * pools and reverse listeners; `mint` needs a CA; passthrough routes (`passthroughIssues`).
 */
export function reverseReferences<T>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const config: unknown = dataset.value;
    if (!isPlainObject(config)) return;
    const listeners = Array.isArray(config["listeners"]) ? (config["listeners"] as unknown[]) : [];
    const reverse = config["reverse"];
    const issues: Issue[] = [];
    const reverseNames = new Set<string>();
    listeners.forEach((l, i) => {
      if (!isPlainObject(l) || (l["mode"] !== "reverse" && l["mode"] !== "explicit")) return;
      const tls = l["tls"];
      if (isPlainObject(tls) && Array.isArray(tls["mint"]) && tls["mint"].length > 0 && config["ca"] === undefined) {
        issues.push({ message: 'a CA is required to mint certificates; configure "ca" (run "tollgate ca init")', path: [["ca", undefined]] });
      }
      if (l["mode"] !== "reverse") return;
      const name = ownString(l, "name", `listener-${i + 1}`);
      if (name !== undefined) reverseNames.add(name);
      if (reverse === undefined) issues.push({ message: 'a reverse listener needs a "reverse" section with pools and routes', path: [["reverse", undefined]] });
    });
    if (isPlainObject(reverse) && Array.isArray(reverse["routes"])) {
      const pools = isPlainObject(reverse["pools"]) ? reverse["pools"] : {};
      const routes = reverse["routes"] as unknown[];
      routes.forEach((r, i) => {
        if (!isPlainObject(r)) return;
        const pool = r["pool"];
        if (typeof pool === "string" && !Object.hasOwn(pools, pool)) {
          issues.push({ message: `no pool named ${JSON.stringify(pool)}`, path: [["reverse", reverse], ["routes", routes], [i, r], ["pool", pool]] });
        }
        const auth = r["basicAuth"];
        for (const [field, problemOf] of [["users", userNameProblem(config, "reverse", r["listeners"])], ["groups", groupNameProblem(config)]] as const) {
          const names = isPlainObject(auth) ? auth[field] : undefined;
          if (!Array.isArray(names)) continue;
          names.forEach((name: unknown, j) => {
            const message = typeof name === "string" ? problemOf(name) : undefined;
            if (message !== undefined) issues.push({ message, path: [["reverse", reverse], ["routes", routes], [i, r], ["basicAuth", auth], [field, names], [j, name]] });
          });
        }
        const names = r["listeners"];
        if (Array.isArray(names)) {
          names.forEach((n: unknown, j) => {
            if (typeof n === "string" && !reverseNames.has(n)) {
              issues.push({ message: `no reverse listener named ${JSON.stringify(n)}`, path: [["reverse", reverse], ["routes", routes], [i, r], ["listeners", names], [j, n]] });
            }
          });
        }
      });
    }
    if (isPlainObject(reverse)) {
      for (const p of passthroughIssues(config, reverse)) issues.push({ message: p.message, path: [["reverse", reverse], ...p.path] });
    }
    const seen = new Set<string>();
    for (const issue of issues) {
      const key = issue.message + issue.path.map(([k]) => String(k)).join(".");
      if (seen.has(key)) continue;
      seen.add(key);
      let input: unknown = config;
      const [first, ...rest] = issue.path.map(([key, value]) => {
        const item = typeof key === "number"
          ? { type: "array" as const, origin: "value" as const, input: input as unknown[], key, value }
          : { type: "object" as const, origin: "value" as const, input: input as Record<string, unknown>, key, value };
        input = value;
        return item;
      });
      if (first) addIssue({ message: issue.message, path: [first, ...rest] });
    }
  });
}

type WireReverse = v.InferOutput<typeof reverseSchema>;
type WireHostHeader = v.InferOutput<typeof hostHeaderSchema>;

/** The domain form of the `reverse` section; pools without `connectTimeoutMs` take `defaultConnectTimeoutMs`. */
export function toReverseConfig(wire: WireReverse, defaultConnectTimeoutMs: number): ReverseConfig {
  const pools: Record<string, PoolConfig> = {};
  for (const [name, p] of Object.entries(wire.pools)) {
    pools[name] = {
      backends: [...p.backends],
      tls: {
        ...(p.tls.caFile === undefined ? {} : { caFile: p.tls.caFile }),
        ...(p.tls.serverName === undefined ? {} : { serverName: p.tls.serverName.toLowerCase() }),
        ...(p.tls.clientCert === undefined ? {} : { clientCert: p.tls.clientCert }),
        ...(p.tls.clientKey === undefined ? {} : { clientKey: p.tls.clientKey }),
        minVersion: p.tls.minVersion,
      },
      connectTimeoutMs: p.connectTimeoutMs ?? defaultConnectTimeoutMs,
      timeoutMs: p.timeoutMs,
      ...(p.healthCheck ? { healthCheck: { ...p.healthCheck } } : {}),
      ejectAfterFailures: p.ejectAfterFailures,
      ejectMs: p.ejectMs,
      balance: p.balance,
      keepAlive: { ...p.keepAlive },
      ...(p.proxyProtocol === undefined ? {} : { proxyProtocol: p.proxyProtocol }),
    };
  }
  const routes = wire.routes.map((r, i): RouteConfig => ({
    id: r.id ?? `route-${i + 1}`,
    hosts: [...r.hosts],
    pathPrefix: r.pathPrefix,
    ...(r.backendPrefix !== undefined ? { backendPrefix: parsePathPrefix(r.backendPrefix) } : {}),
    ...(r.caseSensitive ? {} : { caseSensitive: false }),
    ...(r.methods ? { methods: [...r.methods] } : {}),
    ...(r.listeners ? { listeners: [...r.listeners] } : {}),
    pool: r.pool,
    hostHeader: toHostHeader(r.hostHeader),
    requestHeaders: toEdits(r.requestHeaders),
    responseHeaders: toEdits(r.responseHeaders),
    deny: r.deny.map((d) => ({ ...(d.paths ? { paths: [...d.paths] } : {}), ...(d.methods ? { methods: [...d.methods] } : {}) })),
    ...(r.clients ? { clients: [...r.clients] } : {}),
    ...(r.basicAuth ? { basicAuth: { users: [...r.basicAuth.users], groups: [...r.basicAuth.groups], realm: r.basicAuth.realm ?? r.id ?? `route-${i + 1}` } } : {}),
    ...(r.rateLimit
      ? {
        rateLimit: {
          requestsPerSecond: r.rateLimit.requestsPerSecond,
          burst: r.rateLimit.burst ?? Math.max(1, Math.ceil(r.rateLimit.requestsPerSecond)),
          per: r.rateLimit.per,
        },
      }
      : {}),
    log: r.log,
  }));
  const { template, detailsFor } = wire.errorPages;
  return {
    pools,
    routes,
    passthrough: toPassthrough(wire.passthrough),
    errorPages: { ...(template === undefined ? {} : { template }), detailsFor: [...detailsFor] },
  };
}

function toHostHeader(h: WireHostHeader): HostHeaderConfig {
  return typeof h === "string" ? h : { set: h.set };
}

