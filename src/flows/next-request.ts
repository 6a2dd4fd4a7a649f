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
 * True when reading a request head failed because of the input (answered with an error
 * status), false when the connection failed under it (a reset: there is nobody to answer).
 */
export function answerable(e: unknown): e is FlowTimeoutError | HttpParseError {
  return e instanceof FlowTimeoutError || e instanceof HttpParseError;
}

/**
 * Reads the next request head of a request loop. A clean end of stream, an idle
 * keep-alive connection, or a drain that starts before the next request begins just closes; a malformed or too-slow head is answered (400/431/408…)
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
    client.close();
    return { end: "eof" };
  } catch (e) {
    if (e instanceof FlowTimeoutError && !first) {
      client.close();
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
