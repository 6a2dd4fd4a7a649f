/**
 * A resolver that asks configured DNS servers itself, over TCP (RFC 7766), instead of the
 * system's resolver: the A and AAAA queries go out together on one connection, answers carry
 * their TTL (the cache keeps them no longer), and servers are tried in order when one fails.
 *
 * @module
 */
import { concatBytes } from "../core/bytes.ts";
import type { Conn } from "../core/conn.ts";
import { formatAddress } from "../log/flow-record.ts";
import { DnsError } from "./error.ts";
import { IPV4_STRICT_RE, parseIpLiteral } from "./ip-literal.ts";
import { normaliseName } from "./name.ts";
import type { Resolution, Resolver } from "./types.ts";
import { type DnsAnswer, decodeResponse, encodeQuery, RCODE_NOERROR, RCODE_NXDOMAIN, TYPE_A, TYPE_AAAA } from "./wire.ts";

/** A DNS server: an IP address and port. */
export interface DnsServer {
  readonly address: string;
  readonly port: number;
}

/**
 * Parses a DNS server: an IP address (port 53), `ip:port` or `[ipv6]:port`.
 *
 * @example
 * ```ts
 * parseDnsServer("10.0.0.53"); // { address: "10.0.0.53", port: 53 }
 * parseDnsServer("[::1]:5353"); // { address: "::1", port: 5353 }
 * ```
 * @throws {TypeError} naming the text when it is not one of these
 */
export function parseDnsServer(text: string): DnsServer {
  const bad = () => new TypeError(`expected an IP address, "ip:port" or "[ipv6]:port", got ${JSON.stringify(text)}`);
  const ip = (t: string) => {
    try {
      return IPV4_STRICT_RE.test(t) || t.includes(":") ? parseIpLiteral(t)?.address : undefined;
    } catch {
      return undefined;
    }
  };
  const bare = ip(text);
  if (bare !== undefined) return { address: bare, port: 53 };
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(text);
  const address = m && (m[1] === undefined || m[1].includes(":")) ? ip(m[1] ?? m[2]!) : undefined;
  const port = m ? Number(m[3]) : 0;
  if (address === undefined || port < 1 || port > 65_535) throw bad();
  return { address, port };
}

/** Opens TCP to a server (the runtime's `dial`). */
export type DnsDial = (server: DnsServer, signal: AbortSignal) => Promise<Conn>;

type QueryType = typeof TYPE_A | typeof TYPE_AAAA;

interface Query {
  readonly id: number;
  readonly type: QueryType;
}

function randomIds(): [number, number] {
  const ids = crypto.getRandomValues(new Uint16Array(2));
  if (ids[0] === ids[1]) ids[1] = ids[0]! ^ 1;
  return [ids[0]!, ids[1]!];
}

function frame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + message.length);
  out[0] = message.length >> 8;
  out[1] = message.length & 0xff;
  out.set(message, 2);
  return out;
}

/**
 * Sends `queries` for `name` on one connection and reads their answers (any order). A
 * server that closes after answering some is asked the rest on a new connection, once.
 */
async function exchange(dial: DnsDial, server: DnsServer, name: string, queries: readonly Query[], signal: AbortSignal): Promise<Map<number, DnsAnswer>> {
  const answers = new Map<number, DnsAnswer>();
  for (let connection = 0; connection < 2 && answers.size < queries.length; connection++) {
    const pending = queries.filter((q) => !answers.has(q.id));
    const conn = await dial(server, signal);
    const onAbort = () => conn.close();
    signal.addEventListener("abort", onAbort, { once: true });
    const reader = conn.readable.getReader();
    try {
      const writer = conn.writable.getWriter();
      await writer.write(concatBytes(pending.map((q) => frame(encodeQuery(q.id, name, q.type)))));
      writer.releaseLock();
      let buffered: Uint8Array = new Uint8Array(0);
      while (answers.size < queries.length) {
        const { done, value } = await reader.read();
        signal.throwIfAborted();
        if (done) break;
        buffered = concatBytes([buffered, value]);
        while (buffered.length >= 2) {
          const length = (buffered[0]! << 8) | buffered[1]!;
          if (length < 12) throw new Error(`bad DNS message length ${length}`);
          if (buffered.length < 2 + length) break;
          const message = buffered.subarray(2, 2 + length);
          buffered = buffered.subarray(2 + length);
          const id = (message[0]! << 8) | message[1]!;
          const query = pending.find((q) => q.id === id && !answers.has(q.id));
          if (!query) throw new Error(`answer to no pending query (ID ${id})`);
          answers.set(id, decodeResponse(message, id, name, query.type));
        }
      }
      if (answers.size === 0) throw new Error("connection closed without an answer");
    } finally {
      signal.removeEventListener("abort", onAbort);
      reader.releaseLock();
      conn.close();
    }
  }
  if (answers.size < queries.length) throw new Error("connection closed before every answer");
  return answers;
}

