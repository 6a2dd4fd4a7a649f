import { HeadReader } from "../protocol/http-head-reader.ts";
import { parseRequestHead, type RequestHead } from "../protocol/http-request-head.ts";
import { HttpParseError } from "../protocol/http-errors.ts";
import type { ConnReader } from "./conn-reader.ts";
import { FlowTimeoutError } from "./conn-reader.ts";
import type { Drain } from "./drain.ts";
import type { IdleDeadline } from "./idle-deadline.ts";

export interface HeadBytes {
  readonly head: Uint8Array;
}

export interface ReadHeadOptions {
  readonly kind: "request" | "response";
  readonly maxHeadBytes: number;
  /** Whole-head deadline, counted from the first byte (slowloris). */
  readonly headTimeoutMs: number;
  /**
   * How long to wait for the first byte (keep-alive idle); 0 = no limit. An IdleDeadline
   * instead lets the caller extend the wait (`touch()`) while something else progresses.
   */
  readonly firstByteTimeoutMs: number | IdleDeadline;
  /** Once this drain starts, a head that has not begun is not waited for (as at end of stream). */
  readonly drain?: Drain;
}

/**
 * Reads one message head from `src`. Returns undefined on a clean end of stream before the
 * first byte, and when `drain` starts (or has started) before it; throws HttpParseError on
 * malformed input (incl. end of stream mid-head) and FlowTimeoutError when a deadline
 * passes. Bytes after the head are pushed back.
 */
export async function readHead(src: ConnReader, options: ReadHeadOptions): Promise<Uint8Array | undefined> {
  const reader = new HeadReader({ kind: options.kind, maxHeadBytes: options.maxHeadBytes });
  let started = 0;
  for (;;) {
    let timeout: number | IdleDeadline = options.firstByteTimeoutMs;
    if (reader.started) {
      if (started === 0) started = Date.now();
      timeout = Math.max(1, options.headTimeoutMs - (Date.now() - started));
    }
    const drain = !reader.started && !reader.buffered ? options.drain : undefined;
    if (drain?.draining) return undefined;
    drain?.enter(src); // a drain ends this wait as an end of stream would
    let chunk: Uint8Array | undefined;
    try {
      chunk = await src.read(timeout);
    } finally {
      drain?.leave(src);
    }
    if (!chunk) {
      if (!reader.started && !reader.buffered) return undefined;
      throw new HttpParseError(options.kind === "request" ? 400 : 502, "Connection closed in the middle of a message head");
    }
    if (!reader.started && started === 0) started = Date.now();
    const done = reader.push(chunk);
    if (done) {
      src.unread(done.rest);
      return done.head;
    }
  }
}

export { FlowTimeoutError };

/**
 * The next request head on a client connection, parsed: the whole head within
 * `headerTimeoutMs`; before its first byte, `headerTimeoutMs` for the first request and the
 * idle timeout between keep-alive requests. Undefined at a clean end of stream, and when
 * `drain` starts before the head's first byte.
 */
export async function readRequest(
  src: ConnReader,
  limits: { readonly maxHeadBytes: number; readonly maxHeaders: number; readonly headerTimeoutMs: number; readonly idleTimeoutMs: number },
  first: boolean,
  drain?: Drain,
): Promise<RequestHead | undefined> {
  const bytes = await readHead(src, {
    kind: "request",
    maxHeadBytes: limits.maxHeadBytes,
    headTimeoutMs: limits.headerTimeoutMs,
    firstByteTimeoutMs: first ? limits.headerTimeoutMs : limits.idleTimeoutMs || limits.headerTimeoutMs,
    ...(drain ? { drain } : {}),
  });
  return bytes ? parseRequestHead(bytes, { maxHeadBytes: limits.maxHeadBytes, maxHeaders: limits.maxHeaders }) : undefined;
}
