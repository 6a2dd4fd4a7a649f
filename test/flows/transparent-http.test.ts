import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { PolicyDefinition } from "../../src/policy/types.ts";
import { type ParsedHead, type Peer, POLICY, readResponse, serveRequests, withHarness, within } from "../helpers/flow-harness.ts";

/** Reads one answer, then hangs up like a client that got what it wanted. */
async function answerThenHangUp(c: Peer): Promise<{ status: number; body: string }> {
  const res = await readResponse(c);
  await c.end();
  await within(c.readToEndOrReset(), 3000, "end of the connection");
  return { status: res.head.status, body: res.body };
}

describe("transparent plain HTTP (handleTransparentHttp)", () => {
  it("forwards to upstreamPort at the Host's static address, keeping the client's Host", async () => {
    await withHarness({}, async (h) => {
      const seen: ParsedHead[] = [];
      serveRequests(h, "10.0.0.1", 8080, ["a", "b"], seen);
      const c = h.transparentHttpClient(8080);
      await c.write("GET /x?y=1 HTTP/1.1\r\nHost: origin.test:3000\r\nUser-Agent: t\r\n\r\n");
      assert.equal((await readResponse(c)).body, "a");
      await c.write("GET /z HTTP/1.1\r\nHost: ORIGIN.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "b");
      await c.end();
      await within(c.readToEndOrReset(), 3000, "end");
      await h.finish();
      assert.deepEqual(h.dials, [{ address: "10.0.0.1", port: 8080 }], "one upstream connection, kept alive, at upstreamPort");
      assert.deepEqual(seen.map((s) => s.startLine), ["GET /x?y=1 HTTP/1.1", "GET /z HTTP/1.1"]);
      assert.deepEqual(seen.map((s) => s.get("host")), ["origin.test:3000", "ORIGIN.test"]);
      assert.equal(seen[0]?.get("user-agent"), "t");
      assert.equal(h.records.length, 2);
      for (const r of h.records) {
        assert.equal(r.mode, "transparent-http");
        assert.equal(r.kind, "http");
        assert.equal(r.host, "origin.test");
        assert.equal(r.port, 8080);
        assert.equal(r.resolved, "10.0.0.1");
        assert.equal(r.dnsSource, "static");
        assert.equal(r.rule, "allow-test");
        assert.equal(r.status, 200);
      }
    });
  });

  it("an absolute-form request: destination from its authority, origin-form path upstream", async () => {
    await withHarness({}, async (h) => {
      const seen: ParsedHead[] = [];
      serveRequests(h, "10.0.0.2", 80, ["ok"], seen);
      const c = h.transparentHttpClient();
      await c.write("GET http://other.test/p HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n");
      assert.equal((await answerThenHangUp(c)).body, "ok");
      await h.finish();
      assert.deepEqual(h.dials, [{ address: "10.0.0.2", port: 80 }]);
      assert.equal(seen[0]?.startLine, "GET /p HTTP/1.1");
      assert.equal(seen[0]?.get("host"), "other.test");
    });
  });

  it("the policy decides on Host: a denied host gets 403, nothing is dialed", async () => {
    await withHarness({}, async (h) => {
      const c = h.transparentHttpClient();
      await c.write("GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n");
      const a = await answerThenHangUp(c);
      assert.equal(a.status, 403);
      assert.match(a.body, /rule "block-evil"/);
      await h.finish();
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.equal(r.mode, "transparent-http");
      assert.equal(r.decision, "deny");
      assert.equal(r.host, "evil.test");
    });
  });

  it("a rule scoped to mode transparent-http applies only there", async () => {
    const policy: PolicyDefinition = {
      ...POLICY,
      rules: [{ id: "thttp-deny", hosts: ["origin.test"], action: "deny", modes: ["transparent-http"], log: true }, ...POLICY.rules],
    };
    await withHarness({ policy }, async (h) => {
      serveRequests(h, "10.0.0.1", 80, ["explicit ok"]);
      const c = h.transparentHttpClient();
      await c.write("GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await answerThenHangUp(c)).status, 403);
      const e = h.client();
      await e.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await answerThenHangUp(e)).body, "explicit ok");
      await h.finish();
      assert.deepEqual(h.records.map((r) => [r.mode, r.rule]), [["transparent-http", "thttp-deny"], ["explicit", "allow-test"]]);
    });
  });

  it("CONNECT is refused with 405, nothing is dialed", async () => {
    await withHarness({}, async (h) => {
      const c = h.transparentHttpClient();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      const a = await answerThenHangUp(c);
      assert.equal(a.status, 405);
      assert.match(a.body, /CONNECT is not accepted on a transparent listener/);
      await h.finish();
      assert.deepEqual(h.dials, []);
      assert.equal(h.record().mode, "transparent-http");
    });
  });

  it("a request without Host gets 400, nothing is dialed", async () => {
    await withHarness({}, async (h) => {
      const c = h.transparentHttpClient();
      await c.write("GET / HTTP/1.0\r\nUser-Agent: old\r\n\r\n");
      const a = await answerThenHangUp(c);
      assert.equal(a.status, 400);
      assert.match(a.body, /Host/);
      await h.finish();
      assert.deepEqual(h.dials, []);
      assert.equal(h.record().status, 400);
    });
  });

  it("an unresolvable Host gets 502 with the DNS error", async () => {
    await withHarness({}, async (h) => {
      const c = h.transparentHttpClient();
      await c.write("GET / HTTP/1.1\r\nHost: nxdomain.test\r\n\r\n");
      const a = await answerThenHangUp(c);
      assert.equal(a.status, 502);
      assert.match(a.body, /nxdomain\.test/);
      await h.finish();
      assert.deepEqual(h.dials, []);
      assert.match(String(h.record().error), /^DNS: /);
    });
  });

  it("TLS bytes on the plain-HTTP listener get 400, nothing is dialed", async () => {
    await withHarness({}, async (h) => {
      const c = h.transparentHttpClient();
      await c.write(Uint8Array.of(0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x03, 0x0d, 0x0a, 0x0d, 0x0a));
      assert.equal((await answerThenHangUp(c)).status, 400);
      await h.finish();
      assert.deepEqual(h.dials, []);
    });
  });
});
