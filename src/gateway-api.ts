/**
 * What `startGateway` (gateway.ts) takes and gives: the running gateway, its live state (what
 * the admin API reads and changes), a reload's options and result, and the start options.
 * @module
 */
import type { Address } from "./core/conn.ts";
import type { Config } from "./config/config.ts";
import type { GatewayUsers } from "./auth/gateway-users.ts";
import type { SignInCounts } from "./auth/sign-in-throttle.ts";
import type { FlowLog, FlowRecord, RequestRecord } from "./log/flow-record.ts";
import type { FlowSinks } from "./log/flow-output.ts";
import type { Policy, UrlPolicy } from "./policy/types.ts";
import type { GatewayMetrics } from "./metrics/gateway-metrics.ts";
import type { FlowFeed } from "./admin/flow-feed.ts";
import type { PoolReport } from "./reverse/report.ts";
import type { ParentProxy } from "./parent/tunnel.ts";
import type { ParentReport } from "./parent/report.ts";
import type { BlockPage } from "./block/block-page.ts";
import type { OpenFlow } from "./flows/live-flows.ts";

export interface Gateway {
  /** Bound addresses by listener name (useful with port 0). */
  readonly addresses: ReadonlyMap<string, Address>;
  /** The live state: what the admin API reads and changes. */
  readonly live: LiveState;
  /**
   * Applies a new config without dropping connections: every file it names is read again
   * (host lists too: one whose text did not change is not parsed again) and new and moved
   * listeners are bound first; then the policy, URL rules, parents, users,
   * the reverse proxy's routes, pools and certificates, the interception CA and settings, the
   * DNS resolver (with a new cache), the address guard, the flow-log output (an old file is
   * closed), the limits and the listeners are swapped in one step; listeners the config
   * dropped stop accepting and their connections drain as at shutdown, those still open after
   * `limits.drainTimeoutMs` being closed (see `ListenerSet`). Open connections keep the decision they got,
   * unless the new policy denies them, decrypts them otherwise or routes them elsewhere
   * (`policy.recheckOpenConnections`): those are closed. A change of `workers` needs a
   * restart: it is named in `restartNeeded`. Reloads run one at a time, in the order asked.
   *
   * @throws {Error} when a file the new config names cannot be read or used, or a listener cannot be bound; nothing changed then
   */
  reload(config: Config, options?: ReloadOptions): Promise<ReloadResult>;
  /**
   * A record from a worker process: to the live feed and the flow-log output, not to this
   * process's metrics (the worker counts its own flows).
   */
  ingest(record: FlowRecord | RequestRecord, quiet: boolean): void;
  /**
   * This process's open flows, oldest first: CONNECT and SOCKS5 tunnels, decrypted sessions,
   * transparent connections and plain-HTTP requests in progress, once the policy allowed
   * them, and reverse-proxy connections once served (TLS accepted, or passed through).
   * Blind relays count their bytes as they move; HTTP connections count the requests they
   * finished.
   */
  connections(): OpenFlow[];
  /**
   * Closes this process's open flow `id` (client and upstream connections): its flow line ends
   * `"revoked"` with `reason`. False when no open flow has that id.
   */
  closeConnection(id: string, reason: string): boolean;
  /** The reverse proxy's pools and their backends' state now (empty without reverse listeners). */
  backends(): PoolReport[];
  /** The parent proxies and whether each is in service now. */
  parents(): ParentReport[];
  /**
   * Stops accepting and drains: connections waiting for a request close at once, requests in
   * progress are answered with `Connection: close`, tunnels may run on; after `graceMs` the
   * rest are closed. The flow log's outputs close last, once the closed connections wrote
   * their lines and `others` (the worker processes' drains, whose lines come here) settled.
   */
  close(graceMs?: number, others?: Promise<unknown>): Promise<void>;
}

export interface ReloadResult {
  readonly generation: number;
  readonly restartNeeded: readonly string[];
  /** Listeners the reload bound (new, or moved), with their addresses. */
  readonly listening: ReadonlyMap<string, Address>;
  /** Listeners that no longer accept under their name (removed, renamed or moved). */
  readonly closed: readonly string[];
}

export interface ReloadOptions {
  /** A worker process binds a new listener at the primary's port (by listener name). */
  readonly ports?: Readonly<Record<string, number>>;
}

/** What changes at run time, shared by the flows (through getters) and the admin API. */
export interface LiveState {
  config: Config;
  policy: Policy;
  urlPolicy: UrlPolicy;
  generation: number;
  lastReload: { at: string; ok: boolean; error?: string; generation: number };
  readonly metrics: GatewayMetrics;
  readonly feed: FlowFeed;
  /** Open client connections per listener. */
  readonly active: Map<string, number>;
  caCertPem: string | undefined;
  /** Replaces the shared leaf key and drops cached leaves (undefined without a CA). */
  rotateLeafKey: (() => Promise<void>) | undefined;
  /** Parent proxies by name, with their credentials read (swapped with the policy on reload). */
  parents: ReadonlyMap<string, ParentProxy>;
  /** `proxyAuth` users (swapped with the policy on reload: rules name them). */
  users: GatewayUsers | undefined;
  /** What denied requests are answered with (its template file read again on reload). */
  blockPage: BlockPage;
}

/**
 * `write`: where flow-log lines go when the config says "stdout"/"stderr" (and operational
 * messages); `appendTo`: opens a file for appending flow-log lines (`log.flows: {file}`),
 * closed when a reload or shutdown lets go of it.
 */
export interface StartOptions extends FlowSinks {
  /** Reads a file named in the config (CA certificate and key, extra upstream CAs). */
  readonly readText: (path: string) => string;
  /**
   * The system's hosts file, answered before the system lookup (see `dns/hosts-file.ts`);
   * default `/etc/hosts`, `null` for none (tests that must not depend on the machine's).
   */
  readonly hostsFile?: string | null;
  /** This host's interface addresses (a listener on 0.0.0.0/:: is reachable on all of them). */
  readonly localAddresses?: readonly string[];
  /** Addresses that must never be dialed by the proxy besides its own listeners (e.g. the admin API). */
  readonly alsoSelf?: readonly Address[];
  /**
   * Set when this is one of several gateway processes sharing the listeners: they bind
   * with SO_REUSEPORT (a worker at the primary's bound `ports`, by listener name) and each
   * enforces its share of the concurrency limits.
   */
  readonly processes?: {
    readonly count: number;
    readonly ports?: Readonly<Record<string, number>>;
    /** This process's number: 0 the primary (the default), 1… the workers. It prefixes open-flow ids. */
    readonly index?: number;
  };
  /**
   * Where failed sign-ins are counted, when not in this process: a worker's are the
   * primary's, so that the processes share every sign-in allowance.
   */
  readonly signIns?: SignInCounts;
  /** When set, every record (quiet ones too) goes here instead of the config's flow log. */
  readonly flowSink?: FlowLog;
  /** The machine's host name and this process's id, as syslog messages name them (`log.syslog`). */
  readonly identity?: { readonly hostname: string; readonly pid: number };
}
