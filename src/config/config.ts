import type { IpClass } from "../core/ip-class.ts";
/**
 * The domain config: validated, defaults applied, addresses parsed, deeply frozen.
 * Built by `parseConfig` / `parseConfigText` (in `parse.ts`, re-exported here).
 */
import type { DnsSettings } from "../dns/types.ts";
import type { Host, PolicyDefinition, UrlRuleDefinition } from "../policy/types.ts";
import type { ListenerBase } from "./listener-base.ts";
import type { RedirectHttpsListenerConfig, ReverseConfig, ReverseListenerConfig, ReverseTlsConfig } from "../reverse/config-types.ts";
import type { SyslogFacility } from "../log/syslog-message.ts";
import type { SyslogFraming } from "../log/syslog-stream.ts";

export type * from "../reverse/config-types.ts";
export type { ListenerBase } from "./listener-base.ts";

export { parseConfig, parseConfigText } from "./parse.ts";
export { ConfigError, type ConfigIssue } from "./errors.ts";


/** An explicit forward proxy: clients send CONNECT or absolute-form requests. */
export interface ExplicitListenerConfig extends ListenerBase {
  readonly mode: "explicit";
  /**
   * An HTTPS proxy: clients speak TLS to the listener (certificates chosen by SNI as on a
   * reverse listener), then HTTP proxy requests inside it. Absent: plain.
   */
  readonly tls?: ReverseTlsConfig;
  /**
   * Proxies in front (child proxies) whose `X-Forwarded-For` names the client: a request
   * from one is decided and logged for the client it names (see `forwardedClient`).
   */
  readonly trustForwardedFrom?: readonly string[];
}

/**
 * A SOCKS5 proxy (RFC 1928): clients ask for `host:port` in SOCKS; the tunnel follows the
 * same policy, decryption and logs as a CONNECT. With `proxyAuth`, clients sign in with
 * username/password (RFC 1929).
 */
export interface Socks5ListenerConfig extends ListenerBase {
  readonly mode: "socks5";
}

/**
 * What a transparent listener does with a ClientHello without SNI: `"deny"` (close the
 * connection), or `"allow"` it by splicing to a fixed upstream; the policy is still
 * applied, to that upstream's host and port.
 */
export type NoSniConfig =
  | "deny"
  | {
    readonly action: "allow";
    /** As written in the config: "host:port" or "[ipv6]:port". */
    readonly upstream: string;
    /** Parsed from `upstream`: lowercase host name or IP address (IPv6 without brackets). */
    readonly hostname: string;
    /** Parsed from `upstream`, 1-65535. */
    readonly port: number;
  };

/**
 * What a transparent listener does with a ClientHello that offers Encrypted Client Hello
 * (an `encrypted_client_hello` extension):
 * - `"policy"`: apply the policy to the outer (public) SNI and log that ECH was offered;
 * - `"block"`: refuse the connection. Chromium and Firefox send a GREASE ECH extension on
 *   every connection, so `"block"` blocks those browsers altogether.
 */
export type EchPolicy = "policy" | "block";

/**
 * A transparent TLS listener (traffic redirected to it by the firewall): the destination
 * is the ClientHello's SNI, dialled on `upstreamPort`.
 */
export interface TransparentListenerConfig extends ListenerBase {
  readonly mode: "transparent";
  /**
   * The port dialled on the host named by SNI (default 443). The original destination
   * port is not recoverable after a REDIRECT in portable code.
   */
  readonly upstreamPort: number;
  /** Default `"deny"`. */
  readonly noSni: NoSniConfig;
  /** Default `"policy"`. */
  readonly ech: EchPolicy;
}

/** A transparent plain-HTTP listener: the destination is the request's Host header, dialled on `upstreamPort`. */
export interface TransparentHttpListenerConfig extends ListenerBase {
  readonly mode: "transparent-http";
  /** The port dialled on the host named by Host (default 80). */
  readonly upstreamPort: number;
}

