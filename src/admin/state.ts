import type { FlowFeed } from "./flow-feed.ts";
import type { Explanation } from "../policy/types.ts";
import type { ParentReport } from "../parent/report.ts";
import type { PoolReport } from "../reverse/report.ts";
import type { ConnectionQuery, OpenSelection } from "./open-connections.ts";

/** What closing one open connection did: `"no-answer"`, its worker did not answer in time. */
export type CloseOutcome = "closed" | "not-found" | "no-answer";

/**
 * What the admin API needs from the running gateway. The gateway implements it; the hono
 * app (src/admin/app.ts) only reads and calls it, so the app is tested with a fake.
 */
export interface AdminState {
  /** Process is alive (always true while serving). */
  readonly startedAt: Date;
  /** Readiness: listeners bound, config loaded, CA loaded when decryption is configured. */
  readiness(): Readiness;
  /** Prometheus text exposition of all metrics. */
  metricsText(): string;
  /** The running config as JSON, redacted: no keys, no tokens, no password hashes. */
  redactedConfig(): unknown;
  /** The current policy section as JSON (as it would appear in a config file). */
  policyJson(): unknown;
  /**
   * Validates a policy section (same valibot schema as the config file). Returns the issues
   * (path + message) or an empty list.
   */
  validatePolicy(policy: unknown): readonly PolicyIssue[];
  /**
   * Validates and atomically swaps the policy: new connections use it, and open ones it now
   * denies are closed (unless `recheckOpenConnections` is false). Returns the issues if
   * invalid (nothing changed).
   */
  replacePolicy(policy: unknown): Promise<{ readonly ok: true; readonly generation: number } | { readonly ok: false; readonly issues: readonly PolicyIssue[] }>;
  /**
   * Decision for a hypothetical connection/request with every rule considered
   * (`explainQuery` in `explain.ts` does it from a compiled policy). Throws `TypeError` or
   * `RangeError` on a query that names no valid destination, client, mode or listener; the
   * API answers those with 400.
   */
  explain(query: ExplainQuery): ExplainResult;
  /** Recent flow and request records, and live subscription (SSE). */
  readonly flows: FlowFeed;
  /**
   * The open connections of every gateway process that `query` selects (see
   * `open-connections.ts`). A worker that did not answer in time is named in `unanswered`.
   */
  connections(query: ConnectionQuery): Promise<ConnectionList>;
  /**
   * Closes open connection `id` in the process that runs it; its flow line ends `"revoked"`
   * with `reason` (default: naming `DELETE /connections/{id}`). `"no-answer"`: its worker
   * did not answer in time.
   */
  closeConnection(id: string, reason?: string): Promise<CloseOutcome>;
  /**
   * Closes the open connections `ids` as `closeConnection` does, asking each worker once for
   * all of its own: the outcome of each, in the order of `ids`.
   */
  closeConnections(ids: readonly string[], reason: string): Promise<readonly CloseOutcome[]>;
  /** Replaces the shared leaf key (new leaves are minted with it); false when no CA is configured. */
  rotateLeafKey?(): Promise<boolean>;
  /** The interception CA certificate (PEM), or undefined when no CA is configured. */
  caCertificatePem(): string | undefined;
  /**
   * Data for the PAC file: the proxy address clients should use, and hosts that bypass it.
   * `requestHost`: the host the PAC request came to (the proxy's host when its listener is
   * bound to every address).
   */
  pac(requestHost?: string): PacData;
  /** The reverse proxy's pools and their backends' state (this process's view). */
  backends(): readonly PoolReport[];
  /** The parent proxies and whether each is in service (this process's view). */
  parents(): readonly ParentReport[];
}

export interface ConnectionList extends OpenSelection {
  /** Worker processes (by number) whose connections are missing: they did not answer in time. */
  readonly unanswered: readonly number[];
}

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, { readonly ok: boolean; readonly detail?: string }>>;
  /** Last config reload: when, whether it succeeded, and the error if not. */
  readonly lastReload?: { readonly at: string; readonly ok: boolean; readonly error?: string; readonly generation: number };
}

export interface PolicyIssue {
  readonly path: string;
  readonly message: string;
}

export interface ExplainQuery {
  /** Either a URL ("https://host/path") or a host (+ port). */
  readonly url?: string;
  readonly host?: string;
  readonly port?: number;
  readonly clientIp?: string;
  readonly method?: string;
  /** Listener mode to evaluate as (default "explicit"). */
  readonly mode?: string;
  /** Listener name to evaluate as (default: the first listener of that mode). */
  readonly listener?: string;
  /** Authenticated proxy user to evaluate as (default: none, as for a flow without proxy auth). */
  readonly user?: string;
  /** The user's groups (default: a local user's configured groups, else none). */
  readonly groups?: readonly string[];
  /** When (ISO 8601, e.g. "2026-11-23T12:15:00+01:00"), for rules with a `schedule` (default: now). */
  readonly at?: string;
  /** The response's Content-Type (`"video/mp4"`), for url rules with `responseTypes` (default: not known yet). */
  readonly responseType?: string;
  /**
   * Request fields as `"Name: value"`, for the override fields url rules judge
   * (`"X-HTTP-Method-Override: DELETE"`, `"X-Original-URL: /admin"`; default: none).
   */
  readonly headers?: readonly string[];
}

export interface ExplainResult {
  readonly host: string;
  readonly port: number;
  readonly decision: {
    readonly action: "allow" | "deny";
    readonly ruleId: string;
    readonly reason: string;
    readonly decryption: string;
    /** The parent proxy an allowed flow goes through; absent = direct. */
    readonly parent?: string;
  };
  /** Every connection rule considered, in order, with why it did or did not match. */
  readonly rules: Explanation["rules"];
  /** With a URL path the gateway reads (a decrypting rule, or plain http/ws): the URL-rule decision. */
  readonly url?: {
    readonly action: "allow" | "deny";
    readonly ruleId: string;
    readonly reason: string;
    /**
     * Without `responseType`: the url rules with `responseTypes` that matched the request
     * ahead of the deciding one; the first whose types match the response will decide it.
     */
    readonly byResponse?: readonly { readonly ruleId: string; readonly action: "allow" | "deny"; readonly types: readonly string[] }[];
    /** The deciding allow rule's body limits, in bytes. */
    readonly maxRequestBytes?: number;
    readonly maxResponseBytes?: number;
  };
  /** The client address evaluated (defaults filled in). */
  readonly clientIp?: string;
  /** The mode evaluated. */
  readonly mode?: string;
  /** The listener evaluated, if any. */
  readonly listener?: string;
  /** The user evaluated, if any. */
  readonly user?: string;
  /** Their groups, lower case (given, or a local user's). */
  readonly groups?: readonly string[];
}

export interface PacData {
  /** "host:port" of the explicit proxy listener clients should use. */
  readonly proxy: string | undefined;
  /** That listener is an HTTPS proxy: clients speak TLS to it (PAC `HTTPS host:port`). */
  readonly tls?: boolean;
  /** Host patterns (policy syntax: "example.com", "*.example.com", ".example.com") sent DIRECT. */
  readonly bypass: readonly string[];
}
