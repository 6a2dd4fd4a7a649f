import { concatBytes } from "../core/bytes.ts";
import type { Conn } from "../core/conn.ts";
import { RelayedConn } from "../core/relayed-conn.ts";
import { deadline, type IdleDeadline } from "./idle-deadline.ts";

export { FlowTimeoutError } from "./idle-deadline.ts";

/**
 * Reads a connection chunk by chunk with push-back (bytes read past a message boundary
 * go back for the next reader) and per-read deadlines. `release()` hands the stream back
 * (e.g. to a splice) together with any pushed-back bytes.
 */
export class ConnReader {
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #pending: Uint8Array[] = [];
  #inflight: ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]> | undefined;
  #received = false;

  constructor(conn: Conn) {
    this.#reader = conn.readable.getReader();
    // bytes a PROXY protocol header was followed by come first
    const early = conn instanceof RelayedConn ? conn.takeEarly() : undefined;
    if (early) {
      this.#pending.push(early);
      this.#received = true;
    }
  }

  /**
   * Next chunk, or undefined at end of stream. With a `timeout` (ms > 0, or an
   * {@link IdleDeadline} shared by a sequence of waits), rejects with FlowTimeoutError when
   * nothing arrived in time; the read stays pending (nothing is lost) and the next call
   * continues it. The caller decides whether to answer or close.
   */
  async read(timeout: number | IdleDeadline = 0): Promise<Uint8Array | undefined> {
    const next = this.#pending.pop();
    if (next) return next;
    const reader = this.#reader;
    if (!reader) throw new Error("Reader was released");
    const p = this.#inflight ?? reader.read();
    this.#inflight = p;
    const r = typeof timeout !== "number" ? await timeout.race(p, () => {}) : timeout > 0 ? await deadline(p, timeout, () => {}) : await p;
    // a `wait()` on the same read took its result first: the chunk (or the end) is ours from there
    if (this.#inflight !== p) return this.read(timeout);
    this.#inflight = undefined;
    if (r.done) return undefined;
    this.#received = true;
    return r.value;
  }

  /**
   * Waits until a `read()` would not wait (bytes arrived, or the stream ended), consuming
   * nothing: what arrived stays for the next `read()`, also when one is waiting already.
   * For watching a connection while no one reads it (an idle pooled upstream).
   */
  async wait(): Promise<"data" | "end"> {
    if (this.#pending.length > 0) return "data";
    const reader = this.#reader;
    if (!reader) throw new Error("Reader was released");
    const p = this.#inflight ?? reader.read();
    this.#inflight = p;
    const r = await p;
    if (this.#inflight === p) {
      this.#inflight = undefined;
      if (!r.done) {
        this.#received = true;
        this.#pending.push(r.value);
      }
    }
    return r.done ? "end" : "data";
  }

  /** True once any byte arrived (a connection that ends before that carried nothing to log). */
  get received(): boolean {
    return this.#received;
  }

  /**
   * Without waiting: when at least `n` bytes were already read and pushed back, takes exactly
   * `n` of them and returns `before` followed by them, in one new buffer (the rest stays
   * pushed back); otherwise takes nothing and returns undefined.
   *
   * @example
   * ```ts
   * const headAndBody = reader.takeBuffered(contentLength, head); // one write instead of two
   * ```
   */
  takeBuffered(n: number, before: Uint8Array = new Uint8Array(0)): Uint8Array | undefined {
    let have = 0;
    for (const c of this.#pending) have += c.byteLength;
    if (have < n) return undefined;
    const out = new Uint8Array(before.byteLength + n);
    out.set(before);
    let off = before.byteLength;
    while (off < out.byteLength) {
      const c = this.#pending.pop()!; // the stack's top is the next to read
      const take = Math.min(c.byteLength, out.byteLength - off);
      out.set(take === c.byteLength ? c : c.subarray(0, take), off);
      off += take;
      if (take < c.byteLength) this.#pending.push(c.subarray(take));
    }
    return out;
  }

  /** Puts bytes back; the next `read()` returns them first. */
  unread(bytes: Uint8Array): void {
    if (bytes.byteLength > 0) this.#pending.push(bytes);
  }

  /**
   * Ends reading as if the peer had: a pending `read()` returns undefined (end of stream), and
   * so does every later one once the pushed-back bytes are gone. For a gateway that drains:
   * see `Drain`.
   */
  interrupt(): void {
    this.#reader?.cancel().catch(() => {});
  }

  /** Gives the stream back; returns bytes that were pushed back and not yet consumed. */
  release(): Uint8Array | undefined {
    if (this.#inflight) throw new Error("Cannot release a reader with a read in flight");
    this.#reader?.releaseLock();
    this.#reader = undefined;
    const rest = this.#pending.reverse();
    this.#pending = [];
    if (rest.length === 0) return undefined;
    return rest.length === 1 ? rest[0] : concatBytes(rest);
  }
}
