import { CachingResolver } from "./cache.ts";
import { DnsError } from "./error.ts";
import { parseIpLiteral } from "./ip-literal.ts";
import { hostNameError, normaliseName } from "./name.ts";
import { StaticResolver } from "./static.ts";
import type { OpenDatagram } from "../core/datagram.ts";
import { type DnsExchangeObserver, ServerResolver } from "./server-resolver.ts";
import { SystemResolver } from "./system.ts";
import type { DnsDial } from "./stream-pool.ts";
import { TimeoutResolver } from "./timeout.ts";
import type { DnsSettings, LookupFunction, Resolution, Resolver } from "./types.ts";

/** Extra options for `createResolver`. */
export interface CreateResolverOptions {
  /** Clock in milliseconds for the cache (tests inject one). Default `Date.now`. */
  readonly now?: () => number;
  /** Opens TCP (with transport "tls", TLS) to a DNS server; needed when `settings.servers` is not empty. */
  readonly dial?: DnsDial;
  /** Opens a UDP socket; needed when `settings.servers` is not empty and the transport is "udp". */
  readonly openDatagram?: OpenDatagram;
  /** Told of every exchange with a configured DNS server (e.g. for metrics). */
  readonly onExchange?: DnsExchangeObserver;
  /** The system's hosts file (`parseHostsFile`), answered before the system lookup (not with `servers`). */
  readonly hostsFile?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Compose the gateway's resolver from the `dns` config: IP literals are returned as they
 * are (canonical form, source "literal"), then the static hosts map, then a bounded TTL
 * cache over the system lookup (or the configured DNS servers) with a timeout. Names that are not valid host names reject
 * with a `DnsError` of code "notfound" without a lookup.
 *
 * @example
 * ```ts
 * const resolver = createResolver(config.dns, (name) => runtime.lookup(name));
 * const { addresses, source } = await resolver.resolve("origin.test");
 * ```
 */
export function createResolver(
  settings: DnsSettings,
  lookup: LookupFunction,
  options: CreateResolverOptions = {},
): Resolver {
  const hosts = new StaticResolver(settings.hosts);
  const upstream = upstreamResolver(settings, lookup, options);
  // with servers, the resolver keeps to timeoutMs itself and names each server in its error;
  // the bound here is a backstop
  const system = new TimeoutResolver(upstream, settings.timeoutMs + (settings.servers.length > 0 ? BACKSTOP_MS : 0));
  const cached = new CachingResolver(system, {
    maxEntries: settings.cacheSize,
    ttlMs: settings.ttlSeconds * 1000,
    negativeTtlMs: settings.negativeTtlSeconds * 1000,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  return {
    resolve(name: string, signal?: AbortSignal): Promise<Resolution> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      let literal;
      try {
        literal = parseIpLiteral(name);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return Promise.reject(new DnsError("notfound", name, message, { cause: error }));
      }
      if (literal !== undefined) return Promise.resolve({ addresses: Object.freeze([literal.address]), source: "literal" });
      const hostname = normaliseName(name);
      const invalid = hostNameError(hostname);
      if (invalid !== undefined) return Promise.reject(new DnsError("notfound", hostname, `Invalid host name ${JSON.stringify(name)}`));
      const addresses = hosts.get(hostname);
      if (addresses !== undefined) return Promise.resolve({ addresses, source: "static" });
      return cached.resolve(hostname, signal);
    },
    close: () => upstream.close?.(),
  };
}

/**
 * How long a TCP or TLS connection to a DNS server stays open for the next lookups. Servers
 * commonly close idle clients after about 10 s (RFC 7766 §6.2.3); one that does is simply
 * dialled again.
 */
const STREAM_KEEPALIVE_MS = 10_000;

/** How far past `timeoutMs` the outer bound of a lookup through servers lies: theirs ends first. */
const BACKSTOP_MS = 250;

/**
 * The configured DNS servers, each given an equal share of the timeout (at least 500 ms) so
 * a silent first server leaves time for the next; else the system lookup. Over UDP, a
 * query still unanswered is sent again every third of that share (200 ms to 1 s).
 */
function upstreamResolver(settings: DnsSettings, lookup: LookupFunction, options: CreateResolverOptions): Resolver {
  if (settings.servers.length === 0) return new SystemResolver(lookup, options.hostsFile);
  const { dial, openDatagram } = options;
  if (!dial) throw new TypeError("DNS servers are configured but no dial function was given");
  if (settings.transport === "udp" && !openDatagram) throw new TypeError("DNS over UDP is configured but this runtime has no UDP");
  const attemptMs = Math.max(500, Math.floor(settings.timeoutMs / settings.servers.length));
  const retransmitMs = Math.min(1000, Math.max(200, Math.floor(attemptMs / 3)));
  const udp = settings.transport === "udp" && openDatagram ? { open: openDatagram, retransmitMs } : undefined;
  return new ServerResolver(settings.servers, dial, attemptMs, udp, options.onExchange, {
    stream: settings.transport === "tls" ? "tls" : "tcp",
    keepAliveMs: STREAM_KEEPALIVE_MS,
    deadlineMs: settings.timeoutMs,
  });
}
