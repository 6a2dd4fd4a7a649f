/**
 * `X-Request-Id` on the reverse proxy: every request gets an id that the backend receives
 * and the request line records, so one request can be found in the gateway's log and the
 * backend's. A proxy in front that the listener trusts (`trustForwardedFrom`) may have named
 * it already; its id is kept. From anyone else a sent id is replaced: a client must not be
 * able to make its requests look like another's in the logs.
 * @module
 */
import type { HeaderList } from "../protocol/http-headers.ts";

/** The field name, as sent. */
export const REQUEST_ID_FIELD = "X-Request-Id";

/** What a kept id may look like: 1-128 visible ASCII characters. */
const VALID = /^[\x21-\x7e]{1,128}$/;

/** The request's id: a trusted peer's (one valid field), else a new random UUID. */
export function requestIdFor(headers: HeaderList, trusted: boolean): string {
  if (trusted) {
    const sent = headers.getAll("x-request-id");
    if (sent.length === 1 && VALID.test(sent[0]!)) return sent[0]!;
  }
  return crypto.randomUUID();
}
