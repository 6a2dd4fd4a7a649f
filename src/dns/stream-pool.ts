/**
 * DNS over TCP or TLS with connections kept open for later lookups (RFC 7766 §6.2.1, RFC
 * 7858 §3.4). A connection carries one lookup at a time. On a new connection its queries
 * (A and AAAA) go out together; on a kept one, one after the other, each sent once the
 * answer before it arrived.
 *
 * Why not pipeline on kept connections: many servers (dnsmasq among them) write each answer
 * without TCP_NODELAY, so a second answer waits for the client's ACK of the first, which
 * the client's kernel delays (up to 40 ms on Linux) once the connection looks interactive.
 * A fresh connection is still in quick-ACK mode; on a kept one, each query carries the ACK
 * of the answer before it. So a lookup on a kept connection takes two round trips and no
 * handshake; on a new one, the handshake and one.
 *
 * A server's connections are made as lookups need them (up to `MAX_KEPT` kept; beyond, a
 * connection serves one lookup and closes); a kept one is closed after `idleMs` unused.
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

/** Most connections kept per server; lookups beyond them get a connection of their own. */
const MAX_KEPT = 16;

function frame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + message.length);
  out[0] = message.length >> 8;
  out[1] = message.length & 0xff;
  out.set(message, 2);
  return out;
}

interface Waiting {
  readonly name: string;
  readonly type: DnsQuery["type"];
  resolve(answer: DnsAnswer): void;
  reject(error: Error): void;
}

/** One open connection to a server, serving one lookup at a time. */
class Stream {
  /** A lookup is using it. */
  busy = false;
  /** It has answered: a lookup that finds it closed may ask again on a new one. */
  answered = false;
  /** Closed without a fault in what the server sent (it ended, idle, a lookup gave up): asking again may work. */
  ended = false;
  #closed: Error | undefined;
  #idle: ReturnType<typeof setTimeout> | undefined;
  readonly #waiting = new Map<number, Waiting>();
  readonly #conn: Conn;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #onClose: () => void;

