/**
 * Domain config of the reverse proxy: the `reverse` and `redirect-https` listener kinds and
 * the top-level `reverse` section (backend pools and routes). Built by `parseConfig` from the
 * wire shape in `config/schema-reverse.ts`; deeply frozen like the rest of the config.
 * @module
 */
import type { HeaderEditsConfig } from "../protocol/header-edits.ts";
import type { ProxyProtocolVersion } from "../protocol/proxy-header-write.ts";
import type { ListenerBase } from "../config/listener-base.ts";

/** A TLS protocol version floor. */
export type ReverseTlsVersion = "TLSv1.2" | "TLSv1.3";

/** One certificate a reverse listener serves: PEM files, and the names it is selected for. */
export interface ReverseCertificateConfig {
  /** PEM file: the leaf certificate followed by its intermediates. */
  readonly cert: string;
  /** PEM file: the unencrypted private key of the leaf. */
  readonly key: string;
  /**
   * Server names it is served for: exact names and `*.suffix` (one label, as in the
   * certificate). Absent: the DNS names in the certificate's subjectAltName.
   */
  readonly names?: readonly string[];
}

/**
 * What a reverse listener does with a ClientHello whose SNI (or the lack of one) matches no
 * certificate and no `mint` pattern: serve the default certificate, or refuse the handshake
 * with an `unrecognized_name` alert.
 */
export type UnknownSniAction = "default" | "refuse";

/** TLS termination settings of a reverse listener. */
export interface ReverseTlsConfig {
  /** In selection order for equal specificity; may be empty only with `unknownSni: "refuse"`. */
  readonly certificates: readonly ReverseCertificateConfig[];
  /** Index in `certificates` of the default certificate (the one marked `default`, else 0). */
  readonly defaultCertificate: number;
  /** Default `"default"`. */
  readonly unknownSni: UnknownSniAction;
  /**
   * Host patterns (exact or `*.suffix`) for which a certificate is minted by the gateway CA
   * when no configured certificate matches the SNI. Requires `ca`.
   */
  readonly mint: readonly string[];
  /** Oldest TLS version accepted from clients (default "TLSv1.2"). */
  readonly minVersion: ReverseTlsVersion;
  /** Clients sign in with certificates (mutual TLS). */
  readonly clientCertificates?: ClientCertificatesConfig;
}

/** `tls.clientCertificates` of an HTTPS proxy or reverse listener. */
export interface ClientCertificatesConfig {
  /** PEM file of the CAs whose certificates are accepted (each one a trust anchor). */
  readonly caFile: string;
  /** PEM file of their CRLs; when given, every certificate is checked against its issuer's. */
  readonly crlFile?: string;
  /** true: a client without a valid certificate is refused; false: one without any goes on to `proxyAuth`. */
  readonly required: boolean;
  /** The certificate field the user name is taken from. */
  readonly user: ClientCertificateUserField;
  /** Reverse listeners: backends get the verified certificate in `Client-Cert` (RFC 9440). */
  readonly forwardCertificate: boolean;
}

/** `cn`: the subject's common name; `email`: its e-mail address (SAN, else subject); `upn`: its Microsoft UPN (SAN otherName). */
export type ClientCertificateUserField = "cn" | "email" | "upn";

/** A reverse proxy listener: terminates TLS (unless `tls` is null) and routes requests to backend pools. */
export interface ReverseListenerConfig extends ListenerBase {
  readonly mode: "reverse";
  /** null: plain HTTP (e.g. behind a load balancer that terminates TLS). */
  readonly tls: ReverseTlsConfig | null;
  /**
   * Client CIDRs whose `X-Forwarded-*` / `Forwarded` fields are kept (and appended to);
   * from anyone else those fields are removed and replaced. Default: none.
   */
  readonly trustForwardedFrom: readonly string[];
  /**
   * Client CIDRs whose `X-Forwarded-User`, `Client-Cert` and `Client-Cert-Chain` reach
   * backends, on routes where the gateway signs no one in itself; from anyone else (and
   * where it does) they are removed. Default: none.
   */
  readonly trustIdentityFrom: readonly string[];
}

/** A plain-HTTP listener that answers every request with `308` to the same URL on https. */
export interface RedirectHttpsListenerConfig extends ListenerBase {
  readonly mode: "redirect-https";
  /** Port in the `Location` URL (default 443, which is left out of the URL). */
  readonly httpsPort: number;
}

/** How `https://` backends of a pool are validated and what client certificate they get. */
export interface PoolTlsConfig {
  /** Extra trusted CA PEM file, besides the system roots. */
  readonly caFile?: string;
  /** Name the backend certificate must carry (and SNI); default: the URL's host. */
  readonly serverName?: string;
  /** Client certificate chain PEM file for mutual TLS (with `clientKey`). */
  readonly clientCert?: string;
  readonly clientKey?: string;
  /** Default "TLSv1.2". */
  readonly minVersion: ReverseTlsVersion;
}

/** Active health checking of a pool's backends. */
export interface HealthCheckConfig {
  /** Path requested with GET; a 2xx or 3xx answer is healthy. */
  readonly path: string;
  /** Host header of the check (default: the backend URL's host:port). */
  readonly host?: string;
  /** Time between two checks of a backend (default 10000 ms). */
  readonly intervalMs: number;
  /** Time a check may take (default 2000 ms). */
  readonly timeoutMs: number;
  /** Consecutive successes that bring a down backend back (default 2). */
  readonly healthyThreshold: number;
  /** Consecutive failures that take a backend down (default 3). */
  readonly unhealthyThreshold: number;
}

