import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TlsValidationError } from "../../src/core/tls.ts";
import {
  dec,
  DECRYPT_POLICY,
  ESTABLISHED,
  type FakeInterceptionOptions,
  type FlowHarness,
  type Peer,
  readResponse,
  serveRequests,
  tick,
  until,
  withHarness,
  within,
} from "../helpers/flow-harness.ts";

const CONNECT = "CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n";
const GET = "GET /hello HTTP/1.1\r\nHost: origin.test\r\n\r\n";

function decrypting(interception: FakeInterceptionOptions = {}) {
  return { policy: DECRYPT_POLICY, interception };
}

/** Sends `connect` and expects exactly the 200. */
async function establish(c: Peer, connect = CONNECT): Promise<void> {
  await c.write(connect);
  assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200 to the CONNECT"), ESTABLISHED);
}

/** Reads the error answer to a CONNECT and the end of the connection. */
async function readRefusal(c: Peer): Promise<{ status: number; body: string; proxyStatus: string }> {
  const head = await within(c.readHead(), 1500, "answer to the CONNECT");
  const body = dec.decode(await c.readBytes(Number(head.get("content-length"))));
  await c.end().catch(() => {});
  await c.readToEndOrReset();
  return { status: head.status, body, proxyStatus: head.get("proxy-status") ?? "" };
}

/** Ends a client after its last exchange. */
async function hangUp(c: Peer): Promise<void> {
  await c.end();
  await c.readToEndOrReset();
}

