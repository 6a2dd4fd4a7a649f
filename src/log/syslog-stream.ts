/**
 * Syslog over a byte stream (TCP, RFC 6587; TLS, RFC 5425) to one collector: messages are
 * queued and written in order on one connection, which is opened again, with growing pauses,
 * whenever it fails. The gateway never waits for the collector: while it is unreachable or
 * slow, the queue holds up to `queueBytes` and drops what comes beyond, counting it.
 * @module
 */
import type { Conn } from "../core/conn.ts";
import { GLOBAL_TIMERS, type Timers } from "../core/timers.ts";

/** How messages are delimited on the stream. */
export type SyslogFraming = "octet-counting" | "newline";

export interface SyslogStreamOptions {
  /** Opens a connection to the collector (its name resolved, TCP, TLS as configured). */
  readonly connect: (signal: AbortSignal) => Promise<Conn>;
  /** `octet-counting`: `LENGTH SP MESSAGE` (RFC 6587 §3.4.1, RFC 5425); `newline`: `MESSAGE LF`. */
  readonly framing: SyslogFraming;
  /** Most bytes of messages held while the collector is unreachable or slow; beyond, they are dropped. */
  readonly queueBytes: number;
  /**
   * Pause before the first reconnection, doubled after each failure up to `maxRetryMs`; a
   * connection that was lost within `stableMs` of opening counts as a failure too (a
   * collector that accepts and then drops every connection is not hammered).
   */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  readonly stableMs?: number;
  /** A connection attempt that takes longer fails. */
  readonly connectTimeoutMs?: number;
  /** The connection opened (`error` undefined) or failed / was lost (`error` says why). */
  readonly onState?: (connected: boolean, error?: string) => void;
  /** Messages written (`sent`), or dropped because the queue was full or the sender closed. */
  readonly onCount?: (result: "sent" | "dropped", n: number) => void;
  readonly timers?: Timers;
}

/** Bytes written in one write at most, when several messages are queued. */
const BATCH_BYTES = 64 * 1024;

const encoder = new TextEncoder();

/** One message framed as `framing` says. */
export function frameSyslog(message: string, framing: SyslogFraming): Uint8Array {
  const body = encoder.encode(message);
  const prefix = framing === "octet-counting" ? encoder.encode(`${body.byteLength} `) : new Uint8Array(0);
  const frame = new Uint8Array(prefix.byteLength + body.byteLength + (framing === "newline" ? 1 : 0));
  frame.set(prefix, 0);
  frame.set(body, prefix.byteLength);
  if (framing === "newline") frame[frame.byteLength - 1] = 0x0a;
  return frame;
}

export class SyslogStream {
  readonly #o: SyslogStreamOptions;
  readonly #timers: Timers;
  readonly #queue: Uint8Array[] = [];
  #queued = 0;
  #closing = false;
  /** Wakes the loop: a message was queued, or the sender is closing. */
  #wake: (() => void) | undefined;
  readonly #stop = new AbortController();
  /** Resolves once the flush time of `close()` is over. */
  readonly #stopped = new Promise<void>((resolve) => this.#stop.signal.addEventListener("abort", () => resolve(), { once: true }));
  readonly #done: Promise<void>;

  constructor(options: SyslogStreamOptions) {
    this.#o = options;
    this.#timers = options.timers ?? GLOBAL_TIMERS;
    this.#done = this.#run();
  }

  /** Bytes waiting to be written (those of a write under way included). */
  get queuedBytes(): number {
    return this.#queued;
  }

