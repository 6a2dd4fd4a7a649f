import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { TlsValidationError } from "../../src/core/tls.ts";
import type { PolicyDefinition } from "../../src/policy/types.ts";
import { dec, type HarnessOptions, type ParsedHead, type Peer, readResponse, serveRequests, withHarness, within } from "../helpers/flow-harness.ts";

/** curl's real ClientHello: SNI example.com (see test/fixtures/client-hello/README.md). */
const CURL = new Uint8Array(readFileSync(new URL("../fixtures/client-hello/curl-openssl.bin", import.meta.url)));

const POLICY: PolicyDefinition = {
  defaultAction: "deny",
  defaultLog: true,
  rules: [{ id: "inspect", hosts: ["example.com"], action: "allow", decryption: "decrypt", log: true }],
};

const DECRYPT: HarnessOptions = { policy: POLICY, hosts: { "example.com": ["10.0.0.7"] }, interception: {} };

/** Reads until the connection ends; what arrived. */
async function drain(c: Peer): Promise<string> {
  return dec.decode((await within(c.readToEndOrReset(), 3000, "end of the connection")).data);
}

describe("transparent TLS: decrypt", () => {
  it("accepts with the exact ClientHello as initialData, connects with the SNI, relays requests", async () => {
    await withHarness(DECRYPT, async (h) => {
      const seen: ParsedHead[] = [];
      serveRequests(h, "10.0.0.7", 443, ["one", "two"], seen);
      const c = h.transparentClient();
      await c.writeSplit(CURL, [100, 1]);
      await c.write("GET /a?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
      const first = await readResponse(c);
      assert.equal(first.head.status, 200);
      assert.equal(first.body, "one");
      // the Host port is the client's view of the original destination: not checked
      await c.write("GET /b HTTP/1.1\r\nHost: example.com:8443\r\n\r\n");
      const second = await readResponse(c);
      assert.equal(second.body, "two");
      await c.end();
      await drain(c);
      await h.finish();

      assert.equal(h.tls.acceptedBytes.length, 1);
      assert.deepEqual(h.tls.acceptedBytes[0], CURL);
      assert.equal(h.tls.accepts[0]?.alpn?.join(","), "http/1.1");
      assert.deepEqual(h.tls.connects.map((o) => [o.address, o.port, o.servername, o.verify]), [["10.0.0.7", 443, "example.com", true]]);
      assert.deepEqual(h.tls.leaves, [{ host: "example.com", sans: undefined }]);
      assert.deepEqual(h.dials, [{ address: "10.0.0.7", port: 443 }]);
      assert.deepEqual(seen.map((s) => s.startLine), ["GET /a?q=1 HTTP/1.1", "GET /b HTTP/1.1"]);
      assert.deepEqual(seen.map((s) => s.get("host")), ["example.com", "example.com:8443"]);

      const r = h.record();
      assert.equal(r.mode, "transparent");
      assert.equal(r.kind, "tls");
      assert.equal(r.host, "example.com");
      assert.equal(r.port, 443);
      assert.equal(r.decryption, "decrypt");
      assert.equal(r.resolved, "10.0.0.7");
      assert.equal(r.dnsSource, "static");
      assert.equal(r.ech, false);
      assert.equal(r.alpn, "h2,http/1.1");
      assert.equal(r.requests, 2);
      assert.deepEqual(h.requestRecords.map((q) => [q.mode, q.url, q.status, q.decision]), [
        ["transparent", "https://example.com/a?q=1", 200, "allow"],
        ["transparent", "https://example.com/b", 200, "allow"],
      ]);
    });
  });

  it("a Host naming another server gets 421 (domain fronting), nothing reaches the origin", async () => {
    await withHarness(DECRYPT, async (h) => {
      const seen: ParsedHead[] = [];
      serveRequests(h, "10.0.0.7", 443, [], seen);
      const c = h.transparentClient();
      await c.write(CURL);
      await c.write("GET / HTTP/1.1\r\nHost: other.example\r\n\r\n");
      const answer = await readResponse(c);
      assert.equal(answer.head.status, 421);
      assert.match(answer.body, /Host "other\.example" does not match/);
      await c.end();
      assert.equal(await drain(c), "");
      await h.finish();
      assert.deepEqual(seen, []);
      const q = h.requestRecords[0];
      assert.equal(q?.status, 421);
      assert.equal(q?.rule, "host-mismatch");
      assert.equal(h.record().mode, "transparent");
    });
  });

  it("upstream TLS uses upstreamPort", async () => {
    await withHarness(DECRYPT, async (h) => {
      serveRequests(h, "10.0.0.7", 9443, ["x"]);
      const c = h.transparentClient({ upstreamPort: 9443 });
      await c.write(CURL);
      await c.write("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
      assert.equal((await readResponse(c)).body, "x");
      await c.end();
      await drain(c);
      await h.finish();
      assert.deepEqual(h.tls.connects.map((o) => [o.address, o.port, o.servername]), [["10.0.0.7", 9443, "example.com"]]);
      assert.equal(h.requestRecords[0]?.url, "https://example.com:9443/");
    });
  });

  it("an upstream certificate failure: handshake_failure alert, nothing minted or accepted", async () => {
    await withHarness(DECRYPT, async (h) => {
      h.tls.beforeConnect = () => {
        throw new TlsValidationError("CERT_HAS_EXPIRED", "certificate has expired");
      };
      const c = h.transparentClient();
      await c.write(CURL);
      const { data } = await within(c.readToEndOrReset(), 1500, "alert");
      assert.deepEqual(data, Uint8Array.of(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40));
      await h.finish();
      assert.deepEqual(h.tls.leaves, []);
      assert.deepEqual(h.tls.accepts, []);
      assert.match(String(h.record().error), /Upstream certificate rejected \(CERT_HAS_EXPIRED\)/);
    });
  });

  it("a decrypt rule without a CA: internal_error alert, nothing dialed", async () => {
    await withHarness({ policy: POLICY, hosts: { "example.com": ["10.0.0.7"] } }, async (h) => {
      const c = h.transparentClient();
      await c.write(CURL);
      const { data } = await within(c.readToEndOrReset(), 1500, "alert");
      assert.deepEqual(data, Uint8Array.of(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 80));
      await h.finish();
      assert.deepEqual(h.dials, []);
      assert.match(String(h.record().error), /no CA is configured/);
    });
  });
});
