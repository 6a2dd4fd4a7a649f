import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { dec, okResponse, type ParsedHead, readResponse, withHarness, within } from "../helpers/flow-harness.ts";

describe("explicit proxy: message bodies and special responses", () => {
  it("relays a chunked response with trailers intact and keeps the connection", async () => {
    const chunked = "5;ext=1\r\nhello\r\n1a\r\n, world, in three chunks!!\r\n3\r\n..!\r\n0\r\nX-Checksum: 42\r\nX-More: yes\r\n\r\n";
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum, X-More\r\n\r\n");
        await o.writeSplit(chunked, [1, 7, 2]);
        await o.readHead();
        await o.write(okResponse("next"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const head = await c.readHead();
      assert.equal(head.status, 200);
      assert.equal(head.get("transfer-encoding"), "chunked");
      assert.equal(head.get("content-length"), undefined);
      assert.equal(await c.readText(chunked.length), chunked);
      await c.write("GET http://origin.test/n HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "next");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.dials.length, 1);
      assert.equal(h.records[0]?.bytesDown, head.raw.length + chunked.length);
    });
  });

  it("resets the client when the upstream's chunked framing breaks after the head was sent", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n");
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await c.readHead()).status, 200);
      const rest = await within(c.readToEndOrReset(), 1500, "reset");
      assert.equal(rest.reset, true, "a truncated body must not look complete");
      await h.finish();
      const r = h.record();
      assert.equal(r.end, "error");
      assert.match(r.error ?? "", /chunk/);
    });
  });

  it("relays a close-delimited response and then closes the client", async () => {
    const body = "no length, ends with the connection\n".repeat(50);
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
        await o.writeSplit(body, [100, 3]);
        await o.end();
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const head = await c.readHead();
      assert.equal(head.status, 200);
      assert.equal(head.get("connection"), "close");
      assert.equal(dec.decode(await within(c.readToEnd(), 1500, "body")), body);
      await c.end();
      await h.finish();
      const r = h.record();
      assert.equal(r.end, "eof");
      assert.equal(r.bytesDown, head.raw.length + body.length);
    });
  });

  it("forwards a Content-Length request body sent in odd pieces", async () => {
    const payload = "field=value&other=" + "x".repeat(1000);
    await withHarness({}, async (h) => {
      let got = "";
      let head: ParsedHead | undefined;
      h.origin("10.0.0.1", 80, async (o) => {
        head = await o.readHead();
        got = await o.readText(Number(head.get("content-length")));
        await o.write(okResponse("stored"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      const request = `POST http://origin.test/form HTTP/1.1\r\nHost: origin.test\r\nContent-Length: ${payload.length}\r\n\r\n${payload}`;
      await c.writeSplit(request, [1, 13, 250]);
      assert.equal((await readResponse(c)).body, "stored");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(got, payload);
      assert.equal(head?.get("content-length"), String(payload.length));
      assert.equal(h.record().bytesUp, (head?.raw.length ?? 0) + payload.length);
    });
  });

  it("forwards a chunked request body unchanged", async () => {
    const chunked = "4\r\nWiki\r\n5;note=x\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\n";
    await withHarness({}, async (h) => {
      let got = "";
      let head: ParsedHead | undefined;
      h.origin("10.0.0.1", 80, async (o) => {
        head = await o.readHead();
        got = await o.readText(chunked.length);
        await o.write(okResponse("ok"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("POST http://origin.test/up HTTP/1.1\r\nHost: origin.test\r\nTransfer-Encoding: chunked\r\n\r\n");
      await c.writeSplit(chunked, [1, 2, 3]);
      assert.equal((await readResponse(c)).body, "ok");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(head?.get("transfer-encoding"), "chunked");
      assert.equal(got, chunked);
    });
  });

  it("reads no body after a HEAD response with Content-Length", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        assert.equal((await o.readHead()).startLine, "HEAD / HTTP/1.1");
        await o.write("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
        assert.equal((await o.readHead()).startLine, "GET / HTTP/1.1");
        await o.write(okResponse("body"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("HEAD http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const head = await within(c.readHead(), 1500, "HEAD response");
      assert.equal(head.get("content-length"), "1234");
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "body");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.dials.length, 1);
      assert.deepEqual(
        h.records.map((r) => r.status),
        [200, 200],
      );
    });
  });

  for (const status of [204, 304] as const) {
    it(`relays a ${status} without a body and keeps the connection`, async () => {
      await withHarness({}, async (h) => {
        h.origin("10.0.0.1", 80, async (o) => {
          await o.readHead();
          const reason = status === 204 ? "No Content" : "Not Modified";
          // a 304 may carry the representation's Content-Length; there is still no body
          await o.write(`HTTP/1.1 ${status} ${reason}\r\nETag: "v1"${status === 304 ? "\r\nContent-Length: 99" : ""}\r\n\r\n`);
          await o.readHead();
          await o.write(okResponse("after"));
          await o.readToEndOrReset();
        });
        const c = h.client();
        await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\nIf-None-Match: \"v1\"\r\n\r\n");
        const head = await within(c.readHead(), 1500, "response");
        assert.equal(head.status, status);
        assert.equal(head.get("etag"), '"v1"');
        await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
        assert.equal((await readResponse(c)).body, "after");
        await c.end();
        await c.readToEndOrReset();
        await h.finish();
        assert.equal(h.dials.length, 1);
      });
    });
  }

  it("passes a 100 Continue before the final response", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        const head = await o.readHead();
        assert.equal(head.get("expect"), "100-continue");
        await o.write("HTTP/1.1 100 Continue\r\n\r\n");
        assert.equal(await o.readText(4), "data");
        await o.write(okResponse("created"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("PUT http://origin.test/f HTTP/1.1\r\nHost: origin.test\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\ndata");
      const info = await within(c.readHead(), 1500, "100 Continue");
      assert.equal(info.status, 100);
      const res = await readResponse(c);
      assert.equal(res.head.status, 200);
      assert.equal(res.body, "created");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.record().status, 200);
    });
  });

  it("an origin that closes after its 100 Continue: the client still gets a 502, and the flow logs it", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 100 Continue\r\n\r\n");
        assert.equal(await o.readText(4), "data");
        await o.end(); // no final response
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("PUT http://origin.test/f HTTP/1.1\r\nHost: origin.test\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
      assert.equal((await within(c.readHead(), 1500, "100 Continue")).status, 100);
      await c.write("data");
      // an interim response is not the answer (RFC 9110 §15.2): the final one can still be ours
      const res = await within(readResponse(c), 1500, "502");
      assert.equal(res.head.status, 502, res.body);
      assert.match(res.body, /closed/i);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      const r = h.record();
      assert.equal(r.status, 502);
      assert.equal(r.end, "error");
    });
  });

  it("a client whose body stops after the 100 Continue gets a 408, not a dropped connection", async () => {
    await withHarness({ limits: { idleTimeoutMs: 300 } }, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 100 Continue\r\n\r\n");
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("PUT http://origin.test/f HTTP/1.1\r\nHost: origin.test\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n");
      assert.equal((await within(c.readHead(), 1500, "100 Continue")).status, 100);
      await c.write("abc");
      const res = await within(readResponse(c), 3000, "408");
      assert.equal(res.head.status, 408, res.body);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      const r = h.record();
      assert.equal(r.status, 408);
      assert.match(r.error ?? "", /request body stopped arriving/);
    });
  });

  it("turns a 101 Switching Protocols into a byte relay", async () => {
    await withHarness({}, async (h) => {
      let upgradeHead: ParsedHead | undefined;
      h.origin("10.0.0.1", 80, async (o) => {
        upgradeHead = await o.readHead();
        await o.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nserver-first");
        assert.equal(await o.readText(6), "client");
        await o.end();
        await o.readToEnd();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ws HTTP/1.1\r\nHost: origin.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
      const head = await within(c.readHead(), 1500, "101");
      assert.equal(head.status, 101);
      assert.equal(head.get("upgrade"), "websocket");
      assert.match(head.get("connection") ?? "", /upgrade/i);
      assert.equal(await c.readText(12), "server-first");
      await c.write("client");
      assert.equal((await c.readToEnd()).byteLength, 0);
      await c.end();
      await h.finish();
      assert.equal(upgradeHead?.get("upgrade"), "websocket");
      assert.match(upgradeHead?.get("connection") ?? "", /upgrade/i);
      const r = h.record();
      assert.equal(r.status, 101);
      assert.equal(r.end, "eof");
    });
  });
});

describe("explicit proxy: a slow upload is not a silent upstream", () => {
  it("an upload that takes longer than the idle timeout, but never pauses that long, gets the origin's answer", async () => {
    const pieces = 8;
    const gapMs = 100; // 800 ms of upload against a 300 ms idle timeout
    await withHarness({ limits: { idleTimeoutMs: 300 } }, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.readText(pieces); // the whole body, then the answer
        await o.write(okResponse("got it"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write(`POST http://origin.test/up HTTP/1.1\r\nHost: origin.test\r\nContent-Length: ${pieces}\r\n\r\n`);
      for (let i = 0; i < pieces; i++) {
        await new Promise((r) => setTimeout(r, gapMs));
        await c.write("x");
      }
      const res = await readResponse(c);
      assert.equal(res.head.status, 200, `got ${res.head.status}: ${res.body}`);
      assert.equal(res.body, "got it");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
    });
  });

  it("a client whose request body stops arriving gets a 408, and the flow says so", async () => {
    await withHarness({ limits: { idleTimeoutMs: 300 } }, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("POST http://origin.test/up HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 10\r\n\r\nabc");
      const res = await within(readResponse(c), 3000, "408");
      assert.equal(res.head.status, 408, res.body);
      assert.equal(res.head.get("connection"), "close");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      const r = h.record();
      assert.equal(r.status, 408);
      assert.match(r.error ?? "", /request body stopped arriving/);
    });
  });

  it("a client waiting for a 100 Continue that never comes: the silent origin gets the 504, not the client a 408", async () => {
    await withHarness({ limits: { idleTimeoutMs: 300 } }, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.readToEndOrReset(); // neither 100 nor an answer
      });
      const c = h.client();
      await c.write("POST http://origin.test/up HTTP/1.1\r\nHost: origin.test\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
      const res = await within(readResponse(c), 3000, "504");
      assert.equal(res.head.status, 504, res.body);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
    });
  });

  it("after the upload, an origin silent for the idle timeout still gets a 504", async () => {
    await withHarness({ limits: { idleTimeoutMs: 300 } }, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.readText(4);
        await o.readToEndOrReset(); // never answers
      });
      const c = h.client();
      const t0 = Date.now();
      await c.write("POST http://origin.test/up HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 4\r\n\r\n");
      await new Promise((r) => setTimeout(r, 200));
      await c.write("abcd");
      const res = await within(readResponse(c), 3000, "504");
      assert.equal(res.head.status, 504);
      assert.ok(Date.now() - t0 >= 450, `answered after ${Date.now() - t0} ms: the 300 ms count from the end of the upload`);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
    });
  });
});

