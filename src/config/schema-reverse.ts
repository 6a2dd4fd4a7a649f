/**
 * Config schema for the reverse proxy: the fields of `"reverse"` and `"redirect-https"`
 * listeners, the top-level `reverse` section (pools and routes), the cross-checks between
 * them, and the conversion to the domain types of `reverse/config-types.ts`.
 * @module
 */
import * as v from "valibot";
import type { ListenerBase } from "./listener-base.ts";
import { pathPatternError } from "../policy/url-path.ts";
import { methodError } from "../policy/url-rules.ts";
import { backendUrlError } from "../reverse/backend.ts";
import { certificateNameError, mintPatternError } from "../reverse/cert-store.ts";
import type {
  HostHeaderConfig,
  PoolConfig,
  RedirectHttpsListenerConfig,
  ReverseConfig,
  ReverseListenerConfig,
  ReverseTlsConfig,
  RouteConfig,
} from "../reverse/config-types.ts";
import { headerEditsSchema, toEdits } from "./schema-header-edits.ts";
import { passthroughIssues, passthroughSchema, toPassthrough } from "./schema-passthrough.ts";
import { parsePathPrefix, pathPrefixError, routeHostError } from "../reverse/routes.ts";
import { parseHostPort } from "../protocol/http-authority.ts";
import { boolean, checkedString, cidrList, expected, filePath, ID_RE, ID_WHAT, id, integer, isPlainObject, object, ownString, unique } from "./schema-kit.ts";
import { groupNamesSchema } from "./schema-proxy-auth.ts";
import { groupNameProblem, userNameProblem } from "./rule-names.ts";

const tlsVersion = v.picklist(["TLSv1.2", "TLSv1.3"], expected('"TLSv1.2" or "TLSv1.3"'));
const methods = v.array(checkedString('an uppercase HTTP method like "GET"', methodError), expected("an array of HTTP methods"));

const certificateSchema = v.pipe(
  object({
    cert: filePath,
    key: filePath,
    /** Names the certificate is served for; default: its subjectAltName DNS names. */
    names: v.optional(v.array(checkedString('a server name or "*.suffix"', certificateNameError), expected("an array of server names"))),
    /** The certificate for unknown names (default: the first). */
    default: v.optional(boolean, false),
  }),
  v.check((c) => c.cert !== c.key, 'expected "key" to be a file other than "cert"'),
);

/**
 * `tls.clientCertificates` of an HTTPS proxy or reverse listener: clients sign in with a
 * certificate from `caFile` (mutual TLS), checked against `crlFile` when given.
 */
const clientCertificatesSchema = object({
  /** PEM: the CA certificates that issue client certificates (an intermediate must be here itself). */
  caFile: filePath,
  /** PEM: CRLs of those CAs; with it, every client certificate is checked against its issuer's. */
  crlFile: v.optional(filePath),
  /** false: a client without a certificate goes on to `proxyAuth` (or none); one with a bad certificate is still refused. */
  required: v.optional(boolean, true),
  /** Where the user name is taken from (as written): the subject's CN, its e-mail address, or its Microsoft UPN. */
  user: v.optional(v.picklist(["cn", "email", "upn"], expected('"cn", "email" or "upn"')), "cn"),
  /** Reverse listeners: the backend gets the verified certificate in `Client-Cert` (RFC 9440). */
  forwardCertificate: v.optional(boolean, false),
});

/** A reverse listener's `tls`: certificates and what to do with unknown names. */
const reverseTlsSchema = v.pipe(
  object({
    certificates: v.optional(v.array(certificateSchema, expected("an array of certificates")), []),
    unknownSni: v.optional(v.picklist(["default", "refuse"], expected('"default" or "refuse"')), "default"),
    mint: v.optional(v.array(checkedString('a host name or "*.suffix"', mintPatternError), expected("an array of host patterns")), []),
    minVersion: v.optional(tlsVersion, "TLSv1.2"),
    clientCertificates: v.optional(clientCertificatesSchema),
  }),
  v.check((t) => t.certificates.filter((c) => c.default).length <= 1, "expected at most one certificate marked \"default\""),
  v.check(
    (t) => t.certificates.length > 0 || (t.unknownSni === "refuse" && t.mint.length > 0),
    'expected at least one certificate (without any, "unknownSni" must be "refuse" and "mint" must name hosts)',
  ),
);

/** Fields of `reverse` and `redirect-https` listeners, spread into the listener object. */
export const reverseListenerFields = {
  /** reverse: TLS settings, or false for plain HTTP. Required. explicit: TLS to the proxy itself (an HTTPS proxy); absent or false: plain. */
  tls: v.optional(v.lazy((input) => (isPlainObject(input) ? reverseTlsSchema : v.literal(false, expected('{"certificates": […]} or false (plain HTTP)'))))),
  /** reverse: proxies whose X-Forwarded-* / Forwarded fields are believed. explicit: child proxies whose X-Forwarded-For names the client. */
  trustForwardedFrom: v.optional(cidrList),
  /** reverse: proxies whose X-Forwarded-User / Client-Cert fields reach backends (where the gateway signs no one in). */
  trustIdentityFrom: v.optional(cidrList),
  /** redirect-https: the port in the Location URL (default 443). */
  httpsPort: v.optional(integer(1, 65535)),
};

