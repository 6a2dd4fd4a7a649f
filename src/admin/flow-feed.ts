/**
 * The live flow feed of the management plane: the last N flow and request records in a
 * ring buffer, live subscribers with bounded queues, and a Server-Sent Events stream.
 *
 * Memory is bounded everywhere: the history holds `capacity` records, each subscriber at
 * most `maxQueue` undelivered ones (the oldest are dropped and counted when it falls
 * behind), and an SSE stream at most `highWaterMark` unread frames before its subscriber
 * stops taking records.
 *
 * @module
 */
import type { FlowLog, FlowRecord, RequestRecord } from "../log/flow-record.ts";

/** A record the feed carries. */
export type FeedRecord = FlowRecord | RequestRecord;

/** A test a record passes or not (flow-filter.ts builds the admin API's from its query). */
export type FlowFilter = (record: FeedRecord) => boolean;

/** Options of {@linkcode FlowFeed}. */
export interface FlowFeedOptions {
  /** Records kept for {@linkcode FlowFeed.recent}. Default 1000. */
  readonly capacity?: number;
}

/** Options of {@linkcode FlowFeed.subscribe}. */
export interface SubscribeOptions {
  /** Most records waiting for this subscriber; beyond it the oldest are dropped. Default 256. */
  readonly maxQueue?: number;
  /** Told how many records were dropped, just before the next one is delivered. */
  readonly onDrop?: (dropped: number) => void;
  /** Only records it accepts are queued (so others neither wait nor count as dropped). */
  readonly filter?: FlowFilter | undefined;
}

/** Counters of a {@linkcode FlowFeed}. */
export interface FlowFeedStats {
  /** Records held now. */
  readonly size: number;
  readonly capacity: number;
  /** Records written since creation. */
  readonly written: number;
  /** Subscribers now. */
  readonly subscribers: number;
  /** Records dropped from subscriber queues, all subscribers together. */
  readonly dropped: number;
  /** Subscribers removed because their callback threw or rejected. */
  readonly disconnected: number;
}

/** Default of {@linkcode FlowFeedOptions.capacity}. */
export const DEFAULT_FEED_CAPACITY = 1000;
/** Default of {@linkcode SubscribeOptions.maxQueue}. */
export const DEFAULT_SUBSCRIBER_QUEUE = 256;

/** A fixed-capacity FIFO; pushing onto a full one evicts the oldest. */
class Ring<T> {
  readonly #items: (T | undefined)[];
  #head = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  get capacity(): number {
    return this.#items.length;
  }

  /** Appends `value`; true if the oldest item was evicted to make room. */
  push(value: T): boolean {
    const cap = this.#items.length;
    this.#items[(this.#head + this.#size) % cap] = value;
    if (this.#size < cap) {
      this.#size++;
      return false;
    }
    this.#head = (this.#head + 1) % cap;
    return true;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const value = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#size--;
    return value;
  }

  /** The newest `n` items (that `match` accepts, if given), oldest first. */
  last(n: number, match?: (item: T) => boolean): T[] {
    const out: T[] = [];
    const cap = this.#items.length;
    for (let i = this.#size - 1; i >= 0 && out.length < n; i--) {
      const item = this.#items[(this.#head + i) % cap] as T;
      if (match === undefined || match(item)) out.push(item);
    }
    return out.reverse();
  }

  clear(): void {
    this.#items.fill(undefined);
    this.#head = 0;
    this.#size = 0;
  }
}

function checkCount(what: string, n: number, min: number): number {
  if (!Number.isSafeInteger(n) || n < min) throw new RangeError(`Invalid ${what} ${JSON.stringify(n)}: expected an integer >= ${min}`);
  return n;
}

/**
 * Keeps the newest flow records and fans them out to live subscribers. Writers never wait
 * for subscribers: a record is queued per subscriber and delivered in a later microtask.
 *
 * @example
 * ```ts
 * const feed = new FlowFeed({ capacity: 500 });
 * const log = { write: (r) => { feed.write(r); jsonLog.write(r); } };
 * const stop = feed.subscribe((r) => console.log(r.host));
 * feed.recent(20); // newest last
 * stop();
 * ```
 */