/** A set of interchangeable backends, balanced round-robin. */
export interface PoolConfig {
  /** `http://host:port` or `https://host:port` URLs (no path). */
  readonly backends: readonly string[];
  readonly tls: PoolTlsConfig;
  /** Time allowed to connect (and handshake) to one backend (default: `limits.connectTimeoutMs`). */
  readonly connectTimeoutMs: number;
  /** Time a backend may stay silent — no response head, no body bytes — before 504 (default 60000 ms). */
  readonly timeoutMs: number;
  readonly healthCheck?: HealthCheckConfig;
  /** Passive ejection: consecutive connect failures that take a backend out (default 1; 0 = never). */
  readonly ejectAfterFailures: number;
  /** How long an ejected backend is skipped (default 10000 ms). */
  readonly ejectMs: number;
  /** `round-robin` (default) or `least-requests`: fewest requests in flight first. */
  readonly balance: "round-robin" | "least-requests" | "client-hash";
  /**
   * Backend connections left open after a complete response are kept idle for the next
   * request of any client: at most `maxIdlePerBackend` per backend (default 32; 0 keeps
   * none), each for `idleTimeoutMs` (default 4000, under common backends' own keep-alive
   * timeouts, e.g. Node's 5 s). After a response the connection first waits `clientHoldMs`
   * (default 1000) for its own client's next request, then joins the idle ones.
   */
  readonly keepAlive: { readonly maxIdlePerBackend: number; readonly idleTimeoutMs: number; readonly clientHoldMs: number };
  /**
   * The backends expect a PROXY protocol header first on every connection: the gateway sends
   * one naming the original client (LOCAL on health checks). Such a connection stays with
   * its client connection: it never joins the idle connections other clients take.
   */
  readonly proxyProtocol?: ProxyProtocolVersion;
}

/**
 * A passthrough route: TLS connections whose SNI it matches are not terminated; the very
 * same ClientHello and everything after it go to a backend of `pool`, which holds the
 * certificate itself.
 */
export interface PassthroughRouteConfig {
  readonly id: string;
  /** Exact names, `*.suffix` (any depth below) or `*` (also a ClientHello without SNI). */
  readonly hosts: readonly string[];
  /** Pool name; its backends are `https://` URLs. */
  readonly pool: string;
  /** Reverse listeners (with TLS) it applies to; absent = every one. */
  readonly listeners?: readonly string[];
  /** Client CIDRs allowed; others get an `access_denied` alert. Absent = everyone. */
  readonly clients?: readonly string[];
}

export type { HeaderEditsConfig };

/** A per-route deny rule: every given condition must match (url-rule path patterns, methods). */
export interface RouteDenyConfig {
  readonly paths?: readonly string[];
  readonly methods?: readonly string[];
}

/**
 * What the backend gets as `Host`: the client's (`"preserve"`), the backend URL's authority
 * (`"backend"`), or a fixed `host[:port]`.
 */
export type HostHeaderConfig = "preserve" | "backend" | { readonly set: string };

/** A route: which requests (host, path prefix, methods, listener) go to which pool, and how. */
export interface RouteConfig {
  readonly id: string;
  /** Exact names or IP literals, `*.suffix` (any depth below), or `*`. */
  readonly hosts: readonly string[];
  /** Path prefix matched at segment boundaries (`/api` matches `/api` and `/api/x`, not `/apix`). */
  readonly pathPrefix: string;
  /**
   * The prefix the backend gets in place of `pathPrefix` (normalised); absent: the path is
   * forwarded as the client sent it.
   */
  readonly backendPrefix?: string;
  /**
   * False: `pathPrefix` and the deny rules' `paths` match without regard to ASCII case (for
   * backends such as IIS that do not tell `/Admin` from `/admin`). Default true.
   */
  readonly caseSensitive?: boolean;
  /** Uppercase methods; absent = any. */
  readonly methods?: readonly string[];
  /** Reverse listener names; absent = every reverse listener. */
  readonly listeners?: readonly string[];
  /** Pool name. */
  readonly pool: string;
  readonly hostHeader: HostHeaderConfig;
  readonly requestHeaders: HeaderEditsConfig;
  readonly responseHeaders: HeaderEditsConfig;
  readonly deny: readonly RouteDenyConfig[];
  /** Client CIDRs allowed on this route; absent = everyone. */
  readonly clients?: readonly string[];
  /**
   * HTTP Basic authentication: only these `proxyAuth` users, and members of these groups,
   * get through (others: `401` with a challenge for `realm`, default the route id; a
   * signed-in user neither listed nor a member: `403`).
   */
  readonly basicAuth?: { readonly users: readonly string[]; readonly groups?: readonly string[]; readonly realm: string };
  /**
   * Request rate limit (token bucket): `requestsPerSecond` sustained, `burst` at once
   * (default: the rate rounded up, at least 1), per original client address or for the whole
   * route. Requests over it get `429` with `Retry-After`.
   */
  readonly rateLimit?: { readonly requestsPerSecond: number; readonly burst: number; readonly per: "client" | "route" };
  /** Write a request line for each request (default true; errors are always logged). */
  readonly log: boolean;
}

/** The `reverse` section. */
export interface ReverseConfig {
  readonly pools: Readonly<Record<string, PoolConfig>>;
  readonly routes: readonly RouteConfig[];
  /** Checked before certificates are chosen: a match is not terminated. */
  readonly passthrough: readonly PassthroughRouteConfig[];
  /** The gateway's own error answers: a page for browsers, and who is shown the full reason. */
  readonly errorPages: ErrorPagesConfig;
}

/** `reverse.errorPages`: `template` is a file path here; it is read at start and on every reload. */
export interface ErrorPagesConfig {
  readonly template?: string;
  /** Clients (IP addresses, CIDRs) shown the full reason of a refusal or a 5xx. */
  readonly detailsFor: readonly string[];
}
