/**
 * DNS over UDP (RFC 1035 §4.2.1), hardened against forged answers the way stub resolvers
 * are (RFC 5452): a fresh socket (so a fresh ephemeral port) per exchange, random IDs, and
 * only a datagram from the server's own address and port, with a pending ID and the question
 * echoed, is taken. Anything else is ignored rather than failing the exchange, so a forger
 * cannot make the gateway give up on a good server. Each question's name is spelled in a
 * random mix of cases (DNS 0x20, see `mixed-case.ts`); an answer that echoes it in other
 * cases is not taken, and its question is left for TCP, as a truncated one is: a forger
 * who guessed port and ID gains nothing, and a server that does not keep the case (rare)
 * still answers, over TCP. Unanswered queries are sent again every
 * `retransmitMs` (UDP loses packets); a truncated answer (TC) is left for TCP. Queries offer
 * EDNS(0) answers of up to 1232 bytes, so long answers rarely need TCP; a server that does
 * not know EDNS (FORMERR or NOTIMP, RFC 6891 §7, the question echoed or not) is asked again without it.
 *
 * @module
 */
import type { Datagram, OpenDatagram } from "../core/datagram.ts";
import { formatAddress } from "../log/flow-record.ts";
import { parseIpLiteral } from "./ip-literal.ts";
import { echoesSpelling, mixCase } from "./mixed-case.ts";
import type { DnsServer } from "./server.ts";
import type { DnsQuery } from "./stream-pool.ts";
import { type DnsAnswer, decodeResponse, EDNS_UDP_PAYLOAD, encodeQuery, RCODE_FORMERR, RCODE_NOTIMP } from "./wire.ts";

/** The TC (truncated) bit of the header's flags byte 2. */
const TC = 0x02;
/** The QR (response) bit of the same byte. */
const QR = 0x80;

/** A random message ID no query in `used` has. */
function freshId(used: ReadonlyMap<number, unknown>): number {
  for (;;) {
    const id = crypto.getRandomValues(new Uint16Array(1))[0]!;
    if (!used.has(id)) return id;
  }
}

/**
 * Whether the response `msg` repeats the question of `query`: one question, the name in any
 * case (a server that does not keep it is asked over TCP anyway), type and class. Both carry
 * it uncompressed from byte 12.
 */
function echoesQuestion(msg: Uint8Array, query: Uint8Array): boolean {
  let end = 12;
  while (end < query.length && query[end] !== 0) end += 1 + query[end]!;
  end += 5; // the root label, type and class
  if (msg.length < end || msg[4] !== 0 || msg[5] !== 1) return false;
  const fold = (c: number) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
  for (let i = 12; i < end; i++) if (fold(msg[i]!) !== fold(query[i]!)) return false;
  return true;
}

/**
 * What a UDP exchange got: answers, and the queries to ask again over TCP: those whose answer
 * was truncated, and those answered with the name in other cases than it was asked.
 */
export interface UdpOutcome {
  readonly answers: Map<number, DnsAnswer>;
  readonly truncated: readonly DnsQuery[];
  readonly recased: readonly DnsQuery[];
}

/**
 * Thrown when the exchange's signal aborted after datagrams were ignored: says what arrived
 * instead of an answer (e.g. a multi-homed server answering from another address).
 */
export class IgnoredDatagrams extends Error {
  override name = "IgnoredDatagrams";
}

function canonical(address: string): string | undefined {
  try {
    return parseIpLiteral(address.replace(/%.*$/, ""))?.address;
  } catch {
    return undefined;
  }
}

/** A response with no question and no records: a header alone (`QDCOUNT` … `ARCOUNT` all 0). */
function isBareHeader(data: Uint8Array): boolean {
  return (data[2]! & QR) !== 0 && data.subarray(4, 12).every((b) => b === 0);
}

/** Why `d` is not an answer to one of `pending` from `server`, or undefined when it is. */
function unusable(d: Datagram, server: DnsServer): string | undefined {
  if (d.port !== server.port || canonical(d.address) !== server.address) {
    return `a datagram from ${formatAddress(canonical(d.address) ?? d.address, d.port)}, not the server`;
  }
  if (d.data.length < 12) return "a datagram too short to be a DNS message";
  return undefined;
}

/**
 * Sends `queries` for `name` to `server` over UDP and collects their answers until each has
 * an answer or a truncation, or `signal` aborts (then throws its reason, or
 * `IgnoredDatagrams` when something other than answers arrived). `heard` is told of each
 * answer as it comes, also of those before an abort. Answers are keyed by the queries' IDs,
 * though a query asked again without EDNS goes out with an ID of its own.
 */
