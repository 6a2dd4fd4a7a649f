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

/**
 * Once the A or the AAAA question is answered with addresses, how much longer the other is
 * waited for before the lookup goes on without it: enough for a slower recursion of the
 * other family, far less than a server's share of the timeout.
 */
export const ONE_FAMILY_GRACE_MS = 500;

function randomIds(): [number, number] {
  const ids = crypto.getRandomValues(new Uint16Array(2));
  if (ids[0] === ids[1]) ids[1] = ids[0]! ^ 1;
  return [ids[0]!, ids[1]!];
}

/** Why an answer without addresses is no answer: its response code, or that it is a referral. */
function refusal(a: DnsAnswer): string {
  return a.referral ? "a referral, not an answer (the server does not recurse)" : `response code ${a.rcode}`;
}

function why(e: unknown): string {
  if (e instanceof Error) return (e as Error & { code?: string }).code ?? e.message;
  return String(e);
}

/**
 * `exchange`, with its result told to `observe`. `settled`: whether the lookup had its answer
 * when the exchange was cut short (one family's, the other given up on after the grace): then
 * it answered.
 */
async function observed<T>(
  observe: DnsExchangeObserver,
  server: DnsServer,
  transport: "udp" | "tcp" | "tls",
  exchange: Promise<T>,
  settled: () => boolean,
  result: (value: T) => DnsExchangeResult = () => "answered",
): Promise<T> {
  let value: T;
  try {
    value = await exchange;
  } catch (e) {
    observe(server, transport, settled() ? "answered" : "failed");
    throw e;
  }
  observe(server, transport, result(value));
  return value;
}

