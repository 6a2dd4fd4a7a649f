/**
 * The failures of one forwarded HTTP exchange (`exchange()` in `http-exchange.ts`) that its
 * callers answer differently from others, and what a failed attempt had sent.
 * @module
 */
import type { ByteCounts } from "./exchange-meter.ts";

/**
 * Thrown for failures after the final response's head went out, and when the client reset
 * its connection: the client cannot get an error page any more. (After only interim 1xx
 * responses it still can: those failures are thrown as they are.)
 */
export class ExchangeAbortedError extends Error {
  override name = "ExchangeAbortedError";
  readonly status: number;
  /**
   * What got through before the failure: the final status sent to the client (null when the
   * client went away before one) and the bytes each way.
   */
  readonly sent: {
    readonly status: number | null;
    readonly bytesUp: number;
    readonly bytesDown: number;
    /** When the final response head arrived from upstream (`Date.now()`), null if none did. */
    readonly headerAt: number | null;
  };
  /** The client reset its connection (the flow ends "client-reset", not "error"). */
  readonly clientReset: boolean;
  constructor(status: number, message: string, sent: ExchangeAbortedError["sent"], options?: ErrorOptions & { readonly clientReset?: boolean }) {
    super(message, options);
    this.status = status;
    this.sent = sent;
    this.clientReset = options?.clientReset ?? false;
  }
}

/** The upstream ended the connection without a response (a reused keep-alive connection may do so). */
export class UpstreamClosedError extends Error {
  override name = "UpstreamClosedError";
}

const NOTHING: ByteCounts = Object.freeze({ bytesUp: 0, bytesDown: 0 });
const sentBy = new WeakMap<object, ByteCounts>();

/** Records what the exchange attempt that throws `e` before any final answer had sent. */
export function noteSent(e: unknown, sent: ByteCounts): void {
  if (typeof e === "object" && e !== null) sentBy.set(e, sent);
}

/**
 * What the exchange attempt that threw `e` before a final answer had sent: its request head
 * and whatever of the body reached the upstream, and any interim answers to the client. It
 * counts in the logs (a body an origin took is an upload, also when its answer then failed).
 * Nothing for an error not thrown by an exchange.
 */
export function sentBefore(e: unknown): ByteCounts {
  return (typeof e === "object" && e !== null ? sentBy.get(e) : undefined) ?? NOTHING;
}
