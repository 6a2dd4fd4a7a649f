/**
 * A resolver that asks configured DNS servers itself instead of the system's resolver: the
 * A and AAAA queries go out together, over UDP with TCP for truncated answers (or over TCP
 * only, or TLS only: the dial opens TLS then), answers carry their TTL (the cache keeps them no longer), and servers are tried in
 * order when one fails.
 *
 * @module
 */
import type { OpenDatagram } from "../core/datagram.ts";
import { formatAddress } from "../log/flow-record.ts";
import { DnsError } from "./error.ts";
import { normaliseName } from "./name.ts";
import type { DnsServer } from "./server.ts";
import { type DnsDial, type DnsQuery, DnsStreamPool } from "./stream-pool.ts";
import type { Resolution, Resolver } from "./types.ts";
import { IgnoredDatagrams, udpExchange } from "./udp-exchange.ts";
import { type DnsAnswer, RCODE_NOERROR, RCODE_NXDOMAIN, TYPE_A, TYPE_AAAA } from "./wire.ts";

/**
 * What came of one exchange with a server: "answered" (whatever the response code), "truncated"
 * (over UDP, some answer too long: asked again over TCP), "case-mismatch" (over UDP, some
 * answer did not echo the name's random case: asked again over TCP; a server that does not
 * keep case, or a forgery) or "failed" (unreachable, silent until its share of the timeout,
 * malformed).
 */
export type DnsExchangeResult = "answered" | "truncated" | "case-mismatch" | "failed";

/** Told of every exchange with a server, e.g. to count them per server and transport. */
export type DnsExchangeObserver = (server: DnsServer, transport: "udp" | "tcp" | "tls", result: DnsExchangeResult) => void;

/** Asking over UDP first: how to open a socket, and how often to send unanswered queries again. */
export interface UdpTransport {
  readonly open: OpenDatagram;
  readonly retransmitMs: number;
}

function randomIds(): [number, number] {
  const ids = crypto.getRandomValues(new Uint16Array(2));
  if (ids[0] === ids[1]) ids[1] = ids[0]! ^ 1;
  return [ids[0]!, ids[1]!];
}

function why(e: unknown): string {
  if (e instanceof Error) return (e as Error & { code?: string }).code ?? e.message;
  return String(e);
}

/** `exchange`, with its result told to `observe`. */
async function observed<T>(observe: DnsExchangeObserver, server: DnsServer, transport: "udp" | "tcp" | "tls", exchange: Promise<T>, result: (value: T) => DnsExchangeResult = () => "answered"): Promise<T> {
  let value: T;
  try {
    value = await exchange;
  } catch (e) {
    observe(server, transport, "failed");
    throw e;
  }
  observe(server, transport, result(value));
  return value;
}

/**
 * Resolves by asking `servers` in order, each within `attemptTimeoutMs`. An answer (the
 * addresses, or "no such name" / "no address") ends the walk; a server that cannot be
 * reached, times out, sends a malformed answer, or fails (SERVFAIL, REFUSED…) both questions
 * or one with no address from the other, passes the name on to the next. IPv4 addresses
 * come first. The resolution's `ttlSeconds` is the smallest TTL of the records used.
 * Without `udp`, every question goes over TCP.
 *
 * @example
 * ```ts
 * const r = new ServerResolver([{ address: "10.0.0.53", port: 53 }], (s, signal) => runtime.dial({ ...s, signal }), 2000,
 *   { open: runtime.openDatagram, retransmitMs: 700 });
 * await r.resolve("example.com"); // { addresses: [...], source: "dns", ttlSeconds: 300 }
 * ```
 */
export class ServerResolver implements Resolver {
  readonly #servers: readonly DnsServer[];
  readonly #attemptTimeoutMs: number;
  readonly #udp: UdpTransport | undefined;
  readonly #observe: DnsExchangeObserver;
  readonly #stream: "tcp" | "tls";
  readonly #streams: DnsStreamPool;

