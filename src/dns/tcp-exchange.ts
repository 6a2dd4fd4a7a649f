/**
 * DNS over TCP (RFC 7766): length-prefixed queries out on one connection, their answers in,
 * in any order.
 *
 * @module
 */
import { concatBytes } from "../core/bytes.ts";
import type { Conn } from "../core/conn.ts";
import type { DnsServer } from "./server.ts";
import { type DnsAnswer, decodeResponse, encodeQuery, type TYPE_A, type TYPE_AAAA } from "./wire.ts";

/** Opens TCP to a server (the runtime's `dial`), or TLS for DNS over TLS (RFC 7858: the same framing). */
export type DnsDial = (server: DnsServer, signal: AbortSignal) => Promise<Conn>;

/** One question sent: its message ID and record type. */
export interface DnsQuery {
  readonly id: number;
  readonly type: typeof TYPE_A | typeof TYPE_AAAA;
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
 * Anything malformed or unasked-for fails the exchange: over TCP nobody else can inject it.
 */
export async function tcpExchange(dial: DnsDial, server: DnsServer, name: string, queries: readonly DnsQuery[], signal: AbortSignal): Promise<Map<number, DnsAnswer>> {
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
