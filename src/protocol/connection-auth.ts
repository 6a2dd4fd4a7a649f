/**
 * Authorization schemes that authenticate the connection rather than the request (NTLM,
 * RFC 4559 Negotiate): a server that accepted them treats later requests on that connection
 * as that user's, so a proxy must never hand such a connection to another client.
 * @module
 */
import type { HeaderList } from "./http-headers.ts";

const CONNECTION_AUTH = /^\s*(?:NTLM|Negotiate)(?:\s|$)/i;

/** True when the request's `Authorization` uses a connection-bound scheme. */
export function connectionBoundAuth(headers: HeaderList): boolean {
  return CONNECTION_AUTH.test(headers.get("authorization") ?? "");
}