  /**
   * `options.stream`: what `dial` opens, "tls" for DNS over TLS (RFC 7858; no UDP then), as
   * the observer is told. `options.keepAliveMs`: how long a TCP or TLS connection to a
   * server stays open with nothing in flight, for the next lookups (default 0: closed after
   * each exchange).
   */
  constructor(
    servers: readonly DnsServer[],
    dial: DnsDial,
    attemptTimeoutMs: number,
    udp?: UdpTransport,
    observe: DnsExchangeObserver = () => {},
    options: { readonly stream?: "tcp" | "tls"; readonly keepAliveMs?: number } = {},
  ) {
    if (servers.length === 0) throw new RangeError("at least one DNS server is needed");
    if (!(attemptTimeoutMs > 0)) throw new RangeError(`DNS attempt timeout must be positive, got ${attemptTimeoutMs}`);
    if (udp && !(udp.retransmitMs > 0)) throw new RangeError(`DNS retransmit interval must be positive, got ${udp.retransmitMs}`);
    this.#servers = servers;
    this.#attemptTimeoutMs = attemptTimeoutMs;
    this.#udp = udp;
    this.#observe = observe;
    this.#stream = options.stream ?? "tcp";
    this.#streams = new DnsStreamPool(dial, options.keepAliveMs ?? 0);
  }

  /** Closes the connections kept open for later lookups. */
  close(): void {
    this.#streams.close();
  }

  /** UDP first, and the queries whose answers came back truncated or recased again over TCP; or TCP only. */
  async #exchange(server: DnsServer, name: string, queries: readonly DnsQuery[], signal: AbortSignal): Promise<Map<number, DnsAnswer>> {
    const overTcp = (asked: readonly DnsQuery[]) => observed(this.#observe, server, this.#stream, this.#streams.exchange(server, name, asked, signal));
    if (!this.#udp) return overTcp(queries);
    const udp = udpExchange(this.#udp.open, server, name, queries, signal, this.#udp.retransmitMs);
    const { answers, truncated, recased } = await observed(this.#observe, server, "udp", udp, (o) =>
      o.recased.length > 0 ? "case-mismatch" : o.truncated.length > 0 ? "truncated" : "answered"
    );
    const again = [...truncated, ...recased];
    if (again.length === 0) return answers;
    for (const [id, answer] of await overTcp(again)) answers.set(id, answer);
    return answers;
  }

  async resolve(name: string, signal?: AbortSignal): Promise<Resolution> {
    signal?.throwIfAborted();
    const hostname = normaliseName(name);
    const failures: string[] = [];
    for (const server of this.#servers) {
      const attempt = AbortSignal.timeout(this.#attemptTimeoutMs);
      const bounded = signal ? AbortSignal.any([signal, attempt]) : attempt;
      const [idA, idAAAA] = randomIds();
      const queries: DnsQuery[] = [{ id: idA, type: TYPE_A }, { id: idAAAA, type: TYPE_AAAA }];
      let answers: Map<number, DnsAnswer>;
      try {
        answers = await this.#exchange(server, hostname, queries, bounded);
      } catch (e) {
        if (signal?.aborted) throw signal.reason;
        const silent = `no answer within ${this.#attemptTimeoutMs} ms`;
        failures.push(`${formatAddress(server.address, server.port)}: ${attempt.aborted ? (e instanceof IgnoredDatagrams ? `${silent} (${e.message})` : silent) : why(e)}`);
        continue;
      }
      const a = answers.get(idA)!;
      const aaaa = answers.get(idAAAA)!;
      const addresses = [...a.addresses, ...aaaa.addresses];
      // addresses of one family are an answer even when the other question failed (as
      // getaddrinfo has it): a server authoritative for its names alone may refuse AAAA
      const failed = [a, aaaa].find((x) => x.rcode !== RCODE_NOERROR && x.rcode !== RCODE_NXDOMAIN);
      if (failed && addresses.length === 0) {
        failures.push(`${formatAddress(server.address, server.port)}: response code ${failed.rcode}`);
        continue;
      }
      if (addresses.length === 0) throw new DnsError("notfound", hostname);
      const ttls = [a.ttlSeconds, aaaa.ttlSeconds].filter((t) => t !== undefined);
      return { addresses: Object.freeze(addresses), source: "dns", ttlSeconds: Math.min(...ttls) };
    }
    throw new DnsError("error", hostname, `Lookup of ${JSON.stringify(hostname)} failed: ${failures.join("; ")}`);
  }
}
