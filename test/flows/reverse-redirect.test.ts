import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import { handleRedirectHttps } from "../../src/flows/reverse-redirect.ts";
import { type FlowHarness, Peer, readResponse, within, withHarness } from "../helpers/flow-harness.ts";

function open(h: FlowHarness, httpsPort = 443): { c: Peer; done: Promise<void> } {
  const [proxySide, clientSide] = memoryConnPair({ remote: { address: "192.0.2.7", port: 40001 }, local: { address: "127.0.0.1", port: 8080 } });
  return { c: new Peer(clientSide), done: handleRedirectHttps(proxySide, { ...h.ctx, mode: "redirect-https", listenerName: "http" }, httpsPort) };
}

describe("redirect-https flow", () => {
  it("answers 308 to the same host, path and query on https, keeping the connection alive", async () => {
    await withHarness({}, async (h) => {
      const { c, done } = open(h);
      await c.write("GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: Shop.Example.test:8080\r\n\r\n");
      const first = await readResponse(c);
      assert.equal(first.head.startLine, "HTTP/1.1 308 Permanent Redirect");
      assert.equal(first.head.get("location"), "https://shop.example.test/a/b?x=1&y=%20");
      assert.equal(first.head.get("connection"), undefined);
      // a HEAD gets the head alone: the next answer on the connection starts right after it
      await c.write("HEAD / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\nGET /next HTTP/1.1\r\nHost: a.test\r\n\r\n");
      const second = await readResponse(c, "HEAD");
      assert.equal(second.head.get("location"), "https://[2001:db8::1]/");
      assert.equal(second.head.get("content-length"), String("Redirecting to https://[2001:db8::1]/\n".length));
      const third = await readResponse(c);
      assert.equal(third.head.startLine, "HTTP/1.1 308 Permanent Redirect");
      assert.equal(third.head.get("location"), "https://a.test/next");
      await c.end();
      assert.equal((await c.readToEndOrReset()).data.byteLength, 0, "nothing after the last answer");
      await within(done, 3000);
      assert.deepEqual(h.requestRecords.map((q) => [q.mode, q.rule, q.status, q.bytesDown]), [
        ["reverse", "redirect-https", 308, first.bytes],
        ["reverse", "redirect-https", 308, second.bytes],
        ["reverse", "redirect-https", 308, third.bytes],
      ]);
      const r = h.record();
      assert.equal(r.mode, "reverse");
      assert.equal(r.kind, "http");
      assert.equal(r.requests, 3);
      assert.equal(r.status, 308);
    });
  });

  it("names a non-default https port, and closes after a request with a body", async () => {
    await withHarness({}, async (h) => {
      const { c, done } = open(h, 8443);
      await c.write("POST /form HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n\r\nabc");
      const res = await readResponse(c);
      assert.equal(res.head.status, 308);
      assert.equal(res.head.get("location"), "https://a.test:8443/form");
      assert.equal(res.head.get("connection"), "close");
      await c.end();
      assert.equal((await c.readToEndOrReset()).data.byteLength, 0);
      await within(done, 3000);
    });
  });

  it("refuses a request without a Host with 400", async () => {
    await withHarness({}, async (h) => {
      const { c, done } = open(h);
      await c.write("GET / HTTP/1.0\r\n\r\n");
      const res = await readResponse(c);
      assert.equal(res.head.status, 400);
      assert.match(res.body, /valid Host/);
      await c.end();
      await c.readToEndOrReset();
      await within(done, 3000);
      assert.equal(h.record().end, "error");
    });
  });
});