export async function udpExchange(
  open: OpenDatagram,
  server: DnsServer,
  name: string,
  queries: readonly DnsQuery[],
  signal: AbortSignal,
  retransmitMs: number,
  heard: (query: DnsQuery, answer: DnsAnswer) => void = () => {},
): Promise<UdpOutcome> {
  signal.throwIfAborted();
  const socket = await open(server.address, server.port);
  const answers = new Map<number, DnsAnswer>();
  const truncated: DnsQuery[] = [];
  const recased: DnsQuery[] = [];
  const pending = () => queries.filter((q) => !answers.has(q.id) && !truncated.includes(q) && !recased.includes(q));
  const spellings = new Map(queries.map((q) => [q.id, mixCase(name)]));
  const messages = new Map(queries.map((q) => [q.id, encodeQuery(q.id, spellings.get(q.id)!, q.type, EDNS_UDP_PAYLOAD)]));
  /** The query each ID on the wire asks. */
  const onWire = new Map(queries.map((q) => [q.id, q]));
  const withoutEdns = new Set<number>();
  /** Whether `rcode` to `query` says its server does not know EDNS (and it was asked with it). */
  const refusesEdns = (query: DnsQuery, rcode: number) => (rcode === RCODE_FORMERR || rcode === RCODE_NOTIMP) && !withoutEdns.has(query.id);
  /**
   * A server from before EDNS refuses the OPT record: the same question, plain, under a new
   * ID (replacing `id`), so the refusal of a resend of the EDNS query, still on its way, is
   * not taken for the answer to this one.
   */
  const askPlainly = async (query: DnsQuery, id: number) => {
    withoutEdns.add(query.id);
    onWire.delete(id);
    const plainId = freshId(onWire);
    onWire.set(plainId, query);
    messages.set(query.id, encodeQuery(plainId, spellings.get(query.id)!, query.type));
    await socket.send(messages.get(query.id)!);
  };
  const sendPending = () => Promise.all(pending().map((q) => socket.send(messages.get(q.id)!)));
  let ignored = 0;
  let lastIgnored = "";
  const ignore = (why: string) => {
    ignored++;
    lastIgnored = why;
  };
  if (signal.aborted) {
    // it aborted while the socket was opening: the listener below would never hear of it
    socket.close();
    throw signal.reason;
  }
  const onAbort = () => socket.close();
  signal.addEventListener("abort", onAbort, { once: true });
  const timer = setInterval(() => void sendPending().catch(() => {}), retransmitMs);
  const reader = socket.readable.getReader();
  try {
    await sendPending();
    while (pending().length > 0) {
      const { done, value } = await reader.read();
      if (signal.aborted) break;
      if (done) throw new Error("UDP socket closed");
      const why = unusable(value, server);
      if (why !== undefined) {
        ignore(why);
        continue;
      }
      const id = (value.data[0]! << 8) | value.data[1]!;
      const query = onWire.get(id);
      if (!query || !pending().includes(query)) {
        ignore(`an answer to no pending query (ID ${id})`);
        continue;
      }
      const message = messages.get(query.id)!;
      if (value.data[2]! & TC) {
        // only a response that repeats the question sends it to TCP: not a bare header with
        // a guessed ID (a forger moving questions off UDP must at least echo the question)
        if (!(value.data[2]! & QR) || !echoesQuestion(value.data, message)) {
          ignore("a truncated datagram that does not repeat the question");
          continue;
        }
        truncated.push(query);
        continue;
      }
      if (isBareHeader(value.data) && refusesEdns(query, value.data[3]! & 0x0f)) {
        // some servers refuse what they cannot parse with a header alone, the question left
        // out: asking again plainly is all a forger with the right ID could get from it
        await askPlainly(query, id);
        continue;
      }
      let answer: DnsAnswer;
      try {
        answer = decodeResponse(value.data, id, name, query.type);
      } catch (e) {
        ignore(e instanceof Error ? e.message : String(e));
        continue;
      }
      if (!echoesSpelling(value.data, message)) {
        recased.push(query);
        continue;
      }
      if (refusesEdns(query, answer.rcode)) {
        await askPlainly(query, id);
        continue;
      }
      answers.set(query.id, answer);
      heard(query, answer);
    }
    if (signal.aborted) {
      if (ignored === 0) throw signal.reason;
      throw new IgnoredDatagrams(`ignored ${ignored} datagram${ignored === 1 ? "" : "s"}, the last: ${lastIgnored}`);
    }
    return { answers, truncated, recased };
  } finally {
    clearInterval(timer);
    signal.removeEventListener("abort", onAbort);
    reader.releaseLock();
    socket.close();
  }
}
