import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { dec, type FlowHarness, type Peer, withHarness, within } from "../helpers/flow-harness.ts";

/**
 * Reads an error answer: status, a self-delimited body, `Connection: close`, then the end
 * of the connection (FIN, not a reset). Returns the body text.
 */
async function expectAnswer(c: Peer, status: number, method = "GET"): Promise<string> {
  const head = await within(c.readHead(), 1500, "error answer");
  assert.equal(head.status, status, head.raw);
  assert.equal(head.get("connection"), "close");
  assert.match(head.get("proxy-status") ?? "", /^tollgate; error=/);
  // the answer to a HEAD is the head alone (RFC 9110 §9.3.2): then the end, nothing else
  const body = method === "HEAD" ? "" : dec.decode(await c.readBytes(Number(head.get("content-length"))));
  await c.end();
  const rest = await within(c.readToEndOrReset(), 1500, "end of connection");
  assert.equal(rest.reset, false, "the answer is followed by a clean end");
  assert.equal(rest.data.byteLength, 0, "nothing after the answer");
  return body;
}

/** Sends `request` (one byte at a time unless `pieces`), expects `status`; returns the only record. */
async function refused(h: FlowHarness, request: string, status: number, pieces: readonly number[] = [1]) {
  const c = h.client();
  await c.writeSplit(request, pieces);
  const method = request.slice(0, request.indexOf(" "));
  const body = await expectAnswer(c, status, method);
  await h.finish();
  assert.deepEqual(h.dials, [], "no dial for a refused request");
  const r = h.record();
  assert.equal(r.status, status);
  assert.equal(r.end, "error");
  if (method !== "HEAD") assert.ok(r.error && body.includes(r.error), `the record's error ${JSON.stringify(r.error)} is what the client was told: ${JSON.stringify(body)}`);
  return r;
}

describe("explicit proxy: upstream errors", () => {
  it("answers 502 when the name is not in the static map (resolver error), with the error logged", async () => {
    await withHarness({}, async (h) => {
      const c = h.client();
      await c.writeSplit("CONNECT missing.test:443 HTTP/1.1\r\nHost: missing.test:443\r\n\r\n", [7, 1]);
      const body = await expectAnswer(c, 502);
      assert.match(body, /missing\.test/);
      await h.finish();
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.equal(r.kind, "connect");
      assert.equal(r.decision, "allow");
      assert.equal(r.status, 502);
      assert.match(r.error ?? "", /^DNS: .*missing\.test/);
    });
  });

  it("answers 502 when the connection is refused", async () => {
    await withHarness({}, async (h) => {
      const c = h.client();
      await c.write("CONNECT other.test:8443 HTTP/1.1\r\nHost: other.test:8443\r\n\r\n");
      const body = await expectAnswer(c, 502);
      assert.match(body, /ECONNREFUSED/);
      await h.finish();
      assert.deepEqual(h.dials, [{ address: "10.0.0.2", port: 8443 }]);
      const r = h.record();
      assert.equal(r.status, 502);
      assert.match(r.error ?? "", /other\.test:8443.*ECONNREFUSED/);
    });
  });

  it("answers 502 for an absolute-form request whose origin refuses", async () => {
    await withHarness({}, async (h) => {
      const c = h.client();
      await c.write("GET http://other.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n");
      assert.match(await expectAnswer(c, 502), /ECONNREFUSED/);
      await h.finish();
      const r = h.record();
      assert.equal(r.kind, "http");
      assert.match(r.error ?? "", /ECONNREFUSED/);
    });
  });

  it("answers a HEAD whose origin refuses with a 502 head and no body", async () => {
    await withHarness({}, async (h) => {
      const c = h.client();
      await c.write("HEAD http://other.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n");
      await expectAnswer(c, 502, "HEAD");
      await h.finish();
      assert.match(h.record().error ?? "", /ECONNREFUSED/);
    });
  });

  it("answers 504 when the dial does not complete within connectTimeoutMs", async () => {
    await withHarness({ limits: { connectTimeoutMs: 100 } }, async (h) => {
      h.hang("10.0.0.9", 443, true);
      const c = h.client();
      const started = Date.now();
      await c.write("CONNECT slow.test:443 HTTP/1.1\r\nHost: slow.test:443\r\n\r\n");
      const body = await expectAnswer(c, 504);
      const took = Date.now() - started;
      assert.ok(took >= 90 && took < 1000, `answered after ${took} ms`);
      assert.match(body, /timed out/);
      await h.finish();
      const r = h.record();
      assert.equal(r.status, 504);
      assert.match(r.error ?? "", /slow\.test:443 timed out after 100 ms/);
    });
  });
});

