import type { ConnReader } from "./conn-reader.ts";
import type { Drain } from "./drain.ts";

/** Limits of {@link readFirst}. */
export interface ReadFirstLimits {
  /** The whole message must arrive within this time (else FlowTimeoutError). */
  readonly timeoutMs: number;
  /** Once this drain starts, a message that has not begun is not waited for (as at end of stream). */
  readonly drain?: Drain | undefined;
}

/**
 * Reads the message a connection opens with (a ClientHello, a PROXY header): feeds each
 * chunk to `push` until it returns a value, all within `timeoutMs`. Undefined when the
 * stream ends first (also by a drain before the first byte; `src.received` tells whether
 * anything came); `push` throws on malformed input.
 */
export async function readFirst<T>(src: ConnReader, push: (chunk: Uint8Array) => T | undefined, limits: ReadFirstLimits): Promise<T | undefined> {
  const until = Date.now() + limits.timeoutMs;
  for (;;) {
    const drain = src.received ? undefined : limits.drain;
    drain?.enter(src); // a drain ends this wait as a close would
    let chunk: Uint8Array | undefined;
    try {
      chunk = await src.read(Math.max(1, until - Date.now()));
    } finally {
      drain?.leave(src);
    }
    if (!chunk) return undefined;
    const done = push(chunk);
    if (done !== undefined) return done;
  }
}
