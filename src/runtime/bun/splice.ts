/// <reference types="bun-types" />
/**
 * A native relay between two Bun TCP sockets: each socket's `data` event writes straight
 * into the other socket, with no Web Stream, reader, writer or promise per chunk.
 *
 * The same contract as the portable `spliceStreams` (`src/flows/splice.ts`), which it falls
 * back to for anything that is not two plain Bun sockets (TLS sessions, in-memory Conns):
 * - backpressure: when a socket takes only part of a write, the rest waits for its `drain`
 *   and the sending socket is paused until then (TCP backpressure to its peer);
 * - half-close: a FIN is passed on once everything before it was written, while the other
 *   direction keeps flowing; the relay ends when both directions have;
 * - an error on either socket, the idle timeout or the abort signal closes both.
 *
 * @module
 */

import type { Conn } from "../../core/conn.ts";
import { socketOf } from "../../core/relayed-conn.ts";
import { markReceived, releaseWritten } from "../../core/received-chunk.ts";
import type { SpliceOptions, SpliceProgress, SpliceResult } from "../../core/runtime.ts";
import { watchIdle } from "../../flows/idle-watch.ts";
import { sideFailure, spliceStreams } from "../../flows/splice.ts";
import { BunSocketConn } from "./socket-conn.ts";
import type { SocketSink, TakenSocket } from "./socket-conn.ts";

/** One side of the relay. */
interface Side {
  readonly name: string;
  taken: TakenSocket | undefined;
  /** No more writes can reach it (it closed). */
  dead: boolean;
}

/** Bytes from `src` to `dst`. */
interface Direction {
  readonly src: Side;
  readonly dst: Side;
  /** Received, not yet fully written to `dst`; the first one from `offset`. */
  readonly queue: Uint8Array[];
  offset: number;
  /** The count of `progress` this direction adds to. */
  readonly counter: keyof SpliceProgress;
  /** `src` sent FIN (or closed). */
  ended: boolean;
  /** FIN passed on to `dst`. */
  shut: boolean;
  /** `src` paused because `dst` did not take everything. */
  paused: boolean;
}

/**
 * Relays between `a` and `b` until both directions have ended (see the module text); the
 * result is the same as `spliceStreams`'s.
 *
 * @example
 * ```ts
 * const r = await bunSplice(client, upstream, { headA, idleTimeoutMs: 300_000, names: ["client", "upstream"] });
 * ```
 */
