import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FLOW_ERROR_KINDS, type FlowErrorKind, flowErrorKind } from "../../src/metrics/flow-error-kind.ts";
import type { FlowRecord } from "../../src/log/flow-record.ts";

type Case = [kind: FlowRecord["kind"], status: number | null, error: string, expected: FlowErrorKind];

// Messages as the flows in src/flows/ write them.
const CASES: Case[] = [
  ["connect", 502, 'DNS: Host "nowhere.test" not found', "dns"],
  ["connect", 504, 'DNS: Lookup of "slow.test" timed out', "dns"],
  ["http", 502, "Connect to example.com:80 (192.0.2.1) failed: ECONNREFUSED", "connect"],
  ["connect", 504, "Connect to example.com:443 timed out after 10000 ms", "timeout"],
  ["tls", null, 'No backend of pool "tls" could be reached: Connect to backend https://10.0.0.1 (10.0.0.1): ECONNREFUSED', "connect"],
  ["http", 502, 'No backend of pool "P" could be reached: Connect to backend http://10.0.0.1 (10.0.0.1): ECONNREFUSED', "connect"],
  ["connect", 502, 'No parent proxy could be reached: parent proxy "corp" (parent.test:3128): connect failed: ECONNREFUSED', "connect"],
  ["connect", 502, "Upstream certificate rejected (expired): certificate has expired", "tls_upstream"],
  ["connect", 502, "Upstream TLS handshake with example.com:443 failed: wrong version number", "tls_upstream"],
  ["tls", null, "Upstream TLS handshake with example.com:443 failed: socket hang up", "tls_upstream"],
  ["connect", 200, "Client TLS handshake failed: unknown ca", "tls_client"],
  ["connect", 502, "Could not issue a certificate for example.com: boom", "cert"],
  ["invalid", 408, "Timed out waiting for the request head", "timeout"],
  ["invalid", null, "No complete ClientHello within 10000 ms", "timeout"],
  ["connect", 200, "No complete client TLS handshake within 10000 ms", "timeout"],
  ["http", 504, "Response head not received in time", "timeout"],
  ["connect", 200, "idle", "idle"],
  ["invalid", 431, "Request head larger than 65536 bytes", "limit"],
  ["http", 413, "Body too large", "limit"],
  ["invalid", 400, "Invalid request line", "parse"],
  ["invalid", 405, 'Method "TRACE" is not proxied', "parse"],
  ["invalid", null, "Non-TLS bytes on the transparent TLS listener: not a handshake", "parse"],
  ["connect", 501, 'Rule "r" asks for decryption but no CA is configured', "config"],
  ["tls", null, 'No CA is configured to mint a certificate for "x.example"', "config"],
  ["connect", 200, "ECONNRESET", "reset"],
  ["invalid", null, "ECONNRESET: connection reset by peer, read", "reset"],
  ["invalid", null, "Connection reset by peer (os error 104)", "reset"],
  ["invalid", null, "Connection closed before a complete ClientHello", "parse"],
  ["http", 502, "Upstream closed the connection before answering", "reset"],
  ["http", 502, "Bad upstream response", "upstream"],
  ["connect", 200, "aborted", "other"],
];

describe("flowErrorKind", () => {
  for (const [kind, status, error, expected] of CASES) {
    it(`${JSON.stringify(error)} (${status}) is "${expected}"`, () => {
      assert.equal(flowErrorKind({ kind, status, error }), expected);
    });
  }

  it("no error is no kind, even for a denial", () => {
    assert.equal(flowErrorKind({ kind: "connect", status: 403, error: null }), null);
    assert.equal(flowErrorKind({ kind: "http", status: 200, error: null }), null);
  });

  it("a flow revoked because the policy now denies it is a decision, not an error", () => {
    const error = 'the policy denies it now: rule "no-social" matched host pattern "social.test"';
    assert.equal(flowErrorKind({ kind: "connect", status: 200, error, end: "revoked" }), null);
    assert.equal(flowErrorKind({ kind: "connect", status: 200, error, end: "client-error" }), "other");
  });

  it("every kind it returns is listed", () => {
    for (const [, , , expected] of CASES) assert.ok(FLOW_ERROR_KINDS.includes(expected));
    assert.equal(new Set(FLOW_ERROR_KINDS).size, FLOW_ERROR_KINDS.length);
  });
});