function why(e: unknown): string {
  if (e instanceof Error) return (e as Error & { code?: string }).code ?? e.message;
  return String(e);
}

/**
 * Resolves by asking `servers` in order, each within `attemptTimeoutMs`. An answer (the
 * addresses, or "no such name" / "no address") ends the walk; a server that cannot be
 * reached, times out, sends a malformed answer or fails (SERVFAIL, REFUSED…) passes the name
 * on to the next. IPv4 addresses come first. The resolution's `ttlSeconds` is the smallest
 * TTL of the records used.
 *
 * @example
 * ```ts
 * const r = new ServerResolver([{ address: "10.0.0.53", port: 53 }], (s, signal) => runtime.dial({ ...s, signal }), 2000);
 * await r.resolve("example.com"); // { addresses: [...], source: "dns", ttlSeconds: 300 }
 * ```
 */
export class ServerResolver implements Resolver {
  readonly #servers: readonly DnsServer[];
  readonly #dial: DnsDial;
  readonly #attemptTimeoutMs: number;

  constructor(servers: readonly DnsServer[], dial: DnsDial, attemptTimeoutMs: number) {
    if (servers.length === 0) throw new RangeError("at least one DNS server is needed");
    if (!(attemptTimeoutMs > 0)) throw new RangeError(`DNS attempt timeout must be positive, got ${attemptTimeoutMs}`);
    this.#servers = servers;
    this.#dial = dial;
    this.#attemptTimeoutMs = attemptTimeoutMs;
  }

  async resolve(name: string, signal?: AbortSignal): Promise<Resolution> {
    signal?.throwIfAborted();
    const hostname = normaliseName(name);
    const failures: string[] = [];
    for (const server of this.#servers) {
      const attempt = AbortSignal.timeout(this.#attemptTimeoutMs);
      const bounded = signal ? AbortSignal.any([signal, attempt]) : attempt;
      const [idA, idAAAA] = randomIds();
      let answers: Map<number, DnsAnswer>;
      try {
        answers = await exchange(this.#dial, server, hostname, [{ id: idA, type: TYPE_A }, { id: idAAAA, type: TYPE_AAAA }], bounded);
      } catch (e) {
        if (signal?.aborted) throw signal.reason;
        failures.push(`${formatAddress(server.address, server.port)}: ${attempt.aborted ? `no answer within ${this.#attemptTimeoutMs} ms` : why(e)}`);
        continue;
      }
      const a = answers.get(idA)!;
      const aaaa = answers.get(idAAAA)!;
      const failed = [a, aaaa].find((x) => x.rcode !== RCODE_NOERROR && x.rcode !== RCODE_NXDOMAIN);
      if (failed) {
        failures.push(`${formatAddress(server.address, server.port)}: response code ${failed.rcode}`);
        continue;
      }
      const addresses = [...a.addresses, ...aaaa.addresses];
      if (addresses.length === 0) throw new DnsError("notfound", hostname);
      const ttls = [a.ttlSeconds, aaaa.ttlSeconds].filter((t) => t !== undefined);
      return { addresses: Object.freeze(addresses), source: "dns", ttlSeconds: Math.min(...ttls) };
    }
    throw new DnsError("error", hostname, `Lookup of ${JSON.stringify(hostname)} failed: ${failures.join("; ")}`);
  }
}