describe("explicit proxy: a small response goes out in one write", () => {
  it("a body that came with the head reaches the client in the same chunk as the head", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write(okResponse("small body"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const first = dec.decode(await within(c.readChunk(), 1500, "first chunk"));
      assert.match(first, /^HTTP\/1\.1 200 /);
      assert.ok(first.endsWith("\r\n\r\nsmall body"), `one chunk with head and body: ${JSON.stringify(first)}`);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.record().bytesDown, first.length);
    });
  });

  it("a body still on its way does not hold the head back", async () => {
    await withHarness({}, async (h) => {
      let clientHasHead!: () => void;
      const headArrived = new Promise<void>((r) => (clientHasHead = r));
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
        // the body is only sent once the client has the head: a gateway holding it back fails
        await within(headArrived, 1500, "the head before its body");
        await o.write("later");
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const head = await within(c.readHead(), 1500, "head");
      clientHasHead();
      assert.equal(head.status, 200);
      assert.equal(dec.decode(await c.readBytes(5)), "later");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
    });
  });
});

describe("explicit proxy: a small request body goes up in one write", () => {
  it("a body that came with the head reaches the upstream in the same chunk as the head", async () => {
    let first = "";
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        first = dec.decode(await within(o.readChunk(), 1500, "first upstream chunk"));
        await o.write(okResponse("stored"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("POST http://origin.test/up HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 11\r\n\r\nhello world");
      assert.equal((await readResponse(c)).body, "stored");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.match(first, /^POST \/up HTTP\/1\.1\r\n/);
      assert.ok(first.endsWith("\r\n\r\nhello world"), `one chunk with head and body: ${JSON.stringify(first)}`);
      assert.equal(h.record().bytesUp, first.length);
    });
  });

  it("takes only this request's body: a pipelined request after it stays for the next exchange", async () => {
    const seen: string[] = [];
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        for (const answer of ["one", "two"]) {
          const head = await o.readHead();
          seen.push(`${head.raw.split("\r\n")[0]} ${dec.decode(await o.readBytes(Number(head.get("content-length"))))}`);
          await o.write(okResponse(answer));
        }
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write(
        "POST http://origin.test/a HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 3\r\n\r\nabc" +
          "POST http://origin.test/b HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 4\r\n\r\ndefg",
      );
      assert.equal((await readResponse(c)).body, "one");
      assert.equal((await readResponse(c)).body, "two");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(seen, ["POST /a HTTP/1.1 abc", "POST /b HTTP/1.1 defg"]);
    });
  });

  it("a body still on its way does not hold the head back", async () => {
    let headSeen!: () => void;
    const originHasHead = new Promise<void>((r) => (headSeen = r));
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        const head = await o.readHead();
        headSeen();
        assert.equal(dec.decode(await o.readBytes(Number(head.get("content-length")))), "later");
        await o.write(okResponse("ok"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("POST http://origin.test/up HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 5\r\n\r\n");
      // the body is only sent once the origin has the head: a gateway holding the head back fails here
      await within(originHasHead, 1500, "the head before its body");
      await c.write("later");
      assert.equal((await readResponse(c)).body, "ok");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
    });
  });

});