  constructor(conn: Conn, onClose: () => void) {
    this.#conn = conn;
    this.#onClose = onClose;
    this.#writer = conn.writable.getWriter();
    void this.#read();
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Sends `queries` for `name` in one write (the wire IDs are the queries'); their answers, in order. */
  ask(name: string, queries: readonly DnsQuery[]): Promise<DnsAnswer>[] {
    if (this.#closed) return queries.map(() => Promise.reject(this.#closed));
    clearTimeout(this.#idle);
    const answers = queries.map((q) => new Promise<DnsAnswer>((resolve, reject) => this.#waiting.set(q.id, { name, type: q.type, resolve, reject })));
    this.#writer.write(concatBytes(queries.map((q) => frame(encodeQuery(q.id, name, q.type))))).catch((e: unknown) => this.close(e instanceof Error ? e : new Error(String(e))));
    return answers;
  }

  /** Keeps it for `idleMs` (closed then), or closes it now (`idleMs` 0). */
  release(idleMs: number): void {
    this.busy = false;
    if (this.#closed) return;
    if (idleMs <= 0) return this.close(new Error("not kept"));
    this.#idle = setTimeout(() => this.close(new Error("idle")), idleMs);
  }

  /** Closes the connection; what waits fails with `error`. `ended`: not for something the server sent. */
  close(error = new Error("connection closed"), ended = true): void {
    if (this.#closed) return;
    this.#closed = error;
    this.ended = ended;
    clearTimeout(this.#idle);
    this.#conn.close();
    for (const w of this.#waiting.values()) w.reject(error);
    this.#waiting.clear();
    this.#onClose();
  }

  async #read(): Promise<void> {
    const reader = this.#conn.readable.getReader();
    let buffered: Uint8Array = new Uint8Array(0);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return this.close(new Error(this.answered ? "the server closed the connection" : "connection closed without an answer"));
        buffered = concatBytes([buffered, value]);
        while (buffered.length >= 2) {
          const length = (buffered[0]! << 8) | buffered[1]!;
          if (length < 12) return this.close(new Error(`bad DNS message length ${length}`), false);
          if (buffered.length < 2 + length) break;
          const message = buffered.subarray(2, 2 + length);
          buffered = buffered.subarray(2 + length);
          const id = (message[0]! << 8) | message[1]!;
          const w = this.#waiting.get(id);
          // over TCP nobody else can inject an answer: one to nothing asked is a broken server
          if (!w) return this.close(new Error(`answer to no pending query (ID ${id})`), false);
          this.#waiting.delete(id);
          let answer: DnsAnswer;
          try {
            answer = decodeResponse(message, id, w.name, w.type);
          } catch (e) {
            const error = e instanceof Error ? e : new Error(String(e));
            w.reject(error);
            return this.close(error, false);
          }
          this.answered = true;
          w.resolve(answer);
        }
      }
    } catch (e) {
      this.close(e instanceof Error ? e : new Error(String(e)));
    } finally {
      reader.releaseLock();
    }
  }
}

export class DnsStreamPool {
  readonly #dial: DnsDial;
  readonly #idleMs: number;
  /** Open connections by server. */
  readonly #streams = new Map<string, Set<Stream>>();
  #closed = false;

  /** `idleMs`: how long a connection stays open unused for the next lookup (0: closed after each). */
  constructor(dial: DnsDial, idleMs: number) {
    this.#dial = dial;
    this.#idleMs = idleMs;
  }

  /**
   * Asks `queries` for `name` on a connection to the server: a kept one that is free, or a
   * new one. A kept connection that closes before every answer came is replaced once for
   * the rest (the server closed one it had used); a new one that fails at once fails the
   * exchange. Anything malformed closes the connection and fails the exchange; an abort
   * closes it too (the server did not answer in time). `heard` is told of each answer as it
   * comes, also of those before a failure.
   */
  async exchange(
    server: DnsServer,
    name: string,
    queries: readonly DnsQuery[],
    signal: AbortSignal,
    heard: (query: DnsQuery, answer: DnsAnswer) => void = () => {},
  ): Promise<Map<number, DnsAnswer>> {
    const answers = new Map<number, DnsAnswer>();
    for (let attempt = 0; attempt < 2 && answers.size < queries.length; attempt++) {
      signal.throwIfAborted();
      const { stream, fresh, keep } = await this.#take(server, signal);
      const onAbort = () => stream.close(new Error("no answer in time"), false);
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) onAbort();
      let failure: unknown;
      try {
        const rest = queries.filter((q) => !answers.has(q.id));
        // together on a new connection; on a kept one, each after the answer before it (see the module's note)
        const rounds = fresh ? [rest] : rest.map((q) => [q]);
        for (const round of rounds) {
          await Promise.all(stream.ask(name, round).map((p, i) =>
            p.then((answer) => {
              answers.set(round[i]!.id, answer);
              heard(round[i]!, answer);
            })
          ));
        }
      } catch (e) {
        failure = e;
      } finally {
        signal.removeEventListener("abort", onAbort);
        stream.release(keep ? this.#idleMs : 0);
      }
      signal.throwIfAborted();
      if (failure === undefined) break;
      // the server closed a connection it had used (idle, or between answers): once more on a new one
      if (!(attempt === 0 && stream.ended && (!fresh || answers.size > 0))) throw failure;
    }
    if (answers.size < queries.length) throw new Error("connection closed before every answer");
    return answers;
  }

  /** Closes every connection; lookups under way fail, later ones too (nothing is dialled again). */
  close(): void {
    this.#closed = true;
    for (const set of this.#streams.values()) for (const s of set) s.close(new Error("resolver closed"), false);
  }

  /** A free kept connection to `server`, or a new one (kept if there is room). */
  async #take(server: DnsServer, signal: AbortSignal): Promise<{ stream: Stream; fresh: boolean; keep: boolean }> {
    if (this.#closed) throw new Error("resolver closed");
    const key = `${server.address}|${server.port}|${server.tlsName ?? ""}`;
    let set = this.#streams.get(key);
    for (const s of set ?? []) {
      if (s.busy || s.closed) continue;
      s.busy = true;
      return { stream: s, fresh: false, keep: true };
    }
    const conn = await this.#dial(server, signal);
    if (this.#closed) {
      conn.close();
      throw new Error("resolver closed");
    }
    set = this.#streams.get(key) ?? new Set();
    this.#streams.set(key, set);
    const keep = this.#idleMs > 0 && set.size < MAX_KEPT;
    const owner = set;
    const stream: Stream = new Stream(conn, () => {
      owner.delete(stream);
      if (owner.size === 0 && this.#streams.get(key) === owner) this.#streams.delete(key);
    });
    stream.busy = true;
    if (keep) set.add(stream);
    return { stream, fresh: true, keep };
  }
}
