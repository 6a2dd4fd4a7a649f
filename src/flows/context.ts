import type { Runtime } from "../core/runtime.ts";
import type { TlsVersion } from "../core/tls.ts";
import type { Resolver } from "../dns/types.ts";
import type { FlowLog } from "../log/flow-record.ts";
import type { AddressGuard } from "../policy/address-guard.ts";
import type { ProxyAuth } from "../auth/proxy-auth.ts";
import type { CertificateGroupsOf } from "../auth/certificate-groups.ts";
import type { Policy, UrlPolicy } from "../policy/types.ts";
import type { Drain } from "./drain.ts";
import type { ParentProxy } from "../parent/tunnel.ts";
import type { UpstreamTlsPool } from "./upstream-tls.ts";
import type { BlockPage } from "../block/block-page.ts";
import type { LiveFlows } from "./live-flows.ts";
import type { TrustList } from "../reverse/forwarded.ts";

/** Limits and timeouts a flow obeys (all from the config, with defaults there). */
export interface FlowLimits {
  readonly maxHeadBytes: number;
  readonly maxHeaders: number;
  readonly headerTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/** Everything a flow needs, injected: no globals, so flows run over in-memory connections in tests. */
export interface FlowContext {
  readonly runtime: Pick<Runtime, "dial" | "splice" | "tls">;
  /** The policy in force now (a function: a reload swaps it; open flows are rechecked through `liveFlows`). */
  readonly policy: () => Policy;
  readonly resolver: Resolver;
  readonly limits: FlowLimits;
  readonly flowLog: FlowLog;
  readonly listenerName: string;
  /** The listener's mode, for policy scoping and logs. */
  readonly mode: "explicit" | "socks5" | "transparent" | "transparent-http" | "reverse" | "redirect-https";
  /**
   * Clients speak TLS first (an HTTPS proxy listener): a connection refused before its
   * handshake is closed, never answered in plain HTTP it could not read.
   */
  readonly tlsFirst?: boolean;
  /**
   * Child proxies whose `X-Forwarded-For` names the client (an explicit listener's
   * `trustForwardedFrom`), as in force now (a reload holds for open connections' next
   * request); absent or undefined: the connection's peer is the client.
   */
  readonly forwardedFrom?: () => TrustList | undefined;
  /** Pseudonym used in `Via` headers, e.g. "tollgate". */
  readonly viaName: string;
  /** The SSRF address guard in force (a function: it is completed once listeners are bound). */
  readonly addressGuard?: () => AddressGuard | undefined;
  /**
   * Proxy authentication for explicit and SOCKS5 listeners, as in force now (a function: a reload
   * swaps the users); undefined when not configured.
   */
  readonly proxyAuth?: () => ProxyAuth | undefined;
  /**
   * The groups of a user a client certificate names (the `proxyAuth` user of that name's, or
   * with `proxyAuth.ldap.certificateUsers` the directory's; lower case), as configured now;
   * absent = none.
   */
  readonly userGroups?: CertificateGroupsOf;
  /** Tunnel slots (limits.maxTunnels): `acquire` returns false when all are taken. */
  readonly tunnels?: { acquire(): boolean; release(): void };
  /** Present when a CA is configured: what decrypting flows need. */
  readonly interception?: InterceptionContext;
  /** The gateway's shutdown: request loops end at the next request boundary once it starts. */
  readonly drain?: Drain;
  /** Parent proxies by name, as in force now (a reload swaps them with the policy naming them). */
  readonly parents?: () => ReadonlyMap<string, ParentProxy>;
  /**
   * URL rules for the requests the gateway can read (decrypted, plain HTTP), as in force now;
   * absent = none.
   */
  readonly urlPolicy?: () => UrlPolicy;
  /** What denied requests are answered with, as in force now; absent = the built-in page. */
  readonly blockPage?: () => BlockPage;
  /** Open flows whose decision the gateway rechecks (schedules, reloads); absent = none are. */
  readonly liveFlows?: LiveFlows;
}

/** A minted certificate for the client side of an intercepted connection. */
export interface MintedLeaf {
  readonly chainPem: string;
  readonly keyPem: string;
}

export interface InterceptionContext {
  /** Leaf for `host` (cached, coalesced); `sans` are extra names to include (mirrored from upstream). */
  readonly leaf: (host: string, sans?: readonly string[]) => Promise<MintedLeaf>;
  /** Extra CA certificates trusted for upstream validation, besides the system roots. */
  readonly extraCaPem: readonly string[];
  readonly clientMinVersion: TlsVersion;
  readonly upstreamMinVersion: TlsVersion;
  /** Copy the upstream certificate's DNS SANs into the minted leaf. */
  readonly mirrorUpstreamSans: boolean;
  /** Names in an upstream certificate (DER) for mirroring. */
  readonly certificateNames?: (der: Uint8Array) => Promise<string[]>;
  /** Idle upstream connections shared by decrypted sessions; absent = none are kept. */
  readonly upstreamPool?: UpstreamTlsPool;
}
