import type { Conn } from "../core/conn.ts";
import type { Runtime, SpliceOptions, SpliceResult } from "../core/runtime.ts";
import { errorText } from "./flow-state.ts";
import { watchIdle } from "./idle-watch.ts";

/** Relays with the runtime's native splice when it has one (it falls back itself), else {@link spliceStreams}. */
export function splice(runtime: Pick<Runtime, "splice">, a: Conn, b: Conn, options: SpliceOptions): Promise<SpliceResult> {
  return runtime.splice ? runtime.splice(a, b, options) : spliceStreams(a, b, options);
}

/**
 * Relay bytes between two connections until both directions have ended.
 *
 * - Backpressure: a chunk is read from one side only when the other side's writer is ready,
 *   so a slow reader stalls the fast writer (the adapters turn that into TCP backpressure).
 * - Half-close: when one side ends its sending (FIN), the other side's writable is closed
 *   (FIN forwarded) while the opposite direction keeps flowing.
 * - An error in either direction, the idle timeout or the abort signal tears down both.
 */
export async function spliceStreams(a: Conn, b: Conn, options: SpliceOptions): Promise<SpliceResult> {
  const bytes = options.progress ?? { bytesAtoB: 0, bytesBtoA: 0 };
  let end = "eof";
  let error: string | undefined;
  let torn = false;
  const tearDown = (why: string, message?: string) => {
    if (torn) return;
    torn = true;
    end = why;
    error = message;
    a.close();
    b.close();
  };
  const [nameA, nameB] = options.names ?? ["a", "b"];

  const idle = watchIdle(options.idleTimeoutMs, () => tearDown("idle"));
  const onAbort = () => tearDown("aborted");
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const pump = async (src: Conn, dst: Conn, head: Uint8Array | undefined, count: (n: number) => void, names: [string, string]) => {
    const reader = src.readable.getReader();
    const writer = dst.writable.getWriter();
    let reading = false;
    try {
      if (head && head.byteLength > 0) {
        count(head.byteLength);
        await writer.write(head);
      }
      for (;;) {
        await writer.ready;
        reading = true;
        const { done, value } = await reader.read();
        reading = false;
        if (done) break;
        idle.touch();
        count(value.byteLength);
        writer.write(value).catch(() => {});
      }
      await writer.close();
    } catch (e) {
      // the side that failed: the one we were reading from, or the one we were writing to
      const failure = sideFailure(reading ? names[0] : names[1], e);
      tearDown(failure.end, failure.error);
    } finally {
      reader.releaseLock();
      writer.releaseLock();
    }
  };

  try {
    await Promise.all([
      pump(a, b, options.headA, (n) => (bytes.bytesAtoB += n), [nameA, nameB]),
      pump(b, a, undefined, (n) => (bytes.bytesBtoA += n), [nameB, nameA]),
    ]);
  } finally {
    idle.stop();
    options.signal?.removeEventListener("abort", onAbort);
  }
  const counts = { bytesAtoB: bytes.bytesAtoB, bytesBtoA: bytes.bytesBtoA };
  return error === undefined ? { ...counts, end } : { ...counts, end, error };
}

/**
 * How a relay ends when `side` failed: `<side>-reset` for a connection reset, else
 * `<side>-error`, with the error's text.
 */
export function sideFailure(side: string, e: unknown): { end: string; error: string } {
  const error = errorText(e);
  return { end: /ECONNRESET|reset/i.test(error) ? `${side}-reset` : `${side}-error`, error };
}
