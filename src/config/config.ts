/**
 * The domain config: validated, defaults applied, addresses parsed, deeply frozen.
 * Built by `parseConfig` / `parseConfigText` (in `parse.ts`, re-exported here).
 */
import type { DnsSettings } from "../dns/types.ts";
import type { PolicyDefinition } from "../policy/types.ts";

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

/** The gateway's whole configuration. Deeply frozen. */
export interface Config {
  readonly listeners: readonly ListenerConfig[];
  readonly policy: PolicyDefinition;
  readonly dns: DnsConfig;
  readonly limits: LimitsConfig;
  readonly log: LogConfig;
}
