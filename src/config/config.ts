/**
 * The domain config: validated, defaults applied, addresses parsed, deeply frozen.
 * Built by `parseConfig` / `parseConfigText` (in `parse.ts`, re-exported here).
 */
import type { DnsSettings } from "../dns/types.ts";
import type { PolicyDefinition, UrlRuleDefinition } from "../policy/types.ts";

export { parseConfig, parseConfigText } from "./parse.ts";
export { ConfigError, type ConfigIssue } from "./errors.ts";

/** Listener kinds. Only the explicit proxy exists so far. */
export type ListenerMode = "explicit";

/** One listening socket. */
export interface ListenerConfig {
  /** Unique; `listener-<n>` when not given. */
  readonly name: string;
  readonly mode: ListenerMode;
  /** IP address (IPv6 without brackets) or host name to bind. */
  readonly hostname: string;
  /** 0 = any free port. */
  readonly port: number;
}

/** Resolver settings; `hosts` keys are normalised (lowercase, no trailing dot). */
export type DnsConfig = DnsSettings;

/** Resource bounds. */
export interface LimitsConfig {
  /** Largest request/response head accepted, in bytes. */
  readonly maxHeadBytes: number;
  readonly maxHeaders: number;
  /** Time allowed for a client to send a complete head. */
  readonly headerTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** A tunnel with no bytes either way for this long is closed; 0 = never. */
  readonly idleTimeoutMs: number;
  /** Concurrent client connections across all listeners. */
  readonly maxConnections: number;
}

/** Where flow log lines go: a standard stream, nowhere, or appended to a file. */
export type FlowLogTarget = "stdout" | "stderr" | "off" | { readonly file: string };

export interface LogConfig {
  readonly flows: FlowLogTarget;
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
}

/** The policy: connection rules plus the url rules applied to decrypted requests. */
export interface PolicyConfig extends PolicyDefinition {
  /** Always present in a parsed config (possibly empty). */
  readonly urlRules: readonly UrlRuleDefinition[];
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
}