describe("interception: upstream TLS before the 200", () => {
  it("answers 200 only after the upstream handshake succeeded, then mints for the host", async () => {
    await withHarness(decrypting({ extraCaPem: ["EXTRA CA"], upstreamMinVersion: "TLSv1.3", clientMinVersion: "TLSv1.3" }), async (h) => {
      serveRequests(h, "10.0.0.1", 443, ["hi"]);
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      h.tls.beforeConnect = () => held;
      const c = h.client();
      await c.write(CONNECT);
      let answered = false;
      const first = c.readText(ESTABLISHED.length).then((t) => {
        answered = true;
        h.tls.events.push("client got 200");
        return t;
      });
      await until(() => h.tls.connects.length === 1, 1000, "upstream TLS connect");
      for (let i = 0; i < 10; i++) await tick();
      assert.equal(answered, false, "200 written while the upstream handshake was still running");
      assert.deepEqual(h.tls.leaves, [], "leaf minted before the upstream handshake completed");
      release();
      assert.equal(await within(first, 1500, "200"), ESTABLISHED);
      await c.write(GET);
      const res = await readResponse(c);
      assert.equal(res.head.status, 200);
      assert.equal(res.body, "hi");
      await hangUp(c);
      await h.finish();

      const ev = h.tls.events;
      assert.ok(ev.indexOf("connected origin.test") < ev.indexOf("leaf origin.test"), ev.join(", "));
      assert.ok(ev.indexOf("leaf origin.test") < ev.indexOf("client got 200"), ev.join(", "));
      assert.ok(ev.indexOf("leaf origin.test") < ev.indexOf("accept"), ev.join(", "));
      assert.deepEqual(h.tls.connects, [
        { address: "10.0.0.1", port: 443, servername: "origin.test", extraCaPem: ["EXTRA CA"], verify: true, alpn: ["http/1.1"], minVersion: "TLSv1.3" },
      ]);
      assert.deepEqual(h.tls.leaves, [{ host: "origin.test", sans: undefined }]);
      assert.deepEqual(h.tls.accepts, [
        // the client's first bytes were read for a look at its ClientHello (here, the fake
        // TLS's plaintext): the handshake gets them, unchanged
        { certChainPem: "FAKE CHAIN for origin.test", keyPem: "FAKE KEY", alpn: ["http/1.1"], minVersion: "TLSv1.3", initialData: GET },
      ]);
      const r = h.record();
      assert.equal(r.kind, "connect");
      assert.equal(r.decryption, "decrypt");
      assert.equal(r.rule, "inspect");
      assert.equal(r.resolved, "10.0.0.1");
      assert.equal(r.dnsSource, "static");
      assert.equal(r.requests, 1);
    });
  });

  it("hands bytes the client sent before the 200 to the client-side handshake", async () => {
    await withHarness(decrypting(), async (h) => {
      serveRequests(h, "10.0.0.1", 443, ["early"]);
      const c = h.client();
      await c.write(CONNECT + GET); // as a client that does not wait for the 200
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      const res = await readResponse(c);
      assert.equal(res.body, "early");
      await hangUp(c);
      await h.finish();
      assert.equal(h.tls.accepts.length, 1);
      assert.equal(h.tls.accepts[0]?.initialData, GET);
    });
  });

  it("a certificate that fails validation: 502 naming the code, nothing minted, no client handshake", async () => {
    await withHarness(decrypting(), async (h) => {
      serveRequests(h, "10.0.0.3", 443, []);
      serveRequests(h, "10.0.0.4", 443, []);
      h.tls.beforeConnect = () => {
        throw new TlsValidationError("CERT_HAS_EXPIRED", "certificate has expired");
      };
      const c = h.client();
      await c.write("CONNECT multi.test:443 HTTP/1.1\r\nHost: multi.test:443\r\n\r\n");
      const res = await readRefusal(c);
      await h.finish();
      assert.equal(res.status, 502);
      assert.match(res.body, /CERT_HAS_EXPIRED/);
      assert.match(res.proxyStatus, /error=tls_certificate_error/);
      assert.deepEqual(h.tls.leaves, [], "a leaf was minted for an upstream that failed validation");
      assert.deepEqual(h.tls.accepts, []);
      // a bad certificate is not an address problem: the second address is not tried
      assert.deepEqual(h.tls.connects.map((o) => o.address), ["10.0.0.3"]);
      const r = h.record();
      assert.equal(r.status, 502);
      assert.equal(r.kind, "connect");
      assert.equal(r.decryption, "decrypt");
      assert.match(String(r.error), /CERT_HAS_EXPIRED/);
      assert.equal(r.requests, 0);
    });
  });

  it("a handshake failure that is not about the certificate tries the next address, then 502", async () => {
    await withHarness(decrypting(), async (h) => {
      h.tls.beforeConnect = () => {
        throw new Error("handshake failure (alert 40)");
      };
      const c = h.client();
      await c.write("CONNECT multi.test:443 HTTP/1.1\r\nHost: multi.test:443\r\n\r\n");
      const res = await readRefusal(c);
      await h.finish();
      assert.equal(res.status, 502);
      assert.match(res.body, /alert 40/);
      assert.deepEqual(h.tls.connects.map((o) => o.address), ["10.0.0.3", "10.0.0.4"]);
      assert.deepEqual(h.tls.leaves, []);
      assert.equal(h.record().status, 502);
    });
  });

  it('upstreamTls "insecure" connects with verify: false (and only that rule)', async () => {
    await withHarness(decrypting(), async (h) => {
      serveRequests(h, "10.0.0.2", 443, ["lab"]);
      const c = h.client();
      await establish(c, "CONNECT other.test:443 HTTP/1.1\r\nHost: other.test:443\r\n\r\n");
      await c.write("GET / HTTP/1.1\r\nHost: other.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "lab");
      await hangUp(c);
      await h.finish();
      assert.equal(h.tls.connects.length, 1);
      assert.equal(h.tls.connects[0]?.verify, false);
      assert.equal(h.tls.connects[0]?.servername, "other.test");
      assert.equal(h.record().rule, "lab-insecure");
    });
  });

  it("mirrors the upstream certificate's names into the leaf only when asked", async () => {
    for (const mirror of [true, false]) {
      await withHarness(decrypting({ mirrorUpstreamSans: mirror, upstreamSans: ["origin.test", "alt.origin.test"] }), async (h) => {
        serveRequests(h, "10.0.0.1", 443, []);
        const c = h.client();
        await establish(c);
        await hangUp(c);
        await h.finish();
        assert.deepEqual(h.tls.leaves, [{ host: "origin.test", sans: mirror ? ["origin.test", "alt.origin.test"] : undefined }]);
      });
    }
  });

  it("mirrors no names from a certificate it did not validate (upstreamTls \"insecure\")", async () => {
    await withHarness(decrypting({ mirrorUpstreamSans: true, upstreamSans: ["other.test", "bank.example", "*.google.com"] }), async (h) => {
      serveRequests(h, "10.0.0.2", 443, []);
      const c = h.client();
      await establish(c, "CONNECT other.test:443 HTTP/1.1\r\nHost: other.test:443\r\n\r\n");
      await hangUp(c);
      await h.finish();
      assert.equal(h.tls.connects[0]?.verify, false);
      assert.deepEqual(h.tls.leaves, [{ host: "other.test", sans: undefined }]);
    });
  });

  it("an IPv6 destination: SNI and leaf name without brackets, Host with them", async () => {
    await withHarness(decrypting(), async (h) => {
      serveRequests(h, "::1", 443, ["v6"]);
      const c = h.client();
      await establish(c, "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n");
      await c.write("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n");
      assert.equal((await readResponse(c)).body, "v6");
      await hangUp(c);
      await h.finish();
      assert.equal(h.tls.connects[0]?.servername, "::1");
      assert.equal(h.tls.connects[0]?.address, "::1");
      assert.deepEqual(h.tls.leaves, [{ host: "::1", sans: undefined }]);
      assert.equal(h.requestRecords[0]?.url, "https://[::1]/");
    });
  });

  it("a decrypt rule without a CA configured: 501, nothing dialed", async () => {
    await withHarness({ policy: DECRYPT_POLICY }, async (h: FlowHarness) => {
      const c = h.client();
      await c.write(CONNECT);
      const res = await readRefusal(c);
      await h.finish();
      assert.equal(res.status, 501);
      assert.match(res.body, /"inspect".*no CA/);
      assert.deepEqual(h.dials, []);
    });
  });

  it("a client gone before the 200: the upstream is closed and the flow logged", async () => {
    await withHarness(decrypting(), async (h) => {
      let upstreamEnded = false;
      h.origin("10.0.0.1", 443, async (o) => {
        await o.readToEndOrReset();
        upstreamEnded = true;
      });
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      h.tls.beforeConnect = () => held;
      const c = h.client();
      await c.write(CONNECT);
      await until(() => h.tls.connects.length === 1);
      c.conn.close();
      release();
      await h.finish();
      assert.equal(upstreamEnded, true);
      assert.deepEqual(h.tls.accepts, []);
      assert.equal(h.record().end, "client-closed");
    });
  });
});