  /** Queues one message (dropped, and counted, when the queue is full or the sender closed). */
  send(message: string): void {
    const frame = frameSyslog(message, this.#o.framing);
    if (this.#closing || this.#queued + frame.byteLength > this.#o.queueBytes) {
      this.#o.onCount?.("dropped", 1);
      return;
    }
    this.#queue.push(frame);
    this.#queued += frame.byteLength;
    this.#wakeUp();
  }

  /**
   * Takes no more messages, writes what is queued for up to `flushMs` (a collector that is
   * down gets no more attempts than fit in it), then closes the connection. What is left
   * is counted as dropped.
   */
  async close(flushMs: number): Promise<void> {
    this.#closing = true;
    this.#wakeUp();
    const timer = this.#timers.setTimeout(() => this.#stop.abort(), flushMs);
    await this.#done;
    this.#timers.clearTimeout(timer);
    if (this.#queue.length > 0) this.#o.onCount?.("dropped", this.#queue.length);
    this.#queue.length = 0;
    this.#queued = 0;
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Resolves when woken (or stopped). */
  #sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const stop = this.#stop.signal;
      if (stop.aborted) return resolve();
      let timer: unknown;
      const done = () => {
        if (timer !== undefined) this.#timers.clearTimeout(timer);
        stop.removeEventListener("abort", done);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      stop.addEventListener("abort", done);
      if (ms === undefined) this.#wake = done;
      else timer = this.#timers.setTimeout(done, ms);
    });
  }

  async #run(): Promise<void> {
    const first = this.#o.retryMs ?? 1000;
    let pause = first;
    const stop = this.#stop.signal;
    while (!stop.aborted && !(this.#closing && this.#queue.length === 0)) {
      if (this.#queue.length === 0) {
        await this.#sleep();
        continue;
      }
      let conn: Conn;
      try {
        conn = await this.#o.connect(AbortSignal.any([stop, AbortSignal.timeout(this.#o.connectTimeoutMs ?? 10_000)]));
      } catch (e) {
        if (stop.aborted) break;
        this.#o.onState?.(false, errorText(e));
        await this.#sleep(pause);
        pause = Math.min(pause * 2, this.#o.maxRetryMs ?? 30_000);
        continue;
      }
      this.#o.onState?.(true);
      const opened = Date.now();
      const error = await this.#writeOn(conn);
      conn.close();
      if (error === undefined) break; // stopped, or closing with nothing left
      this.#o.onState?.(false, error);
      // a connection that lasted: try again soon; one dropped at once is a failure like a refusal
      if (Date.now() - opened >= (this.#o.stableMs ?? 10_000)) pause = first;
      if (!stop.aborted) await this.#sleep(pause);
      pause = Math.min(pause * 2, this.#o.maxRetryMs ?? 30_000);
    }
  }

  /** Writes queued messages on `conn` until it fails (why) or the sender is done (undefined). */
  async #writeOn(conn: Conn): Promise<string | undefined> {
    const writer = conn.writable.getWriter();
    // a collector sends nothing: its end of the stream (or an error) means the connection is gone
    let lost: string | undefined;
    const gone = new Promise<void>((resolve) => {
      const reader = conn.readable.getReader();
      const drain = async () => {
        try {
          while (!(await reader.read()).done);
          lost = "the collector closed the connection";
        } catch (e) {
          lost = errorText(e);
        }
        resolve();
        this.#wakeUp();
      };
      void drain();
    });
    const stop = this.#stop.signal;
    try {
      for (;;) {
        if (stop.aborted) return undefined;
        if (lost !== undefined) return lost;
        if (this.#queue.length === 0) {
          if (this.#closing) {
            // all written: end the stream (TLS close_notify, FIN) and let the collector read
            // to its end before the connection is torn down, as a reset could discard the last bytes
            await Promise.race([writer.close().catch(() => {}), this.#stopped]);
            await Promise.race([gone, this.#stopped]);
            return undefined;
          }
          await this.#sleep();
          continue;
        }
        const batch = this.#take();
        try {
          await writeOrStop(writer, batch.bytes, stop);
        } catch (e) {
          this.#queue.unshift(...batch.frames); // not written (or not all): it goes first on the next connection
          return stop.aborted ? undefined : errorText(e);
        }
        this.#queued -= batch.bytes.byteLength;
        this.#o.onCount?.("sent", batch.frames.length);
      }
    } finally {
      writer.releaseLock();
    }
  }

  /** Takes queued frames up to {@link BATCH_BYTES} (at least one), joined; they count as queued until written. */
  #take(): { frames: Uint8Array[]; bytes: Uint8Array } {
    const frames: Uint8Array[] = [];
    let size = 0;
    while (this.#queue.length > 0 && (frames.length === 0 || size + this.#queue[0]!.byteLength <= BATCH_BYTES)) {
      const frame = this.#queue.shift()!;
      frames.push(frame);
      size += frame.byteLength;
    }
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const f of frames) {
      bytes.set(f, at);
      at += f.byteLength;
    }
    return { frames, bytes };
  }
}

/**
 * Writes `bytes`, or rejects as soon as `stop` fires (a collector that stopped reading).
 * The listener is removed after each write: a long-lived sender adds nothing per batch.
 */
function writeOrStop(writer: WritableStreamDefaultWriter<Uint8Array>, bytes: Uint8Array, stop: AbortSignal): Promise<void> {
  if (stop.aborted) return Promise.reject(new Error("stopped"));
  return new Promise((resolve, reject) => {
    const onStop = () => reject(new Error("stopped"));
    stop.addEventListener("abort", onStop, { once: true });
    writer.write(bytes).then(resolve, reject).finally(() => stop.removeEventListener("abort", onStop));
  });
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
