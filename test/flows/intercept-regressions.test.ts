// Reproductions for bugs in src/flows/decrypted-http.ts. Each asserts the correct behaviour
// and fails on the flows as of this report; all pass with /tmp/tollgate-intercept-bugs/decrypted-http.diff.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TlsValidationError } from "../../src/core/tls.ts";
import { DECRYPT_POLICY, ESTABLISHED, okResponse, type ParsedHead, type Peer, readResponse, serveRequests, withHarness, within } from "../helpers/flow-harness.ts";

const decrypting = { policy: DECRYPT_POLICY, interception: {} };

async function establish(c: Peer, connect = "CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n"): Promise<void> {
  await c.write(connect);
  assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
}

describe("interception bugs", () => {
  it("I1 absolute-form: the Host sent upstream is the target's authority, not a fronted Host field", async () => {
    await withHarness(decrypting, async (h) => {
      const seen: ParsedHead[] = [];
      serveRequests(h, "10.0.0.1", 443, ["ok"], seen);
      const c = h.client();
      await establish(c);
      await c.write("GET https://origin.test/x HTTP/1.1\r\nHost: evil.test\r\n\r\n");
      const head = await within(c.readHead(), 1500, "answer");
      if (head.status === 200) await c.readBytes(Number(head.get("content-length")));
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      // either refused (421) or forwarded with the authority as Host: never "evil.test" upstream
      assert.deepEqual(seen.map((s) => s.get("host")).filter((v) => v !== "origin.test"), []);
      assert.ok(head.status === 200 || head.status === 421, `status ${head.status}`);
    });
  });

  it("I2 absolute-form to an IPv6 destination with a matching authority is not 421", async () => {
    await withHarness(decrypting, async (h) => {
      const seen: ParsedHead[] = [];
      serveRequests(h, "::1", 443, ["v6"], seen);
      const c = h.client();
      await establish(c, "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n");
      await c.write("GET https://[::1]/v6 HTTP/1.1\r\nHost: [::1]\r\n\r\n");
      const res = await readResponse(c);
      assert.equal(res.head.status, 200, res.body);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(res.body, "v6");
      assert.equal(seen[0]?.startLine, "GET /v6 HTTP/1.1");
      assert.equal(seen[0]?.get("host"), "[::1]");
    });
  });

  it("I3 a kept-alive upstream reset by the origin between requests: the next request reconnects", async () => {
    await withHarness(decrypting, async (h) => {
      let n = 0;
      h.origin("10.0.0.1", 443, async (o) => {
        const mine = ++n;
        await o.readHead();
        await o.write(okResponse(`conn ${mine}`));
        if (mine === 1) o.conn.close(); // closed with unread data / RST, without Connection: close
        else await o.readToEndOrReset();
      });
      const c = h.client();
      await establish(c);
      await c.write("GET /1 HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "conn 1");
      await new Promise((r) => setTimeout(r, 5));
      await c.write("GET /2 HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const second = await readResponse(c);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(second.head.status, 200, second.body);
      assert.equal(second.body, "conn 2");
      assert.equal(h.tls.connects.length, 2);
    });
  });

  it("I4 a reconnect whose certificate fails validation is answered like the CONNECT: 502 naming the code", async () => {
    await withHarness(decrypting, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        await o.readHead();
        await o.write(okResponse("once", "Connection: close\r\n"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await establish(c);
      await c.write("GET /1 HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "once");
      h.tls.beforeConnect = () => {
        throw new TlsValidationError("CERT_HAS_EXPIRED", "certificate has expired");
      };
      await c.write("GET /2 HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const res = await readResponse(c);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(res.head.status, 502);
      assert.match(res.body, /CERT_HAS_EXPIRED/);
      assert.match(res.head.get("proxy-status") ?? "", /error=tls_certificate_error/);
      assert.match(h.requestRecords[1]?.error ?? "", /CERT_HAS_EXPIRED/);
    });
  });

  it("I5 an exchange aborted after the origin's head was sent logs what the client got (status, bytes)", async () => {
    await withHarness(decrypting, async (h) => {
      let reqLen = 0;
      h.origin("10.0.0.1", 443, async (o) => {
        reqLen = (await o.readHead()).raw.length;
        await o.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n");
        await o.readToEndOrReset();
      });
      const c = h.client();
      await establish(c);
      await c.write("GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const head = await within(c.readHead(), 1500, "head");
      const rest = await c.readToEndOrReset();
      await h.finish();
      const q = h.requestRecords[0];
      assert.equal(q?.status, 200, "the status the client received");
      assert.equal(q?.bytesUp, reqLen);
      assert.equal(q?.bytesDown, head.raw.length + rest.data.byteLength);
      assert.ok(q?.error);
      const r = h.record();
      assert.equal(r.bytesUp, reqLen);
      assert.equal(r.bytesDown, head.raw.length + rest.data.byteLength);
    });
  });

  it("I6 the flow line of a decrypted connection keeps status 200 (the CONNECT's answer, as documented)", async () => {
    await withHarness(decrypting, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        await o.readToEndOrReset();
      });
      const c = h.client();
      await establish(c);
      await c.write("GET /missing HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await within(c.readHead(), 1500, "404")).status, 404);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.requestRecords[0]?.status, 404);
      assert.equal(h.record().status, 200);
    });
  });
});
