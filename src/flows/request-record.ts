import type { FlowRecord, RequestRecord } from "../log/flow-record.ts";
import { userAgentOf } from "../log/user-agent.ts";
import type { RequestHead } from "../protocol/http-request-head.ts";

/**
 * A request line for one request of a decrypted connection, not yet decided: allowed by the
 * default, nothing sent, no status. The caller fills in what happens to it.
 */
export function requestRecord(conn: FlowRecord, head: RequestHead, host: string, port: number, url: string): RequestRecord {
  return {
    type: "request",
    time: "",
    client: conn.client,
    listener: conn.listener,
    user: conn.user,
    userAgent: userAgentOf(head.headers),
    requestId: null,
    mode: conn.mode,
    host,
    port,
    method: head.method,
    url,
    status: null,
    decision: "allow",
    rule: "default",
    reason: "",
    bytesUp: 0,
    bytesDown: 0,
    durationMs: 0,
    headerMs: null,
    backend: null,
    error: null,
  };
}
