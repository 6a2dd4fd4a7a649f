/**
 * A loopback TCP hop: this process dials a listener of its own on 127.0.0.1 and gets both
 * ends, the conn it dialled and the conn the listener accepted for it. Deno's own TLS runs only
 * on a conn it opens or accepts itself, never on a socket the gateway already holds (after a
 * CONNECT's 200, a peeked ClientHello, a dial the gateway can abort); the hop gives it such a
 * conn, and {@linkcode splice} relays it to the gateway's socket.
 *
 * Conns are matched by the dialler's local port and the order of accepts. The listener is on
 * loopback, so other local processes can reach it: a conn that is not from 127.0.0.1, or that
 * no dialler of this process claims within {@linkcode STRAY_MS}, is closed, and at most
 * {@linkcode MAX_ARRIVED} wait at once. A TLS listener runs a stray's handshake on its own
 * (Deno does that without a read): it answers with the certificate of a name it has served,
 * which any client of the gateway is shown anyway; loopback-tls.ts deals with the names a
 * stray asks for.
 *
 * Each hop costs two descriptors and a relay of 4–128 KiB for as long as its connection lasts.
 * A relay whose TLS end closes after its last write keeps passing on what is left while the
 * far end takes it ({@linkcode Splice.flush}); the process exiting would cut that short, as it
 * would not for a kernel socket's send buffer, so a shutdown waits for them
 * ({@linkcode settleFlushes}).
 *
 * @module
 */
import { flushingCount, settleFlushes, trackFlush } from "../flushing.ts";
import { readConn } from "./conn-read.ts";

// a shutdown waits for the splices passing on what a closed TLS conn left (with any other
// connection flushing in this process)
export { flushingCount, settleFlushes };

/** How long an accepted conn waits for its dialler before it is taken for a stray and closed. */
export const STRAY_MS = 1_000;
/** How long a dialler waits for the listener to hand over its conn (microseconds, normally). */
const WAIT_MS = 5_000;
/** Unclaimed accepted conns held at most; past it the oldest is closed. */
const MAX_ARRIVED = 256;
/**
 * Relay buffer per direction: starts small, grows while reads fill it, back to small after a
 * read that used a quarter of it or less (an idle relay may keep up to 64 KiB per direction
 * when its last read was large).
 */
const MIN_RELAY = 2 * 1024;
const MAX_RELAY = 64 * 1024;

/** The two ends of one hop. */
export interface Hop<C extends Deno.Conn> {
  readonly dialled: Deno.TcpConn;
  /** The listener's end; closed (and never resolved) if {@linkcode forget} comes first. */
  readonly accepted: Promise<C>;
  /** The dialler gives up: the accepted end is closed, now or when it comes. Idempotent. */
  forget(): void;
}

/** A dialler waiting for its accepted conn. */
interface Waiter<C> {
  deliver(conn: C): void;
  fail(reason: Error): void;
}

/** An accepted conn no dialler has claimed yet. */
interface Arrival<C> {
  readonly conn: C;
  /** Its place in the order of accepts, to tell it from a dial that started after it. */
  readonly seq: number;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** A loopback listener whose accepted conns go to the dialler that made them. */
export class HopListener<C extends Deno.Conn> {
  readonly port: number;
  readonly #listener: Deno.Listener<C>;
  /** Diallers whose accepted conn has not come yet, by their local port. */
  readonly #waiting = new Map<number, Waiter<C>>();
  /** Accepted conns no dialler has claimed yet, by peer port, oldest first. */
  readonly #arrived = new Map<number, Arrival<C>>();
  readonly #strayMs: number;
  #accepts = 0;