export class FlowFeed implements FlowLog {
  readonly #ring: Ring<FeedRecord>;
  readonly #subs = new Set<_Subscriber>();
  #written = 0;
  #dropped = 0;
  #disconnected = 0;

  constructor(options: FlowFeedOptions = {}) {
    this.#ring = new Ring(checkCount("feed capacity", options.capacity ?? DEFAULT_FEED_CAPACITY, 1));
  }

  /** Stores a snapshot of `record` and queues it for every subscriber. Never throws for a subscriber's sake. */
  write(record: FeedRecord): void {
    const snapshot = Object.freeze({ ...record });
    this.#ring.push(snapshot);
    this.#written++;
    for (const sub of this.#subs) {
      if (sub.push(snapshot)) this.#dropped++;
    }
  }

  /**
   * The newest `limit` records (default all held) that `match` accepts (default all), oldest
   * first and newest last.
   */
  recent(limit?: number, match?: FlowFilter): FeedRecord[] {
    return this.#ring.last(limit === undefined ? this.#ring.size : checkCount("limit", limit, 0), match);
  }

  /**
   * Calls `onRecord` with every record written from now on, in order. A callback that returns
   * a promise receives no further record until it settles; records written meanwhile wait in
   * a bounded queue (the oldest dropped beyond `maxQueue`). A callback that throws or rejects
   * is unsubscribed. Returns the function that unsubscribes.
   */
  subscribe(onRecord: (record: FeedRecord) => void | Promise<void>, options: SubscribeOptions = {}): () => void {
    const maxQueue = checkCount("subscriber queue", options.maxQueue ?? DEFAULT_SUBSCRIBER_QUEUE, 1);
    const sub = new _Subscriber(onRecord, options.onDrop, options.filter, maxQueue, () => {
      if (this.#subs.delete(sub)) this.#disconnected++;
    });
    this.#subs.add(sub);
    return () => {
      this.#subs.delete(sub);
      sub.close();
    };
  }

  /** Forgets every held record (subscribers stay). */
  clear(): void {
    this.#ring.clear();
  }

  stats(): FlowFeedStats {
    return {
      size: this.#ring.size,
      capacity: this.#ring.capacity,
      written: this.#written,
      subscribers: this.#subs.size,
      dropped: this.#dropped,
      disconnected: this.#disconnected,
    };
  }
}

/** One subscriber: its queue and its delivery loop. */
class _Subscriber {
  readonly #onRecord: (record: FeedRecord) => void | Promise<void>;
  readonly #onDrop: ((dropped: number) => void) | undefined;
  readonly #filter: FlowFilter | undefined;
  readonly #onFail: () => void;
  readonly #queue: Ring<FeedRecord>;
  #pendingDrops = 0;
  #draining = false;
  #closed = false;

  constructor(
    onRecord: (record: FeedRecord) => void | Promise<void>,
    onDrop: ((dropped: number) => void) | undefined,
    filter: FlowFilter | undefined,
    maxQueue: number,
    onFail: () => void,
  ) {
    this.#onRecord = onRecord;
    this.#onDrop = onDrop;
    this.#filter = filter;
    this.#queue = new Ring(maxQueue);
    this.#onFail = onFail;
  }

