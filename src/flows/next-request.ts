import type { Conn } from "../core/conn.ts";
import { HttpParseError } from "../protocol/http-errors.ts";
import type { RequestHead } from "../protocol/http-request-head.ts";
import { answerAndClose } from "./answers.ts";
import { type ConnReader, FlowTimeoutError } from "./conn-reader.ts";
import type { Drain } from "./drain.ts";
import { clientFailure, errorText } from "./flow-state.ts";
import { readRequest } from "./read-head.ts";

/** The next request on a keep-alive connection, or how the connection ended. */
export type NextRequest =
  | { readonly head: RequestHead }
  | { readonly end: "eof" | "idle" }
  | { readonly end: "error"; readonly status: number; readonly error: string }
  | { readonly end: "client-reset" | "client-error"; readonly error: string };

/**
 * Ends a connection between requests in order: FIN after what was written, then `close()`
 * (conn.ts), so that a slow client still reading the last answer gets all of it (a drain or an
 * idle timeout closes such a connection). Never throws.
 */
async function closeInOrder(client: Conn): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  // a TLS close_notify to a client that reads nothing may never be written: wait 1 s at most
  const bound = new Promise<void>((r) => (timer = setTimeout(r, 1_000)));
  await Promise.race([client.writable.close().catch(() => {}), bound]); // gone already, or held: closed below
  clearTimeout(timer);
  client.close();
}

/**
 * True when reading a request head failed because of the input (answered with an error
 * status), false when the connection failed under it (a reset: there is nobody to answer).
 */
export function answerable(e: unknown): e is FlowTimeoutError | HttpParseError {
  return e instanceof FlowTimeoutError || e instanceof HttpParseError;
}

/**
 * Reads the next request head of a request loop. A clean end of stream, an idle
 * keep-alive connection, or a drain that starts before the next request begins just closes
 * (in order); a malformed or too-slow head is answered (400/431/408…)
 * and the connection closed, so the caller only has to record how it ended. A connection
 * that fails under the read (reset) is closed without an answer: no status is claimed.
 */
export async function nextRequest(
  client: Conn,
  src: ConnReader,
  limits: Parameters<typeof readRequest>[1],
  first: boolean,
  drain?: Drain,
): Promise<NextRequest> {
  try {
    const head = await readRequest(src, limits, first, drain);
    if (head) return { head };
    await closeInOrder(client);
    return { end: "eof" };
  } catch (e) {
    if (e instanceof FlowTimeoutError && !first) {
      await closeInOrder(client);
      return { end: "idle" };
    }
    if (!answerable(e)) {
      client.close();
      return { end: clientFailure(e), error: errorText(e) };
    }
    const status = e instanceof FlowTimeoutError ? 408 : e.status;
    await answerAndClose(client, src, status, errorText(e));
    return { end: "error", status, error: errorText(e) };
  }
}
