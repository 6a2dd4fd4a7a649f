/**
 * How a tunnel request is answered: the bytes that open the tunnel and the refusals, for
 * HTTP `CONNECT` (a `200` and error responses) and for a SOCKS5 request (reply codes).
 * The tunnel and interception flows are written once against this.
 * @module
 */
import type { Address, Conn } from "../core/conn.ts";
import { type AnswerOptions, answerError, ESTABLISHED } from "./answers.ts";
import type { ConnReader } from "./conn-reader.ts";
import type { FlowState } from "./flow-state.ts";

export interface TunnelReplies {
  /**
   * What tells the client its tunnel is open (the flow line's status is then 200); `bound`
   * is the gateway's own address on the connection it opened for the tunnel, when there is one.
   */
  established(bound?: Address): Uint8Array;
  /**
   * Refuses the request: `status` is the HTTP status a CONNECT would get and `options.proxyError`
   * the RFC 9209 error type, which a protocol without them maps to its own codes. Writes the
   * flow line and closes; never throws.
   */
  refuse(client: Conn, src: ConnReader, flow: FlowState, status: number, message: string, options?: AnswerOptions): Promise<void>;
}

/** HTTP `CONNECT`: `200 Connection Established`, or an error response with a Proxy-Status field. */
export const CONNECT_REPLIES: TunnelReplies = { established: () => ESTABLISHED, refuse: answerError };