  constructor(listener: Deno.Listener<C>, strayMs = STRAY_MS) {
    this.#listener = listener;
    this.#strayMs = strayMs;
    this.port = (listener.addr as Deno.NetAddr).port;
    // the gateway's own listeners keep the process alive, not this one (a TLS listener's
    // server-name resolver keeps Deno's event loop alive anyway; the gateway exits explicitly)
    listener.unref();
    void this.#acceptLoop();
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: C;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return; // closed
        await new Promise((r) => setTimeout(r, 50)); // EMFILE and the like: back off, go on
        continue;
      }
      const seq = ++this.#accepts;
      const peer = conn.remoteAddr as Deno.NetAddr;
      if (peer.hostname !== "127.0.0.1") {
        quietClose(conn);
        continue;
      }
      // no Nagle on the hop (a TLS conn has no such setting; Deno's TLS writes whole records)
      (conn as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      const waiter = this.#waiting.get(peer.port);
      if (waiter) {
        this.#waiting.delete(peer.port);
        waiter.deliver(conn);
        continue;
      }
      // a conn from the same port still unclaimed is dead (its 4-tuple is taken by this one)
      this.#drop(peer.port);
      if (this.#arrived.size >= MAX_ARRIVED) this.#drop(this.#arrived.keys().next().value!);
      const timer = setTimeout(() => {
        if (this.#arrived.get(peer.port)?.conn === conn) this.#drop(peer.port);
      }, this.#strayMs);
      Deno.unrefTimer(timer);
      this.#arrived.set(peer.port, { conn, seq, timer });
    }
  }

  /** Closes the unclaimed conn from `port`, if any. */
  #drop(port: number): void {
    const arrival = this.#arrived.get(port);
    if (!arrival) return;
    this.#arrived.delete(port);
    clearTimeout(arrival.timer);
    quietClose(arrival.conn);
  }

  /** Dials the listener; aborting `signal` while the dial is pending rejects with its reason. */
  async dial(signal?: AbortSignal): Promise<Hop<C>> {
    signal?.throwIfAborted();
    // conns accepted before this dial began are not its own, whatever their port
    const after = this.#accepts;
    const dialled = await Deno.connect({ hostname: "127.0.0.1", port: this.port, transport: "tcp", signal });
    dialled.setNoDelay(true);
    const port = (dialled.localAddr as Deno.NetAddr).port;
    let forgotten = false;
    let got: C | undefined;
    const accepted = new Promise<C>((resolve, reject) => {
      const arrival = this.#arrived.get(port);
      if (arrival && arrival.seq > after) {
        this.#arrived.delete(port);
        clearTimeout(arrival.timer);
        got = arrival.conn;
        return resolve(arrival.conn);
      }
      this.#drop(port);
      // our own conn was closed before it was claimed (evicted, a stalled loop): give up
      const timer = setTimeout(() => fail(new Error("loopback hop: the listener never handed over the connection")), WAIT_MS);
      Deno.unrefTimer(timer);
      const fail = (reason: Error) => {
        clearTimeout(timer);
        if (this.#waiting.get(port) === waiter) this.#waiting.delete(port);
        reject(reason);
      };
      const waiter: Waiter<C> = {
        deliver: (conn) => {
          clearTimeout(timer);
          if (forgotten) return quietClose(conn);
          got = conn;
          resolve(conn);
        },
        fail,
      };
      this.#waiting.set(port, waiter);
    });
    accepted.catch(() => {}); // a dialler that forgot it does not wait for it
    return {
      dialled,
      accepted,
      forget: () => {
        if (forgotten) return;
        forgotten = true;
        quietClose(got);
        this.#waiting.get(port)?.fail(new Error("loopback hop given up"));
      },
    };
  }

  close(): void {
    quietClose(this.#listener);
    for (const port of [...this.#arrived.keys()]) this.#drop(port);
    for (const waiter of [...this.#waiting.values()]) waiter.fail(new Error("loopback hop listener closed"));
  }
}

/** Closes a conn or listener that may be closed already (or taken over by a TLS conn). */
export function quietClose(closable: { close(): void } | undefined): void {
  try {
    closable?.close();
  } catch {
    // closed
  }
}

/** Writes all of `bytes` to `to`; `moved` after each partial write. */
export async function writeAll(to: Deno.Conn, bytes: Uint8Array, moved?: () => void): Promise<void> {
  for (let off = 0; off < bytes.byteLength; ) {
    off += await to.write(bytes.subarray(off));
    moved?.();
  }
}

/** One direction: a reused buffer (grown while reads fill it, shrunk when they come small), the half-close passed on. */
async function pump(from: Deno.Conn, to: Deno.Conn, moved?: () => void): Promise<void> {
  let buf = new Uint8Array(MIN_RELAY);
  for (;;) {
    const n = await readConn(from, buf);
    if (n === null) break;
    await writeAll(to, buf.subarray(0, n), moved);
    if (n === buf.byteLength && n < MAX_RELAY) buf = new Uint8Array(n * 2);
    else if (n < buf.byteLength / 4 && buf.byteLength > MIN_RELAY) buf = new Uint8Array(MIN_RELAY);
  }
  await to.closeWrite();
}

/** How long a closing spliced pair may go without passing anything on before it is ended. */
export const FLUSH_MS = 60_000;

/** A running {@linkcode splice}. */
export interface Splice {
  /** Closes both ends now. */
  abort(): void;
  /**
   * The conn spliced to `b` was closed after its last write: `b` → `a` goes on until it has
   * passed on what `b` still holds, then both close; so does a pair that passes nothing on
   * for {@linkcode FLUSH_MS} (a peer that stopped reading), as a socket's unsent bytes are
   * given up after a while.
   */
  flush(): void;
}

/**
 * Relays `a` and `b` both ways, each end's half-close passed on, until both directions are
 * done; then (or at the first failure: a reset, a close from either side) closes both.
 */
export function splice(a: Deno.Conn, b: Deno.Conn, flushMs = FLUSH_MS): Splice {
  let ended = false;
  let delivered = false;
  let flushing = false;
  let moves = 0;
  let watch: ReturnType<typeof setInterval> | undefined;
  let untrack: (() => void) | undefined;
  const end = () => {
    ended = true;
    untrack?.();
    clearInterval(watch);
    quietClose(a);
    quietClose(b);
  };
  const back = pump(b, a, () => moves++).then(() => {
    delivered = true;
    if (flushing) end();
  });
  // once flushing, `b`'s conn is closed: what `a` still sends fails there, which must not
  // cut off what `b` still has for `a`
  const forward = pump(a, b).catch((e: unknown) => {
    if (!flushing) throw e;
    return new Promise<void>(() => {}); // `back` or the watch ends the pair
  });
  void Promise.all([forward, back]).then(end, end);
  return {
    abort: end,
    flush: () => {
      if (ended || flushing) return;
      flushing = true;
      if (delivered) return end();
      untrack = trackFlush(end);
      let seen = moves;
      watch = setInterval(() => {
        if (moves === seen) end();
        seen = moves;
      }, flushMs);
      Deno.unrefTimer(watch);
    },
  };
}
