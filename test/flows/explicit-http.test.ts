import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { okResponse, type ParsedHead, readResponse, serveRequests, withHarness, within } from "../helpers/flow-harness.ts";

describe("explicit proxy: absolute-form requests", () => {
  it("forwards origin-form with Host from the URI, hop-by-hop fields removed and Via appended", async () => {
    const request =
      "GET http://origin.test:8080/path/a?q=1&r=%20 HTTP/1.1\r\n" +
      "Host: wrong.example\r\n" +
      "User-Agent: flow-test\r\n" +
      "Accept: */*\r\n" +
      "Connection: keep-alive, X-Secret\r\n" +
      "Keep-Alive: timeout=5\r\n" +
      "Proxy-Connection: keep-alive\r\n" +
      "TE: trailers\r\n" +
      "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n" +
      "X-Secret: hop-only\r\n" +
      "Via: 1.0 fred\r\n" +
      "\r\n";
    await withHarness({}, async (h) => {
      let received = "";
      h.origin("10.0.0.1", 8080, async (o) => {
        received = await o.readUntil("\r\n\r\n");
        await o.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nKeep-Alive: timeout=9\r\nConnection: X-Internal\r\nX-Internal: 1\r\nX-Kept: yes\r\n\r\nhello");
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.writeSplit(request, [1]);
      const res = await readResponse(c);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();

      const lines = received.split("\r\n");
      assert.equal(lines[0], "GET /path/a?q=1&r=%20 HTTP/1.1");
      assert.deepEqual(
        lines.slice(1, -2).sort(),
        ["Accept: */*", "Host: origin.test:8080", "User-Agent: flow-test", "Via: 1.0 fred", "Via: 1.1 tollgate"].sort(),
      );
      assert.ok(received.indexOf("Via: 1.0 fred") < received.indexOf("Via: 1.1 tollgate"), "our Via comes last");

      assert.equal(res.head.startLine, "HTTP/1.1 200 OK");
      assert.equal(res.body, "hello");
      assert.equal(res.head.get("via"), "1.1 tollgate");
      assert.equal(res.head.get("x-kept"), "yes");
      assert.equal(res.head.get("keep-alive"), undefined);
      assert.equal(res.head.get("x-internal"), undefined);
      assert.equal(res.head.get("connection"), undefined);

      assert.deepEqual(h.dials, [{ address: "10.0.0.1", port: 8080 }]);
      const r = h.record();
      assert.equal(r.kind, "http");
      assert.equal(r.host, "origin.test");
      assert.equal(r.port, 8080);
      assert.equal(r.resolved, "10.0.0.1");
      assert.equal(r.dnsSource, "static");
      assert.equal(r.decision, "allow");
      assert.equal(r.rule, "allow-test");
      assert.equal(r.status, 200);
      assert.equal(r.requests, 1);
      assert.equal(r.bytesUp, received.length);
      assert.equal(r.bytesDown, res.bytes);
      assert.equal(r.end, "eof");
    });
  });

  it("keeps the client connection alive and reuses one upstream connection", async () => {
    await withHarness({}, async (h) => {
      const seen: ParsedHead[] = [];
      serveRequests(h, "10.0.0.1", 80, ["first", "second!"], seen);
      const c = h.client();
      await c.writeSplit("GET http://origin.test/1 HTTP/1.1\r\nHost: origin.test\r\n\r\n", [2, 5]);
      assert.equal((await readResponse(c)).body, "first");
      await c.write("GET http://origin.test/2 HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const second = await readResponse(c);
      assert.equal(second.body, "second!");
      assert.equal(second.head.get("connection"), undefined);
      await c.end();
      assert.equal((await c.readToEndOrReset()).data.byteLength, 0);
      await h.finish();
      assert.equal(h.dials.length, 1, "one upstream connection for both requests");
      assert.deepEqual(
        seen.map((s) => s.startLine),
        ["GET /1 HTTP/1.1", "GET /2 HTTP/1.1"],
      );
      assert.deepEqual(
        h.records.map((r) => [r.status, r.requests, r.end]),
        [
          [200, 1, "eof"],
          [200, 1, "eof"],
        ],
      );
    });
  });

  it("answers pipelined requests in order", async () => {
    await withHarness({}, async (h) => {
      const seen: ParsedHead[] = [];
      serveRequests(h, "10.0.0.1", 80, ["one", "two"], seen);
      const c = h.client();
      await c.write("GET http://origin.test/a HTTP/1.1\r\nHost: origin.test\r\n\r\nGET http://origin.test/b HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "one");
      assert.equal((await readResponse(c)).body, "two");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(
        seen.map((s) => s.startLine),
        ["GET /a HTTP/1.1", "GET /b HTTP/1.1"],
      );
      assert.equal(h.dials.length, 1);
    });
  });

  it("dials again when the next request names another origin", async () => {
    await withHarness({}, async (h) => {
      let firstEnded = false;
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write(okResponse("a"));
        await o.readToEndOrReset();
        firstEnded = true;
      });
      serveRequests(h, "10.0.0.2", 80, ["b"]);
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "a");
      await c.write("GET http://other.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "b");
      assert.equal(firstEnded, true, "the first upstream connection was closed");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(
        h.dials.map((d) => d.address),
        ["10.0.0.1", "10.0.0.2"],
      );
    });
  });

  it("closes after the response when the client sends Connection: close", async () => {
    await withHarness({}, async (h) => {
      const seen: ParsedHead[] = [];
      serveRequests(h, "10.0.0.1", 80, ["bye"], seen);
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n");
      const res = await readResponse(c);
      assert.equal(res.body, "bye");
      assert.equal(res.head.get("connection"), "close");
      const rest = await within(c.readToEndOrReset(), 1500, "close");
      assert.deepEqual(rest, { data: new Uint8Array(0), reset: false });
      await c.end();
      await h.finish();
      assert.equal(seen[0]?.get("connection"), undefined, "Connection is hop-by-hop");
      assert.equal(h.records.length, 1);
    });
  });

  it("dials again after an origin answered with Connection: close, keeping the client", async () => {
    await withHarness({}, async (h) => {
      let n = 0;
      h.origin("10.0.0.1", 80, async (o) => {
        n += 1;
        await o.readHead();
        await o.write(`HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n${n}`);
        await o.end();
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const first = await readResponse(c);
      assert.equal(first.body, "1");
      assert.equal(first.head.get("connection"), undefined, "the client connection stays open");
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "2");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.dials.length, 2);
    });
  });

  it("applies the policy to the normalised host (case, trailing dot)", async () => {
    await withHarness({}, async (h) => {
      const c = h.client();
      await c.write("GET http://EVIL.Test./ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await c.readHead()).status, 403);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(h.dials, []);
      assert.equal(h.record().host, "evil.test");
      assert.equal(h.record().rule, "block-evil");
    });
  });

  it("denies by policy with a 403 and no dial", async () => {
    await withHarness({}, async (h) => {
      const c = h.client();
      await c.write("GET http://evil.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n");
      const head = await c.readHead();
      assert.equal(head.status, 403);
      assert.match(await c.readText(Number(head.get("content-length"))), /rule "block-evil"/);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.equal(r.kind, "http");
      assert.equal(r.decision, "deny");
      assert.equal(r.status, 403);
    });
  });

  it("closes an idle keep-alive client quietly after the limit", async () => {
    await withHarness({ limits: { headerTimeoutMs: 100 } }, async (h) => {
      serveRequests(h, "10.0.0.1", 80, ["x"]);
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "x");
      const started = Date.now();
      const rest = await within(c.readToEndOrReset(), 1500, "idle close");
      assert.ok(Date.now() - started >= 90, "not before the limit");
      assert.equal(rest.data.byteLength, 0, "no 408 on an idle keep-alive connection");
      await h.finish();
      assert.equal(h.records.length, 1);
    });
  });

  it("answers 502 when the upstream sends a malformed response", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx");
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const head = await within(c.readHead(), 1500, "502");
      assert.equal(head.status, 502);
      await c.readBytes(Number(head.get("content-length")));
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      const r = h.record();
      assert.equal(r.status, 502);
      assert.match(r.error ?? "", /Content-Length/);
    });
  });
});