/** The modes each reverse listener field is valid for (merged into the listener schema's table). */
export const REVERSE_FIELD_MODES: Readonly<Record<string, readonly string[]>> = {
  tls: ["reverse", "explicit"],
  trustForwardedFrom: ["reverse", "explicit"],
  trustIdentityFrom: ["reverse"],
  httpsPort: ["redirect-https"],
};

/** Reports a `reverse` listener without `tls` (at `tls`). */
export function reverseListenerRequired<T>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const listener: unknown = dataset.value;
    if (!isPlainObject(listener) || listener["mode"] !== "reverse" || listener["tls"] !== undefined) return;
    addIssue({
      message: 'required for reverse listeners: {"certificates": [{"cert": "…", "key": "…"}]}, or false for plain HTTP',
      path: [{ type: "object", origin: "value", input: listener, key: "tls", value: undefined }],
    });
  });
}

/** Reports `tls.clientCertificates.forwardCertificate` on an HTTPS proxy listener: it has no backend to give it to. */
export function forwardCertificateReverseOnly<T>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const listener: unknown = dataset.value;
    if (!isPlainObject(listener) || listener["mode"] !== "explicit") return;
    const tls = listener["tls"];
    const certs = isPlainObject(tls) ? tls["clientCertificates"] : undefined;
    if (!isPlainObject(tls) || !isPlainObject(certs) || certs["forwardCertificate"] !== true) return;
    addIssue({
      message: "forwardCertificate is for reverse listeners, which have backends to give the certificate to; an HTTPS proxy listener signs the user in with it",
      path: [
        { type: "object", origin: "value", input: listener, key: "tls", value: tls },
        { type: "object", origin: "value", input: tls, key: "clientCertificates", value: certs },
        { type: "object", origin: "value", input: certs, key: "forwardCertificate", value: true },
      ],
    });
  });
}

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
  pools: v.pipe(
    v.custom<Record<string, unknown>>(isPlainObject, expected('an object like {"app": {"backends": ["http://127.0.0.1:8080"]}}')),
    v.record(checkedString(ID_WHAT, (t) => (ID_RE.test(t) ? undefined : `expected a pool name (${ID_WHAT}), got ${JSON.stringify(t)}`)), poolSchema),
  ),
  routes: v.pipe(
    v.array(routeSchema, expected("an array of routes")),
    unique("id", "route id", (item, index) => ownString(item, "id", `route-${index + 1}`)),
  ),
  /** TLS connections routed by SNI to a pool without being terminated. */
  passthrough: v.optional(passthroughSchema, []),
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

type WireTls = v.InferOutput<typeof reverseTlsSchema>;
type WireReverse = v.InferOutput<typeof reverseSchema>;
type WireHostHeader = v.InferOutput<typeof hostHeaderSchema>;

/** The domain form of a `reverse` listener. */
export function toReverseListener(
  base: ListenerBase,
  tls: WireTls | false | undefined,
  trustForwardedFrom: readonly string[] | undefined,
  trustIdentityFrom: readonly string[] | undefined,
): ReverseListenerConfig {
  return {
    ...base,
    mode: "reverse",
    tls: tls ? toListenerTls(tls) : null,
    trustForwardedFrom: [...(trustForwardedFrom ?? [])],
    trustIdentityFrom: [...(trustIdentityFrom ?? [])],
  };
}

/** The domain form of a `redirect-https` listener. */
export function toRedirectListener(
  base: ListenerBase,
  httpsPort: number | undefined,
): RedirectHttpsListenerConfig {
  return { ...base, mode: "redirect-https", httpsPort: httpsPort ?? 443 };
}

/** The domain form of a listener's `tls` (a reverse listener's, an HTTPS proxy's). */
export function toListenerTls(t: WireTls): ReverseTlsConfig {
  const marked = t.certificates.findIndex((c) => c.default);
  return {
    certificates: t.certificates.map((c) => ({ cert: c.cert, key: c.key, ...(c.names ? { names: [...c.names] } : {}) })),
    defaultCertificate: marked < 0 ? 0 : marked,
    unknownSni: t.unknownSni,
    mint: [...t.mint],
    minVersion: t.minVersion,
    ...(t.clientCertificates ? { clientCertificates: { ...t.clientCertificates } } : {}),
  };
}

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
  return { pools, routes, passthrough: toPassthrough(wire.passthrough) };
}

function toHostHeader(h: WireHostHeader): HostHeaderConfig {
  return typeof h === "string" ? h : { set: h.set };
}

