/**
 * Reproductions for bugs found while testing the transparent proxy (see README.md here).
 * Copy to test/flows/ of the tree: they fail on the unpatched src/ and pass with fix.patch.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { type FlowHarness, type Peer, readResponse, withHarness, within } from "../helpers/flow-harness.ts";
import { echExt, encodeHello, recordize, sniExt, versionsExt } from "../protocol/client-hello-builder.ts";

const NO_SNI = new Uint8Array(readFileSync(new URL("../fixtures/client-hello/openssl-noservername.bin", import.meta.url)));

/** An origin at 10.0.0.1:80 answering one request; `ended()` tells whether its connection was closed by the proxy. */
function keepAliveOrigin(h: FlowHarness): () => boolean {
  let ended = false;
  h.origin("10.0.0.1", 80, async (o) => {
    await o.readHead();
    await o.write("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na");
    await o.readToEndOrReset();
    ended = true;
  });
  return () => ended;
}

async function hangUp(c: Peer): Promise<void> {
  await c.end();
  await within(c.readToEndOrReset(), 3000, "end of the connection");
}

describe("bug 1: a kept-alive upstream leaks when a later request on the connection is refused", () => {
  const cases = [
    { name: "explicit, then a denied host (403)", client: (h: FlowHarness) => h.client(), first: "GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n", second: "GET http://evil.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n", status: 403 },
    { name: "transparent-http, then a denied Host (403)", client: (h: FlowHarness) => h.transparentHttpClient(), first: "GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n", second: "GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n", status: 403 },
    { name: "transparent-http, then a CONNECT (405)", client: (h: FlowHarness) => h.transparentHttpClient(), first: "GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n", second: "CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n", status: 405 },
    { name: "transparent-http, then no Host (400)", client: (h: FlowHarness) => h.transparentHttpClient(), first: "GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n", second: "GET / HTTP/1.0\r\n\r\n", status: 400 },
  ];
  for (const k of cases) {
    it(k.name, async () => {
      await withHarness({}, async (h) => {
        const ended = keepAliveOrigin(h);
        const c = k.client(h);
        await c.write(k.first);
        assert.equal((await readResponse(c)).body, "a");
        await c.write(k.second);
        assert.equal((await readResponse(c)).head.status, k.status);
        await hangUp(c);
        // unpatched: the origin's connection is never closed, finish() times out ("did not finish")
        await h.finish();
        assert.equal(ended(), true);
      });
    });
  }
});

describe("bug 2: noSni allow + a decrypt rule logs decryption \"decrypt\" for a spliced connection", () => {
  it("the log says exception, as the connection really was spliced", async () => {
    await withHarness({
      policy: { defaultAction: "deny", defaultLog: true, rules: [{ id: "inspect", hosts: ["fallback.test"], action: "allow", decryption: "decrypt", log: true }] },
      hosts: { "fallback.test": ["10.0.0.5"] },
      interception: {},
    }, async (h) => {
      let got: Uint8Array | undefined;
      h.origin("10.0.0.5", 9443, async (o) => {
        got = (await o.readBytes(NO_SNI.length)).slice();
        await o.end();
        await o.readToEndOrReset();
      });
      const c = h.transparentClient({ noSni: { action: "allow", upstream: { host: "fallback.test", port: 9443 } } });
      await c.write(NO_SNI);
      await hangUp(c);
      await h.finish();
      assert.deepEqual(got, NO_SNI, "spliced: the fixed upstream got the ClientHello itself");
      assert.deepEqual(h.tls.accepts, [], "nothing was decrypted");
      assert.equal(h.record().decryption, "exception");
    });
  });
});

describe("bug 3: a ClientHello refused by ech block is logged without its (outer) host", () => {
  it("logs the outer SNI and the port", async () => {
    await withHarness({}, async (h) => {
      const c = h.transparentClient({ ech: "block", upstreamPort: 8443 });
      await c.write(recordize(encodeHello({
        legacyVersion: 0x0303,
        sessionId: new Uint8Array(32),
        cipherSuites: [0x1301],
        compressionMethods: [0],
        extensions: [sniExt("Public.test"), versionsExt([0x0304]), echExt()],
      })));
      await within(c.readToEndOrReset(), 1500, "alert");
      await h.finish();
      const r = h.record();
      assert.equal(r.rule, "ech-block");
      assert.equal(r.host, "public.test");
      assert.equal(r.port, 8443);
    });
  });
});