/** One listening socket; `mode` tells which kind. */
export type ListenerConfig =
  | ExplicitListenerConfig
  | Socks5ListenerConfig
  | TransparentListenerConfig
  | TransparentHttpListenerConfig
  | ReverseListenerConfig
  | RedirectHttpsListenerConfig;

/** Listener kinds. */
export type ListenerMode = ListenerConfig["mode"];

/** Resolver settings; `hosts` keys are normalised (lowercase, no trailing dot). */
export type DnsConfig = DnsSettings;

/** Resource bounds. */
export interface LimitsConfig {
  /** Largest request/response head accepted, in bytes. */
  readonly maxHeadBytes: number;
  readonly maxHeaders: number;
  /**
   * Time allowed for a client to send a complete head, for a transparent listener's client
   * to send its complete ClientHello, and for a client to complete its TLS handshake with
   * the gateway (decrypted, reverse, block page).
   */
  readonly headerTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** A tunnel with no bytes either way for this long is closed; 0 = never. */
  readonly idleTimeoutMs: number;
  /** Concurrent client connections across all listeners. */
  readonly maxConnections: number;
  /** Largest ClientHello handshake message a transparent listener reads, 1024-65536 bytes (default 16384). */
  readonly maxClientHelloBytes: number;
  readonly maxConnectionsPerClient: number;
  /** New connections per second from one client address (IPv6: its /64); 0 = no limit (the default). */
  readonly connectionRatePerClient: number;
  /** New connections from one client address at once, on top of the rate (default 200). */
  readonly connectionBurstPerClient: number;
  readonly maxTunnels: number;
  /** Most TLS records the ClientHello may span, 1-64 (default 16). */
  readonly maxClientHelloRecords: number;
  /** On shutdown, how long open connections may finish before they are closed (default 10000). */
  readonly drainTimeoutMs: number;
  /**
   * On shutdown, how long to keep accepting while `/readyz` already fails, so load balancers
   * stop sending before the listeners close (default 0).
   */
  readonly shutdownDelayMs: number;
}

/** `blockPage`: the template is a file path here; the gateway reads it at start and on reload. */
export interface BlockPageConfig {
  /** An HTML file with `{{placeholders}}`; absent = the built-in page. */
  readonly template?: string;
  /** A block portal URL with `{{placeholders}}`; denied requests are redirected there. */
  readonly redirect?: string;
  /** Show the page for denied HTTPS by decrypting it with a minted certificate (needs `ca`). */
  readonly interceptDenied: boolean;
}

/** Where flow log lines go: a standard stream, nowhere, or appended to a file. */
export type FlowLogTarget = "stdout" | "stderr" | "off" | { readonly file: string };

export interface LogConfig {
  readonly flows: FlowLogTarget;
  /** Every record also to a syslog collector (the primary process sends them all). */
  readonly syslog?: SyslogConfig;
}

/** `log.syslog`: the flow log as RFC 5424 messages to a collector (see `log/syslog-output.ts`). */
export interface SyslogConfig {
  /** `udp://host:port`, `tcp://host:port` or `tls://host:port` (see `log/syslog-url.ts`). */
  readonly url: string;
  readonly facility: SyslogFacility;
  readonly appName: string;
  /** HOSTNAME in each message; absent: the machine's host name. */
  readonly hostname?: string;
  /** TCP and TLS: how messages are delimited. */
  readonly framing: SyslogFraming;
  /** TCP and TLS: most bytes held while the collector is unreachable or slow. */
  readonly queueBytes: number;
  /** TLS: CA certificates (PEM file) trusted for the collector, in addition to the system roots. */
  readonly caFile?: string;
  /** TLS: a client certificate chain and its key (PEM files), for collectors that ask for one. */
  readonly certFile?: string;
  readonly keyFile?: string;
}

/**
 * The interception CA's PEM files, as written in the config (relative paths are relative
 * to the working directory). The gateway reads and checks them at start-up.
 */