describe("explicit proxy: DNS faults", () => {
  it("answers 504 when the resolver never answers (DNS timeout), and logs it", async () => {
    let asked = 0;
    const never = () => {
      asked++;
      return new Promise<string[]>(() => {}); // a resolver that never answers
    };
    await withHarness({ lookup: never, dnsTimeoutMs: 100 }, async (h) => {
      const c = h.client();
      const started = Date.now();
      await c.write("CONNECT unlisted.test:443 HTTP/1.1\r\nHost: unlisted.test:443\r\n\r\n");
      const body = await expectAnswer(c, 504);
      const took = Date.now() - started;
      assert.ok(took >= 90 && took < 1000, `answered after ${took} ms`);
      assert.match(body, /DNS: .*timed out/);
      await h.finish();
      const r = h.record();
      assert.equal(r.status, 504);
      assert.equal(r.resolved, null);
      assert.match(r.error ?? "", /timed out/);
      assert.equal(asked, 1);
      assert.equal(h.dials.length, 0, "nothing was dialed");
    });
  });
});

describe("explicit proxy: malformed and refused requests", () => {
  it("answers 400 to a bare LF", async () => {
    await withHarness({}, async (h) => {
      const r = await refused(h, "GET http://origin.test/ HTTP/1.1\nHost: origin.test\n\n", 400);
      assert.match(r.error ?? "", /bare LF/);
      assert.equal(r.kind, "invalid");
    });
  });

  it("answers 400 to obs-fold", async () => {
    await withHarness({}, async (h) => {
      await refused(h, "GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\nX-A: 1\r\n  folded\r\n\r\n", 400);
    });
  });

  it("answers 400 to Content-Length with Transfer-Encoding", async () => {
    await withHarness({}, async (h) => {
      const r = await refused(
        h,
        "POST http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        [3, 11],
      );
      assert.match(r.error ?? "", /Transfer-Encoding and Content-Length/);
    });
  });

  it("answers 431 to a head over maxHeadBytes", async () => {
    await withHarness({ limits: { maxHeadBytes: 1024 } }, async (h) => {
      const big = `GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\nX-Big: ${"a".repeat(2000)}\r\n\r\n`;
      const r = await refused(h, big, 431, [100]);
      assert.match(r.error ?? "", /1024/);
    });
  });

  it("answers 400 to an origin-form request", async () => {
    await withHarness({}, async (h) => {
      const r = await refused(h, "GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n", 400);
      assert.match(r.error ?? "", /absolute URI/);
    });
  });

  it("answers 400 to an origin-form HEAD with the head alone", async () => {
    await withHarness({}, async (h) => {
      const r = await refused(h, "HEAD / HTTP/1.1\r\nHost: origin.test\r\n\r\n", 400);
      assert.match(r.error ?? "", /absolute URI/);
    });
  });

  it("answers 405 to TRACE", async () => {
    await withHarness({}, async (h) => {
      const r = await refused(h, "TRACE http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n", 405);
      assert.match(r.error ?? "", /TRACE/);
    });
  });

  it("answers 400 to an https URL in absolute-form", async () => {
    await withHarness({}, async (h) => {
      await refused(h, "GET https://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n", 400);
    });
  });

  it("answers 400 when the head is cut short by the client's FIN", async () => {
    await withHarness({}, async (h) => {
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHo");
      await c.end();
      const head = await within(c.readHead(), 1500, "answer");
      assert.equal(head.status, 400);
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.record().status, 400);
    });
  });

  it("closes quietly, without a record, when the client leaves before sending anything", async () => {
    await withHarness({}, async (h) => {
      const c = h.client();
      await c.end();
      const rest = await within(c.readToEndOrReset(), 1500, "close");
      assert.equal(rest.data.byteLength, 0);
      await h.finish();
      assert.equal(h.records.length, 0);
    });
  });
});

describe("explicit proxy: header timeout", () => {
  it("answers 408 within the limit when the client stalls in the middle of the head", async () => {
    await withHarness({ limits: { headerTimeoutMs: 100 } }, async (h) => {
      const c = h.client();
      const started = Date.now();
      await c.writeSplit("GET http://origin.test/ HTTP/1.1\r\nHo", [1]);
      const body = await expectAnswer(c, 408);
      const took = Date.now() - started;
      assert.ok(took >= 90 && took < 1000, `answered after ${took} ms`);
      assert.match(body, /Timed out/);
      await h.finish();
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.equal(r.status, 408);
      assert.equal(r.kind, "invalid");
      assert.match(r.error ?? "", /Timed out/);
    });
  });

  it("answers 408 to a client that connects and sends nothing", async () => {
    await withHarness({ limits: { headerTimeoutMs: 100 } }, async (h) => {
      const c = h.client();
      await expectAnswer(c, 408);
      await h.finish();
      assert.equal(h.record().status, 408);
    });
  });
});