  /** Queues `record`; true if an older one was dropped for it. */
  push(record: FeedRecord): boolean {
    if (this.#closed || (this.#filter !== undefined && !this.#filter(record))) return false;
    const dropped = this.#queue.push(record);
    if (dropped) this.#pendingDrops++;
    if (!this.#draining) {
      this.#draining = true;
      queueMicrotask(() => void this.#drain());
    }
    return dropped;
  }

  close(): void {
    this.#closed = true;
    this.#queue.clear();
  }

  async #drain(): Promise<void> {
    try {
      while (!this.#closed && this.#queue.size > 0) {
        if (this.#pendingDrops > 0) {
          const n = this.#pendingDrops;
          this.#pendingDrops = 0;
          this.#onDrop?.(n);
        }
        const record = this.#queue.shift()!;
        const pending = this.#onRecord(record);
        if (pending !== undefined) await pending;
      }
    } catch {
      this.close();
      this.#onFail();
    } finally {
      this.#draining = false;
    }
  }
}

/** Options of {@linkcode sseStream}. */
export interface SseStreamOptions {
  /** Interval of `: keepalive` comments, in ms. Default 15000. */
  readonly keepaliveMs?: number;
  /** Records held first: the newest `replay` records are sent before live ones. Default 0. */
  readonly replay?: number;
  /** Frames buffered unread before the stream stops taking records. Default 16. */
  readonly highWaterMark?: number;
  /** Queue of the stream's subscription (see {@linkcode SubscribeOptions.maxQueue}). Default 256. */
  readonly maxQueue?: number;
  /** Only records it accepts are replayed and sent. Default all. */
  readonly filter?: FlowFilter | undefined;
}

/** Response headers for {@linkcode sseStream}'s body. */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
});

/** One SSE frame: `event: <event>\ndata: <json>\n\n` (JSON holds no raw line break). */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * A `text/event-stream` body of the feed's live records: `event: flow` frames with the record
 * as JSON, `event: dropped` frames (`{"dropped":n}`) when this client fell behind and missed
 * records, and a `: keepalive` comment every `keepaliveMs` while the client keeps up. The
 * stream closes when `signal` aborts, and unsubscribes when the reader cancels.
 *
 * @example
 * ```ts
 * app.get("/flows/stream", (c) => new Response(sseStream(feed, c.req.raw.signal), { headers: SSE_HEADERS }));
 * ```
 */
export function sseStream(feed: FlowFeed, signal: AbortSignal, options: SseStreamOptions = {}): ReadableStream<Uint8Array> {
  const keepaliveMs = checkCount("keepalive interval", options.keepaliveMs ?? 15_000, 1);
  const replay = checkCount("replay", options.replay ?? 0, 0);
  const highWaterMark = checkCount("high water mark", options.highWaterMark ?? 16, 1);
  const maxQueue = checkCount("subscriber queue", options.maxQueue ?? DEFAULT_SUBSCRIBER_QUEUE, 1);
  const encoder = new TextEncoder();
  let closed = false;
  let unsubscribe: (() => void) | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let wake: (() => void) | undefined;
  let onAbort: (() => void) | undefined;
  const cleanup = () => {
    closed = true;
    unsubscribe?.();
    if (timer !== undefined) clearInterval(timer);
    if (onAbort) signal.removeEventListener("abort", onAbort);
    const w = wake;
    wake = undefined;
    w?.();
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (signal.aborted) {
          closed = true;
          controller.close();
          return;
        }
        const send = (text: string) => controller.enqueue(encoder.encode(text));
        onAbort = () => {
          if (closed) return;
          cleanup();
          controller.close();
        };
        signal.addEventListener("abort", onAbort, { once: true });
        // An immediate first chunk: some servers (Bun's serve) send the response head only with
        // the first body bytes, so without it a client would wait for the first keepalive.
        send(": connected\n\n");
        for (const r of feed.recent(replay, options.filter)) send(sseFrame("flow", r));
        unsubscribe = feed.subscribe(
          (record) => {
            if (closed) return;
            send(sseFrame("flow", record));
            if ((controller.desiredSize ?? 0) > 0) return;
            return new Promise<void>((resolve) => (wake = resolve)); // resumed by pull() or cleanup
          },
          {
            maxQueue,
            filter: options.filter,
            onDrop: (n) => {
              if (!closed) send(sseFrame("dropped", { dropped: n }));
            },
          },
        );
        timer = setInterval(() => {
          if (!closed && (controller.desiredSize ?? 0) > 0) send(": keepalive\n\n");
        }, keepaliveMs);
      },
      pull() {
        const w = wake;
        wake = undefined;
        w?.();
      },
      cancel() {
        cleanup();
      },
    },
    new CountQueuingStrategy({ highWaterMark }),
  );
}