export interface CaConfig {
  /** The CA certificate (PEM). */
  readonly cert: string;
  /** Its unencrypted PKCS#8 private key (PEM). */
  readonly key: string;
  /** Intermediate certificates (PEM) sent after each leaf, if the CA is not a root. */
  readonly chain?: string;
}

/** A TLS protocol version floor. */
export type TlsVersion = "TLSv1.2" | "TLSv1.3";

/** How decrypting rules mint leaves and connect upstream. */
export interface InterceptionConfig {
  /** Validity of minted leaf certificates, 1-30 days (default 7). */
  readonly leafValidityDays: number;
  /** Copy the upstream certificate's subject alternative names into the leaf (default false). */
  readonly mirrorUpstreamSans: boolean;
  /** Extra trusted CA PEM files for validating upstream servers, besides the system roots. */
  readonly upstreamCaFiles: readonly string[];
  /** Oldest TLS version accepted from clients / used upstream (default "TLSv1.2" both). */
  readonly minTlsVersion: { readonly client: TlsVersion; readonly upstream: TlsVersion };
  /** Most leaf certificates kept in memory (default 10000). */
  readonly leafCacheSize: number;
  /**
   * Idle upstream connections kept for the next decrypted session to the same origin:
   * in all (default 256; 0 = none), per origin (default 32), and for how long (default 4000 ms).
   */
  readonly upstreamPool: { readonly maxIdle: number; readonly maxIdlePerHost: number; readonly idleTimeoutMs: number };
}

/** The policy: connection rules plus the url rules applied to decrypted requests. */
export interface PolicyConfig extends PolicyDefinition {
  /** Always present in a parsed config (possibly empty). */
  readonly urlRules: readonly UrlRuleDefinition[];
  /**
   * Re-decide open connections at each minute (rule schedules) and after a reload, and close
   * those the policy now denies, decides for the other decryption or sends another way
   * (another parent proxy, or direct). Default true.
   */
  readonly recheckOpenConnections: boolean;
}

/** The gateway's whole configuration. Deeply frozen. */
export interface Config {
  readonly listeners: readonly ListenerConfig[];
  readonly policy: PolicyConfig;
  /** Absent when no CA is configured (then no rule may decrypt). */
  readonly ca?: CaConfig;
  readonly interception: InterceptionConfig;
  readonly dns: DnsConfig;
  readonly limits: LimitsConfig;
  readonly log: LogConfig;
  /** What denied browsers see (see `block/block-page.ts`). */
  readonly blockPage: BlockPageConfig;
  /** Reverse proxy pools and routes; absent without a `reverse` section. */
  readonly reverse?: ReverseConfig;
  readonly addressGuard: AddressGuardConfig;
  /** Absent when no admin API is configured. */
  readonly admin?: AdminConfig;
  /** Absent = no proxy authentication. */
  readonly proxyAuth?: {
    readonly realm: string;
    /** `groups`: what rules' `groups` may name for the user (any case; compared in lower case). */
    readonly users: readonly { readonly name: string; readonly passwordHash: string; readonly groups?: readonly string[] }[];
    /** Users not in `users` are checked against this directory by a bind as the user; absent = none. */
    readonly ldap?: LdapConfig;
    /** Failed sign-ins allowed per client address and per user name before `429` (see `SignInLimit`). */
    readonly signInLimit: {
      readonly burst: number;
      readonly perMinute: number;
      /** Absent = no limit per name. */
      readonly perUser?: { readonly failures: number; readonly resetMinutes: number };
    };
  };
  /** Gateway processes sharing the listeners: a count, or "auto" (one per CPU). */
  readonly workers: number | "auto";
  /** Settings only the Deno build reads. */
  readonly deno: {
    /** Plain TLS handshakes on Deno's own TLS (through loopback hops) instead of `node:tls`. */
    readonly ownTls: boolean;
  };
  /** Parent proxies by name (rules send flows through them with `parent`); empty = none. */
  readonly parents: Readonly<Record<string, ParentConfig>>;
}

