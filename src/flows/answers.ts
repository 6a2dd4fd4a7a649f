import type { Conn } from "../core/conn.ts";
import { errorResponse } from "../protocol/http-serialize.ts";
import type { Decision } from "../policy/types.ts";
import { blockedText } from "../block/block-page.ts";
import type { ConnReader } from "./conn-reader.ts";
import type { FlowState } from "./flow-state.ts";

/** How long, and how much, we keep reading a client after answering an error before closing. */
const LINGER_MS = 2000;
const LINGER_BYTES = 1 << 20;
/** How long a client may take to accept an error answer or block page before it is cut off. */
const ANSWER_WRITE_MS = 10_000;

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  413: "Content Too Large",
  421: "Misdirected Request",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/** What an error answer carries beyond its status and message. */
export interface AnswerOptions {
  /** The RFC 9209 error type of the Proxy-Status field; by default one that fits the status. */
  readonly proxyError?: string | undefined;
  /** More header fields (never framing ones). */
  readonly headers?: readonly (readonly [string, string])[] | undefined;
  /** The method of the request answered, when known: a `HEAD` gets the head alone (RFC 9110 §9.3.2). */
  readonly method?: string | undefined;
  /** The body instead of the message and a line break (an HTML page), and its `Content-Type`. */
  readonly body?: { readonly text: string; readonly type: string } | undefined;
}

/** The reason phrase of `status` ("Error" for one the gateway does not answer with). */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? "Error";
}

/** Bytes of a short error response with an RFC 9209 Proxy-Status field. */
export function errorAnswer(status: number, message: string, options: AnswerOptions = {}): Uint8Array {
  const headers: (readonly [string, string])[] = [
    ...(options.body ? [["Content-Type", options.body.type] as const] : []),
    ...(options.headers ?? []),
    ["Proxy-Status", `tollgate; error=${options.proxyError ?? proxyStatusError(status)}; details=${JSON.stringify(message.replace(/[^\x20-\x7e]/g, "?"))}`],
  ];
  return errorResponse(status, reasonPhrase(status), options.body?.text ?? message + "\n", headers, { omitBody: options.method === "HEAD" });
}

/** The answer to a successful CONNECT. */
export const ESTABLISHED: Uint8Array = new TextEncoder().encode("HTTP/1.1 200 Connection Established\r\n\r\n");

/** The body of a 403 for a policy denial: names the rule and why. */
export function blockedBody(d: Decision): string {
  return blockedText({ rule: d.ruleId, reason: d.reason, ...(d.message !== undefined ? { message: d.message } : {}) }).replace(/\n$/, "");
}

/** Writes a short error answer, half-closes, and closes after a bounded linger. Never throws. */
export async function answerAndClose(client: Conn, src: ConnReader, status: number, message: string, options: AnswerOptions = {}): Promise<void> {
  await sendAndClose(client, src, errorAnswer(status, message, options));
}

/**
 * Writes a complete answer, half-closes, and closes after a bounded linger. Never throws. A
 * client that does not take the answer within `writeMs` (it stopped reading: a block page
 * too big for what its buffers still hold) is cut off then.
 */
export async function sendAndClose(client: Conn, src: ConnReader, answer: Uint8Array, writeMs: number = ANSWER_WRITE_MS): Promise<void> {
  const w = client.writable.getWriter();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      client.close();
      resolve();
    }, writeMs);
  });
  const sent = (async () => {
    await w.write(answer);
    await w.close();
  })();
  sent.catch(() => {}); // client already gone (or cut off above)
  try {
    await Promise.race([sent, stalled]);
  } catch {
    // client already gone
  } finally {
    clearTimeout(timer);
    w.releaseLock();
  }
  await lingerClose(client, src);
}

/**
 * Answers the client with a short error response, closes the connection and writes the flow line.
 * Never throws: a client that is already gone is just closed.
 */
export async function answerError(
  client: Conn,
  src: ConnReader,
  flow: FlowState,
  status: number,
  message: string,
  options: AnswerOptions = {},
): Promise<void> {
  finishRefused(flow, status, message);
  await answerAndClose(client, src, status, message, options);
}

/**
 * Writes the flow line of a refusal answered with `status` (in whatever protocol): a 403, 407
 * (no or wrong credentials) or 429 is a decision ("denied"), anything else an error with
 * `message`.
 */
export function finishRefused(flow: FlowState, status: number, message: string): void {
  flow.record.status = status;
  const denial = status === 403 || status === 407 || status === 429; // a decision, not an error
  flow.finish(denial ? "denied" : "error", denial ? undefined : message);
}

/**
 * Closes after our FIN without losing what we sent: closing a socket with unread input makes
 * the kernel send RST, which can destroy the answer in flight. So read and discard a little
 * (bounded in time and bytes) until the client closes too, then close.
 */
export async function lingerClose(client: Conn, src: ConnReader, ms: number = LINGER_MS): Promise<void> {
  let drained = 0;
  const until = Date.now() + ms;
  try {
    while (drained < LINGER_BYTES) {
      const left = until - Date.now();
      if (left <= 0) break;
      const chunk = await src.read(left);
      if (!chunk) break;
      drained += chunk.byteLength;
    }
  } catch {
    // timeout or reset: close below
  }
  client.close();
}

/** RFC 9209 error types for the Proxy-Status header. */
function proxyStatusError(status: number): string {
  switch (status) {
    case 403:
      return "destination_denied";
    case 407:
      return "proxy_auth_required";
    case 503:
      return "connection_limit_reached";
    case 502:
      return "proxy_internal_response";
    case 504:
      return "connection_timeout";
    case 431:
      return "http_request_error";
    default:
      return "http_request_error";
  }
}
