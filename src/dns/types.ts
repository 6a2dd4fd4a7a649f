import type { DnsServer } from "./server.ts";

/**
 * Resolver contract: a host name in, IP addresses out. Implementations are composed
 * (static map → cache → timeout → system) by `createResolver`.
 */

/** Where a resolution came from. */
export type ResolutionSource = "static" | "system" | "dns" | "cache" | "literal";

/** A successful resolution: one or more IP addresses as text (IPv4 first when the source orders them so). */
export interface Resolution {
  /** Never empty. Frozen: the same array may be handed to many callers. */
  readonly addresses: readonly string[];
  readonly source: ResolutionSource;
  /** How long the answer may be kept, when the source tells (a DNS server's TTL). */
  readonly ttlSeconds?: number;
}

/**
 * Resolves host names to IP addresses. Rejects with a `DnsError` when the name has no
 * addresses, the lookup timed out or failed, or with `signal.reason` when aborted.
 *
 * @example
 * ```ts
 * const { addresses } = await resolver.resolve("example.com", AbortSignal.timeout(1000));
 * ```
 */
export interface Resolver {
  resolve(name: string, signal?: AbortSignal): Promise<Resolution>;
  /** Lets go of what it keeps open for later lookups (connections to DNS servers), if anything. */
  close?(): void;
}

/** A getaddrinfo-like lookup supplied by the runtime adapter (`Runtime.lookup`). */
export type LookupFunction = (name: string) => Promise<string[]>;

/** Resolver settings (the `dns` section of the config). */
export interface DnsSettings {
  /** Static host map: normalised name → IP addresses. Consulted before any lookup. */
  readonly hosts: Readonly<Record<string, readonly string[]>>;
  /** Maximum cached names (positive and negative); 0 disables caching. */
  readonly cacheSize: number;
  /** How long a successful lookup is cached. */
  readonly ttlSeconds: number;
  /** How long a failed lookup is cached. */
  readonly negativeTtlSeconds: number;
  /** A lookup taking longer fails with a `DnsError` of code "timeout". */
  readonly timeoutMs: number;
  /** DNS servers asked directly instead of the system lookup; empty = the system's. */
  readonly servers: readonly DnsServer[];
  /** How `servers` are asked: UDP with TCP for truncated answers, TCP only, or TLS only (RFC 7858). */
  readonly transport: "udp" | "tcp" | "tls";
  /** TLS: CA certificates (a PEM file) trusted for the servers besides the system roots. */
  readonly caFile?: string;
}