/** An LDAP directory checking proxy users' passwords (`proxyAuth.ldap`). */
export interface LdapConfig {
  /** As written: `ldaps://host[:port]` or `ldap://host[:port]`. */
  readonly url: string;
  /** The name bound as, `{user}` standing for the user name (DN-escaped). */
  readonly bindName: string;
  /** Extra CA certificates (PEM file) for the directory's certificate. */
  readonly caFile?: string;
  readonly timeoutMs: number;
  /** Read each directory user's groups after the bind; absent = directory users have none. */
  readonly groups?: LdapGroupsConfig;
  /** Read the groups of users client certificates sign in, as the gateway's own account (needs `groups`). */
  readonly certificateUsers?: LdapCertificateUsersConfig;
}

/** How the groups of client certificates' users are read (`proxyAuth.ldap.certificateUsers`). */
export interface LdapCertificateUsersConfig {
  /** The gateway's own account. */
  readonly bindName: string;
  /** A file holding its password. */
  readonly passwordFile: string;
  /** Where users' entries are looked for, by `userAttribute` equal to the certificate's user name. */
  readonly searchBase: string;
  readonly userAttribute: string;
}

/** Where directory users' groups are read (`proxyAuth.ldap.groups`). */
export interface LdapGroupsConfig {
  /** Where an account the directory names `u:DOMAIN\name` (not by a DN) is found by `userAttribute`. */
  readonly searchBase?: string;
  readonly userAttribute: string;
  /** The domain (NetBIOS name) of the accounts below `searchBase`; identities of others are refused. */
  readonly domain?: string;
  /** The entry's attribute listing its groups' DNs (`memberOf`). */
  readonly memberAttribute: string;
  /** Only groups below this DN count; absent = all. */
  readonly within?: string;
  /** A user shown in no group (below `within`) cannot sign in. */
  readonly required: boolean;
  /** Groups of the user's groups count too, through any depth. */
  readonly nested: boolean;
}

/** A parent proxy: the gateway reaches destinations through it (CONNECT, absolute-form HTTP). */
export interface ParentConfig {
  /** As written: `http://host:port` or `socks5://host:port`. */
  readonly url: string;
  /** From the URL's scheme: "http" (CONNECT, absolute-form requests) or "socks5". */
  readonly protocol: "http" | "socks5";
  readonly host: Host;
  readonly port: number;
  /** `host:port` for messages. */
  readonly authority: string;
  /** Credentials (Basic in Proxy-Authorization; RFC 1929 for SOCKS5): the user, and the file holding the password. */
  readonly username?: string;
  readonly passwordFile?: string;
  /** The parent a flow goes to instead when this one cannot be reached (a name in `parents`). */
  readonly fallback?: string;
  /** How long a parent that could not be reached is passed over for its fallback (ms). */
  readonly ejectMs: number;
  /** HTTP parents: the client's IP address goes to the parent in `X-Forwarded-For` (CONNECT and forwarded requests). */
  readonly forwardedFor?: boolean;
  /** Active checks (see `parent/health-check.ts`); absent: the parent is judged by the flows only. */
  readonly healthCheck?: ParentHealthCheckConfig;
}

/** A parent proxy's active checks: a TCP connect every `intervalMs`, given up after `timeoutMs`. */
export interface ParentHealthCheckConfig {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/** The admin API listener. */
export interface AdminConfig {
  readonly hostname: string;
  readonly port: number;
  /** Bearer token (may also come from TOLLGATE_ADMIN_TOKEN). */
  readonly token?: string;
  readonly pacProxy?: string;
  readonly pacBypass: readonly string[];
  /** `/proxy.pac`, `/ca` and `/ca.pem` are served without the token. */
  readonly openBootstrap: boolean;
}

/**
 * SSRF protection: resolved destination addresses that are not public are denied unless
 * allowed here (or by the matching rule's `allowAddresses`). `deny` overrides everything;
 * the gateway's own listeners are always denied.
 */
export interface AddressGuardConfig {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
  readonly allowClasses: readonly Exclude<IpClass, "public">[];
}
