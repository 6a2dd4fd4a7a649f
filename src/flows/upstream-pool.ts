/**
 * Idle upstream connections of decrypted sessions, kept for the next client that goes to the
 * same origin: a validated TLS connection whose last response was complete and which the
 * origin left open (HTTP/1.1 keep-alive). Reusing one saves the TCP and TLS handshakes with
 * the origin (two or three round trips, and the certificate checks) for every new
 * decrypted connection, as a browser's own connection reuse would.
 * @module
 */
import type { Conn } from "../core/conn.ts";
import type { ConnReader } from "./conn-reader.ts";

/** Options of {@linkcode UpstreamPool}; `maxIdle: 0` keeps nothing. */
export interface UpstreamPoolOptions {
  /** Idle connections kept in all. */
  readonly maxIdle: number;
  /** Idle connections kept per key (origin and TLS settings). */
  readonly maxIdlePerKey: number;
  /** An idle connection is closed after this long. */
  readonly idleTimeoutMs: number;
}

/** An idle upstream connection and what was learnt when it was opened. */
export interface PooledUpstream<T> {
  readonly conn: Conn;
  /** Its reader (the pool's watch may be waiting on it: the next `read()` gets what arrives). */
  readonly reader: ConnReader;
  /** Requests it has carried. */
  readonly served: number;
  /** The caller's facts of the connection (its session, the address dialled…). */
  readonly info: T;
}

interface Entry<T> {
  readonly item: PooledUpstream<T>;
  readonly key: string;
  timer: ReturnType<typeof setTimeout> | undefined;
  pooled: boolean;
}

/** What a pool holds and did (for metrics). */
export interface UpstreamPoolStats {
  readonly idle: number;
  /** Connections handed out again. */
  readonly reused: number;
  /** Connections dropped while idle: the origin closed or sent something, or the idle time ran out. */
  readonly expired: number;
}

/**
 * A bounded pool of idle connections by key. `take` hands out the most recently returned
 * connection for a key (the warmest); `give` keeps one while its key and the pool have room
 * (else closes it) and watches it: anything the origin sends on an idle HTTP/1.1 connection
 * — its FIN, a reset, a stray `408` — ends it at once, and so does the idle timeout.
 *
 * @example
 * ```ts
 * const pool = new UpstreamPool<Info>({ maxIdle: 256, maxIdlePerKey: 8, idleTimeoutMs: 4000 });
 * pool.give("origin.test|443|verify", { conn, reader, served: 3, info });
 * const again = pool.take("origin.test|443|verify"); // that connection, or undefined
 * ```
 */
export class UpstreamPool<T> {
  readonly #options: UpstreamPoolOptions;
  readonly #byKey = new Map<string, Entry<T>[]>();
  /** Every pooled entry, oldest first: the first to go when the pool is full. */
  readonly #order = new Set<Entry<T>>();
  #reused = 0;
  #expired = 0;
  #closed = false;

  constructor(options: UpstreamPoolOptions) {
    this.#options = options;
  }

  /** An idle connection for `key`, now the caller's; undefined when there is none. */
  take(key: string): PooledUpstream<T> | undefined {
    const list = this.#byKey.get(key);
    const entry = list?.pop();
    if (!entry) return undefined;
    if (list!.length === 0) this.#byKey.delete(key);
    this.#unpool(entry);
    this.#reused++;
    return entry.item;
  }

  /** Keeps `item` for a later `take(key)`, or closes it when there is no room (or the pool was closed). */
  give(key: string, item: PooledUpstream<T>): void {
    const { maxIdle, maxIdlePerKey, idleTimeoutMs } = this.#options;
    if (this.#closed || maxIdle <= 0 || maxIdlePerKey <= 0) {
      item.conn.close();
      return;
    }
    const list = this.#byKey.get(key) ?? [];
    if (list.length >= maxIdlePerKey) this.#drop(list[0]!); // the coldest of this key
    if (this.#order.size >= maxIdle) this.#drop(this.#order.values().next().value!);
    const entry: Entry<T> = { item, key, timer: undefined, pooled: true };
    const now = this.#byKey.get(key) ?? [];
    now.push(entry);
    this.#byKey.set(key, now);
    this.#order.add(entry);
    entry.timer = setTimeout(() => this.#expire(entry), idleTimeoutMs);
    // the watch: whatever arrives while the connection is idle ends it (once taken, what
    // arrives stays in the reader for its new owner)
    item.reader.wait().then(
      () => this.#expire(entry),
      () => this.#expire(entry),
    );
  }

  /** Closes every idle connection; later `give`s close theirs (the gateway is stopping). */
  close(): void {
    this.#closed = true;
    for (const entry of [...this.#order]) this.#drop(entry);
  }

  stats(): UpstreamPoolStats {
    return { idle: this.#order.size, reused: this.#reused, expired: this.#expired };
  }

  #expire(entry: Entry<T>): void {
    if (!entry.pooled) return; // taken meanwhile: the read is its new owner's
    this.#expired++;
    this.#drop(entry);
  }

  #drop(entry: Entry<T>): void {
    const list = this.#byKey.get(entry.key);
    if (list) {
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#byKey.delete(entry.key);
    }
    this.#unpool(entry);
    entry.item.conn.close();
  }

  #unpool(entry: Entry<T>): void {
    entry.pooled = false;
    clearTimeout(entry.timer);
    this.#order.delete(entry);
  }
}
