// Reproductions for bugs in src/flows (drop into test/flows/; each asserts the correct behaviour
// and fails on the flows as of this report; all pass with /tmp/tollgate-flow-bugs/flows-fixes.diff).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { dec, type ParsedHead, withHarness, within } from "../helpers/flow-harness.ts";

describe("explicit proxy bugs", () => {
  it("B1 retries on a fresh connection when the kept upstream was closed by the origin", async () => {
    await withHarness({}, async (h) => {
      let n = 0;
      h.origin("10.0.0.1", 80, async (o) => {
        n += 1;
        await o.readHead();
        await o.write(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n${n}`);
        await o.end(); // keep-alive timeout on the origin: FIN without Connection: close
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      await c.readHead();
      assert.equal(await c.readText(1), "1");
      await new Promise((r) => setTimeout(r, 5));
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const second = await c.readHead();
      assert.equal(second.status, 200);
      assert.equal(await c.readText(1), "2");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.dials.length, 2);
    });
  });

  it("B1b after a reset of the reused upstream, only an idempotent request is sent again (a POST may have arrived)", async () => {
    for (const [method, want] of [["GET", [200, 2]], ["POST", [502, 1]]] as const) {
      await withHarness({}, async (h) => {
        const seen: string[] = [];
        h.origin("10.0.0.1", 80, async (o) => {
          seen.push((await o.readHead()).startLine);
          if (seen.length === 1) {
            await o.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            seen.push((await o.readHead()).startLine); // arrives, may be acted on, then a reset before the answer
            o.conn.close();
            return;
          }
          await o.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
          await o.readToEndOrReset();
        });
        const c = h.client();
        await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
        await c.readHead();
        await c.write(`${method} http://origin.test/transfer HTTP/1.1\r\nHost: origin.test\r\n\r\n`);
        const second = await within(c.readHead(), 2000, "the answer");
        await c.end();
        await c.readToEndOrReset();
        await h.finish();
        assert.deepEqual([second.status, h.dials.length], want, method);
        assert.equal(seen.filter((l) => l.startsWith(method) && l.includes("/transfer")).length, method === "GET" ? 2 : 1);
      });
    }
  });

  it("B2 logs status and bytes of an exchange aborted after the head was sent", async () => {
    await withHarness({}, async (h) => {
      let reqLen = 0;
      h.origin("10.0.0.1", 80, async (o) => {
        reqLen = (await o.readHead()).raw.length;
        await o.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n");
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const head = await c.readHead();
      const rest = await c.readToEndOrReset();
      await h.finish();
      const r = h.record();
      assert.equal(r.status, 200);
      assert.equal(r.bytesUp, reqLen);
      assert.equal(r.bytesDown, head.raw.length + rest.data.byteLength);
    });
  });

  it("B3 does not forward an Upgrade the client did not name in Connection", async () => {
    await withHarness({}, async (h) => {
      let seen: ParsedHead | undefined;
      h.origin("10.0.0.1", 80, async (o) => {
        seen = await o.readHead();
        await o.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\nUpgrade: h2c\r\n\r\n");
      assert.equal((await c.readHead()).status, 200);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(seen?.get("upgrade"), undefined);
      assert.equal(seen?.get("connection"), undefined);
    });
  });

  it("B4 never sends chunked framing to an HTTP/1.0 client", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.0\r\n\r\n");
      const head = await c.readHead();
      assert.equal(head.get("transfer-encoding"), undefined);
      assert.equal(dec.decode(await c.readToEnd()), "hello world");
      await c.end();
      await h.finish();
    });
  });

  it("B5 relays 100 Continue while the client waits for it before sending the body", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 100 Continue\r\n\r\n");
        assert.equal(await o.readText(4), "data");
        await o.write("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("PUT http://origin.test/f HTTP/1.1\r\nHost: origin.test\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
      const info = await within(c.readHead(), 500, "100 Continue").catch(() => undefined);
      await c.write("data");
      assert.equal(info?.status, 100, "100 Continue arrives before the body is sent");
      assert.equal((await c.readHead()).status, 201);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
    });
  });

  it("B6 logs an IPv6 host the same way for CONNECT and absolute-form", async () => {
    await withHarness({}, async (h) => {
      h.origin("::1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://[::1]/ HTTP/1.1\r\nHost: [::1]\r\n\r\n");
      assert.equal((await c.readHead()).status, 200);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.record().host, "::1");
    });
  });

  it("B7 releases the client connection after a Connection: close exchange", async () => {
    // finish() fails with "returned without releasing its client connection" (checkRelease default)
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n");
      await c.readHead();
      await c.readToEnd();
      await c.end();
    });
  });
});