/**
 * Resolves by asking `servers` in order, each within `attemptTimeoutMs`. An answer (the
 * addresses, or "no such name" / "no address") ends the walk; a server that cannot be
 * reached, times out, sends a malformed answer, or fails (SERVFAIL, REFUSED…) both questions
 * or one with no address from the other, passes the name on to the next. One question's
 * addresses, or its "no such name", are an answer when the other fails or is still
 * unanswered `oneFamilyGraceMs` later (and the exchange counts as answered). IPv4
 * addresses come first. The resolution's `ttlSeconds` is the smallest TTL of the records used. When no server answers: a DnsError "timeout" if
 * every one was silent, else "error", naming each and why. Without `udp`, every question
 * goes over TCP.
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
  readonly #deadlineMs: number | undefined;
  readonly #oneFamilyGraceMs: number;

  /**
   * `options.stream`: what `dial` opens, "tls" for DNS over TLS (RFC 7858; no UDP then), as
   * the observer is told. `options.keepAliveMs`: how long a TCP or TLS connection to a
   * server stays open with nothing in flight, for the next lookups (default 0: closed after
   * each exchange). `options.deadlineMs`: the whole walk's time; a server's attempt gets
   * what is left of it if that is less than `attemptTimeoutMs`, and servers not reached in
   * it are named as not asked (default: no bound but the attempts'). `options.oneFamilyGraceMs`:
   * once one question's answer has addresses, how much longer the other one is waited for
   * (default {@link ONE_FAMILY_GRACE_MS}).
   */
  constructor(
    servers: readonly DnsServer[],
    dial: DnsDial,
    attemptTimeoutMs: number,
    udp?: UdpTransport,
    observe: DnsExchangeObserver = () => {},
    options: { readonly stream?: "tcp" | "tls"; readonly keepAliveMs?: number; readonly deadlineMs?: number; readonly oneFamilyGraceMs?: number } = {},
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
    this.#deadlineMs = options.deadlineMs;
    this.#oneFamilyGraceMs = options.oneFamilyGraceMs ?? ONE_FAMILY_GRACE_MS;
  }

  /** Closes the connections kept open for later lookups. */
  close(): void {
    this.#streams.close();
  }

  /**
   * UDP first, and the queries whose answers came back truncated or recased again over TCP; or
   * TCP only. `heard` is told of each answer as it comes (also when a later step fails).
   */
  async #exchange(server: DnsServer, name: string, queries: readonly DnsQuery[], signal: AbortSignal, heard: (q: DnsQuery, a: DnsAnswer) => void, settled: () => boolean): Promise<void> {
    const overTcp = (asked: readonly DnsQuery[]) => observed(this.#observe, server, this.#stream, this.#streams.exchange(server, name, asked, signal, heard), settled);
    if (!this.#udp) {
      await overTcp(queries);
      return;
    }
    const udp = udpExchange(this.#udp.open, server, name, queries, signal, this.#udp.retransmitMs, heard);
    const { truncated, recased } = await observed(this.#observe, server, "udp", udp, settled, (o) =>
      o.recased.length > 0 ? "case-mismatch" : o.truncated.length > 0 ? "truncated" : "answered"
    );
    const again = [...truncated, ...recased];
    if (again.length > 0) await overTcp(again);
  }

  async resolve(name: string, signal?: AbortSignal): Promise<Resolution> {
    signal?.throwIfAborted();
    const hostname = normaliseName(name);
    const failures: string[] = [];
    const until = this.#deadlineMs === undefined ? Infinity : Date.now() + this.#deadlineMs;
    let silentOnly = true;
    for (const [i, server] of this.#servers.entries()) {
      const where = formatAddress(server.address, server.port);
      const left = until - Date.now();
      if (left <= 0) {
        failures.push(...this.#servers.slice(i).map((s) => `${formatAddress(s.address, s.port)}: not asked, no time left`));
        break;
      }
      const share = Math.min(this.#attemptTimeoutMs, left);
      const attempt = AbortSignal.timeout(share);
      // one family's addresses in hand, the other question gets a little longer only: a
      // server (or a firewall before it) that drops AAAA questions must not cost every
      // lookup its whole share, nor fail it
      const [idA, idAAAA] = randomIds();
      const queries: DnsQuery[] = [{ id: idA, type: TYPE_A }, { id: idAAAA, type: TYPE_AAAA }];
      const enough = new AbortController();
      let grace: ReturnType<typeof setTimeout> | undefined;
      const got = new Map<number, DnsAnswer>();
      // an answer that settles the lookup: addresses, or no such name (which is so for every type)
      const settles = (a: DnsAnswer) => a.addresses.length > 0 || a.rcode === RCODE_NXDOMAIN;
      const heard = (q: DnsQuery, answer: DnsAnswer) => {
        got.set(q.id, answer);
        if (grace === undefined && settles(answer) && got.size < queries.length) {
          grace = setTimeout(() => enough.abort(new Error("the other family's answer is late")), this.#oneFamilyGraceMs);
        }
      };
      const bounded = AbortSignal.any([...(signal ? [signal] : []), attempt, enough.signal]);
      try {
        await this.#exchange(server, hostname, queries, bounded, heard, () => enough.signal.aborted);
      } catch (e) {
        if (signal?.aborted) throw signal.reason;
        const answers = [...got.values()];
        if (!answers.some(settles)) {
          // a question answered with a failure (SERVFAIL, REFUSED) while the other went unanswered
          const refused = answers.find((a) => a.rcode !== RCODE_NOERROR || a.referral);
          const silent = `no answer within ${share} ms`;
          const timedOut = attempt.aborted || enough.signal.aborted;
          if (!timedOut || refused) silentOnly = false;
          const reason = refused ? refusal(refused) : timedOut ? (e instanceof IgnoredDatagrams ? `${silent} (${e.message})` : silent) : why(e);
          failures.push(`${where}: ${reason}`);
          continue;
        }
        // the other question failed or went unanswered: the addresses (or no such name) in hand are the answer
      } finally {
        clearTimeout(grace);
      }
      const answered = [got.get(idA), got.get(idAAAA)].filter((x) => x !== undefined);
      const addresses = answered.flatMap((x) => x.addresses);
      // addresses of one family are an answer even when the other question failed (as
      // getaddrinfo has it): a server authoritative for its names alone may refuse AAAA
      const failed = answered.find((x) => (x.rcode !== RCODE_NOERROR && x.rcode !== RCODE_NXDOMAIN) || x.referral);
      if (failed && addresses.length === 0) {
        silentOnly = false;
        failures.push(`${where}: ${refusal(failed)}`);
        continue;
      }
      if (addresses.length === 0) throw new DnsError("notfound", hostname);
      const ttls = answered.map((x) => x.ttlSeconds).filter((t) => t !== undefined);
      return { addresses: Object.freeze(addresses), source: "dns", ttlSeconds: Math.min(...ttls) };
    }
    // every server silent: a timeout (504), naming each; else a failure (502)
    const code = silentOnly ? "timeout" : "error";
    throw new DnsError(code, hostname, `Lookup of ${JSON.stringify(hostname)} ${silentOnly ? "timed out" : "failed"}: ${failures.join("; ")}`);
  }
}