export function bunSplice(connA: Conn, connB: Conn, options: SpliceOptions): Promise<SpliceResult> {
  // a client relayed by a load balancer (PROXY protocol) is still a native socket underneath
  const a = socketOf(connA);
  const b = socketOf(connB);
  const plain = (c: Conn): c is BunSocketConn =>
    c instanceof BunSocketConn && !c.readable.locked && !c.writable.locked;
  if (!plain(a) || !plain(b)) return spliceStreams(connA, connB, options);
  if (options.signal?.aborted) {
    a.close();
    b.close();
    return Promise.resolve({ bytesAtoB: 0, bytesBtoA: 0, end: "aborted" });
  }
  const [nameA, nameB] = options.names ?? ["a", "b"];
  const sideA: Side = { name: nameA, taken: undefined, dead: false };
  const sideB: Side = { name: nameB, taken: undefined, dead: false };
  const progress = options.progress ?? { bytesAtoB: 0, bytesBtoA: 0 };
  const direction = (src: Side, dst: Side, counter: keyof SpliceProgress): Direction => ({ src, dst, queue: [], offset: 0, counter, ended: false, shut: false, paused: false });
  const ab = direction(sideA, sideB, "bytesAtoB");
  const ba = direction(sideB, sideA, "bytesBtoA");

  let started = false;
  let done = false;
  const idle = watchIdle(options.idleTimeoutMs, () => finish("idle"));
  let resolve!: (r: SpliceResult) => void;
  const result = new Promise<SpliceResult>((r) => (resolve = r));

  const finish = (end: string, error?: string) => {
    if (done) return;
    done = true;
    idle.stop();
    options.signal?.removeEventListener("abort", onAbort);
    for (const d of [ab, ba]) d.queue.length = 0;
    if (end === "eof") {
      sideA.taken?.end();
      sideB.taken?.end();
    } else {
      a.close();
      b.close();
    }
    const base = { bytesAtoB: progress.bytesAtoB, bytesBtoA: progress.bytesBtoA, end };
    resolve(error === undefined ? base : { ...base, error });
  };
  const failed = (side: Side, e: unknown) => {
    const failure = sideFailure(side.name, e);
    finish(failure.end, failure.error);
  };
  const onAbort = () => finish("aborted");

  const shut = (d: Direction) => {
    d.shut = true;
    if (!d.dst.dead) d.dst.taken?.socket.shutdown();
    if (ab.shut && ba.shut) finish("eof");
  };

  /** Writes what `d` holds; pauses its source while `dst` is full; passes FIN on once empty. */
  const flush = (d: Direction) => {
    if (!started || done) return;
    const socket = d.dst.taken!.socket;
    while (d.queue.length > 0) {
      if (d.dst.dead) return failed(d.dst, new Error("Connection closed"));
      const chunk = d.queue[0]!;
      const data = d.offset > 0 ? chunk.subarray(d.offset) : chunk;
      const n = socket.write(data);
      if (n < 0) return failed(d.dst, new Error("Connection closed"));
      if (n < data.byteLength) {
        d.offset += n;
        if (!d.paused) {
          d.paused = true;
          d.src.taken!.socket.pause();
        }
        return;
      }
      d.queue.shift();
      d.offset = 0;
      releaseWritten(chunk);
    }
    if (d.paused) {
      d.paused = false;
      if (!d.ended) d.src.taken!.socket.resume();
    }
    if (d.ended && !d.shut) shut(d);
  };

  const received = (d: Direction, data: Uint8Array) => {
    if (done || d.ended) return;
    idle.touch();
    progress[d.counter] += data.byteLength;
    d.queue.push(data);
    flush(d);
  };
  const before = (d: Direction, chunks: readonly Uint8Array[]) => {
    for (const c of chunks) progress[d.counter] += c.byteLength;
    d.queue.unshift(...chunks);
  };
  const ended = (d: Direction) => {
    if (done || d.ended) return;
    d.ended = true;
    flush(d);
  };

  const sink = (self: Side, out: Direction, into: Direction): SocketSink => ({
    data: (data) => received(out, markReceived(data)),
    end: () => ended(out),
    drain: () => flush(into),
    close: (error) => {
      // as spliceStreams sees it: an error fails the relay while this side's reading is
      // open or a write into it is waiting; after its FIN, only a later write into it does
      if (done) return;
      self.dead = true;
      if (!out.ended) {
        if (error) return failed(self, error);
        ended(out); // gone without an error: the end of what it sends
        if (done) return;
      }
      if (into.queue.length > 0) return failed(self, error ?? new Error("Connection closed"));
      if (into.ended && !into.shut) shut(into);
    },
  });

  const start = async () => {
    try {
      sideA.taken = await a.takeOver(sink(sideA, ab, ba));
    } catch (e) {
      return failed(sideA, e);
    }
    try {
      sideB.taken = await b.takeOver(sink(sideB, ba, ab));
    } catch (e) {
      return failed(sideB, e);
    }
    if (done) return;
    // what came before the takeovers goes before what the sinks queued since
    const head = options.headA && options.headA.byteLength > 0 ? [options.headA] : [];
    before(ab, [...head, ...sideA.taken.unread]);
    before(ba, sideB.taken.unread);
    started = true;
    flush(ab);
    flush(ba);
    if (sideA.taken.ended) ended(ab);
    if (sideB.taken.ended) ended(ba);
  };

  options.signal?.addEventListener("abort", onAbort, { once: true });
  void start();
  return result;
}
