import type { FlowRecord, RequestRecord } from "../../src/log/flow-record.ts";

/** A finished flow record with defaults for the fields a test does not set. */
export function flowRecord(fields: Partial<FlowRecord> = {}): FlowRecord {
  return {
    type: "flow",
    time: "2025-01-01T00:00:00.000Z",
    client: "127.0.0.1:50000",
    peer: null,
    listener: "main",
    user: null,
    userAgent: null,
    mode: "explicit",
    kind: "connect",
    host: "example.com",
    port: 443,
    resolved: "93.184.216.34",
    dnsSource: "system",
    parent: null,
    decision: "allow",
    rule: "r1",
    reason: "matched",
    decryption: "none",
    ech: null,
    alpn: null,
    status: 200,
    bytesUp: 0,
    bytesDown: 0,
    requests: 0,
    durationMs: 5,
    headerMs: null,
    end: "eof",
    error: null,
    ...fields,
  };
}

/** A request record on a decrypted connection. */
export function requestRecord(fields: Partial<RequestRecord> = {}): RequestRecord {
  return {
    type: "request",
    time: "2025-01-01T00:00:00.000Z",
    client: "127.0.0.1:50000",
    listener: "main",
    user: null,
    userAgent: null,
    requestId: null,
    mode: "explicit",
    host: "example.com",
    port: 443,
    method: "GET",
    url: "https://example.com/",
    status: 200,
    decision: "allow",
    rule: "default",
    reason: "",
    bytesUp: 10,
    bytesDown: 20,
    durationMs: 3,
    headerMs: 2,
    backend: null,
    error: null,
    ...fields,
  };
}
