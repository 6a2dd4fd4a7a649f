import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { concatBytes } from "../../src/core/bytes.ts";
import type { PolicyDefinition } from "../../src/policy/types.ts";
import { dec, enc, type HarnessOptions, okResponse, readResponse, withHarness, within } from "../helpers/flow-harness.ts";
import { clientHello } from "../protocol/client-hello-builder.ts";
import { v1, v2 } from "../protocol/proxy-header-builder.ts";

/** Clients in 192.0.2.66/32 may not reach origin.test; everyone else may. */
const POLICY: PolicyDefinition = {
  defaultAction: "deny",
  defaultLog: true,
  rules: [
    { id: "no-guests", hosts: ["origin.test"], clients: ["192.0.2.66"], action: "deny", log: true },
    { id: "allow-test", hosts: [".test"], action: "allow", log: true },
  ],
};
const OPTIONS: HarnessOptions = { policy: POLICY };
const GET = "GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n";

describe("PROXY protocol listeners: the header's client is the client", () => {
  it("v1 header and request in one segment: forwarded, logged with client and balancer", async () => {
    await withHarness(OPTIONS, async (h) => {
      const seen: string[] = [];
      h.origin("10.0.0.1", 80, async (o) => {
        seen.push(await o.readUntil("\r\n\r\n"));
        await o.write(okResponse("hello"));
        await o.end();
      });
      const c = h.balancerClient();
      await c.write(concatBytes([v1("TCP4", "192.0.2.7", "10.0.0.10", 40123, 3128), enc.encode(GET)]));
      const res = await readResponse(c);
      assert.equal(res.head.status, 200);
      assert.equal(res.body, "hello");
      assert.match(seen[0]!, /^GET \/ HTTP\/1\.1\r\n/, "the origin never sees the PROXY line");
      await c.end();
      await h.finish();
      const r = h.record();
      assert.equal(r.client, "192.0.2.7:40123");
      assert.match(r.peer ?? "", /^10\.1\.0\.5:\d+$/);
      assert.equal(r.rule, "allow-test");
    });
  });

  it("policy rules match the relayed client's address (a v2 header sent byte by byte)", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.balancerClient();
      await c.writeSplit(concatBytes([v2({ src: "192.0.2.66", sport: 6000 }), enc.encode(GET)]), [1]);
      const res = await readResponse(c);
      assert.equal(res.head.status, 403);
      await c.end();
      await h.finish();
      const r = h.record();
      assert.equal(r.client, "192.0.2.66:6000");
      assert.equal(r.rule, "no-guests");
      assert.equal(h.dials.length, 0);
    });
  });

  it("a LOCAL header (the balancer's own health check) is served as the balancer", async () => {
    await withHarness(OPTIONS, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readUntil("\r\n\r\n");
        await o.write(okResponse("ok"));
        await o.end();
      });
      const c = h.balancerClient({ peer: "10.1.2.3" });
      await c.write(concatBytes([v2({ command: 0 }), enc.encode(GET)]));
      assert.equal((await readResponse(c)).head.status, 200);
      await c.end();
      await h.finish();
      assert.match(h.record().client, /^10\.1\.2\.3:\d+$/);
      assert.equal(h.record().peer, null);
    });
  });

  it("a peer outside proxyProtocol.from is refused with 403 before anything is read", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.balancerClient({ peer: "203.0.113.9" });
      await c.write(concatBytes([v1("TCP4", "192.0.2.7", "10.0.0.10", 1, 2), enc.encode(GET)]));
      const res = await readResponse(c);
      assert.equal(res.head.status, 403);
      assert.match(res.body, /203\.0\.113\.9 is not a load balancer this listener trusts/);
      await c.end();
      await h.finish();
      const r = h.record();
      assert.equal(r.rule, "proxy-protocol");
      assert.equal(r.decision, "deny");
      assert.match(r.client, /^203\.0\.113\.9:/);
    });
  });

  it("a request without the header gets a 400 that says what is missing, and a flow line", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.balancerClient();
      await c.write(GET);
      const res = await within(readResponse(c), 2000);
      assert.equal(res.head.status, 400);
      assert.match(res.body, /expects a PROXY protocol header from its load balancer first/);
      await c.end();
      await h.finish();
      const r = h.record();
      assert.equal(r.rule, "proxy-protocol");
      assert.equal(r.status, 400);
      assert.match(r.error ?? "", /Expected a PROXY protocol header, got "GET http/);
    });
  });

  it("a malformed header on a TLS listener closes the connection, with a flow line", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.balancerClient({ mode: "transparent" });
      await c.write("PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n");
      assert.equal(await within(c.readToEndOrReset(), 2000).then((r) => r.data.byteLength), 0);
      await h.finish();
      assert.match(h.record().error ?? "", /source port "99999" is not 0-65535/);
    });
  });

  it("a header that never completes times out (headerTimeoutMs) and is logged", async () => {
    await withHarness({ ...OPTIONS, limits: { headerTimeoutMs: 150 } }, async (h) => {
      const c = h.balancerClient();
      await c.write("PROXY TCP4 1.2.3.4");
      await within(c.readToEndOrReset(), 2000);
      await h.finish();
      assert.match(h.record().error ?? "", /No complete PROXY protocol header from 10\.1\.0\.5:\d+ within 150 ms/);
    });
  });

  it("a balancer that connects and hangs up (a TCP health check) leaves no flow line", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.balancerClient();
      await c.end();
      await within(c.readToEndOrReset(), 2000);
      await h.finish();
      assert.equal(h.records.length, 0);
    });
  });

  it("a connection cut in the middle of the header is logged as such", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.balancerClient();
      await c.write(v2().subarray(0, 20));
      await c.end();
      await within(c.readToEndOrReset(), 2000);
      await h.finish();
      assert.match(h.record().error ?? "", /closed before a complete PROXY protocol header/);
    });
  });

  it("transparent TLS: the upstream gets exactly the ClientHello, without the header", async () => {
    await withHarness(OPTIONS, async (h) => {
      const hello = clientHello("origin.test");
      let got: Uint8Array | undefined;
      h.origin("10.0.0.1", 443, async (o) => {
        got = await o.readBytes(hello.byteLength);
        await o.write("server-bytes");
        await o.end();
      });
      const c = h.balancerClient({ mode: "transparent" });
      await c.write(concatBytes([v2({ src: "2001:db8::42", dst: "2001:db8::1", sport: 7000 }), hello]));
      assert.equal(dec.decode(await c.readBytes(12)), "server-bytes");
      await c.end();
      await h.finish();
      assert.deepEqual(got, hello);
      const r = h.record();
      assert.equal(r.client, "[2001:db8::42]:7000");
      assert.equal(r.host, "origin.test");
    });
  });

  it("transparent HTTP: Host decides, the relayed client is logged", async () => {
    await withHarness(OPTIONS, async (h) => {
      const heads: string[] = [];
      h.origin("10.0.0.1", 80, async (o) => {
        heads.push(await o.readUntil("\r\n\r\n"));
        await o.write(okResponse("t"));
        await o.end();
      });
      const c = h.balancerClient({ mode: "transparent-http" });
      await c.write(concatBytes([v1("TCP4", "192.0.2.8", "10.0.0.1", 999, 80), enc.encode("GET /x HTTP/1.1\r\nHost: origin.test\r\n\r\n")]));
      assert.equal((await readResponse(c)).head.status, 200);
      await c.end();
      await h.finish();
      assert.match(heads[0]!, /^GET \/x HTTP\/1\.1/);
      assert.equal(h.record().client, "192.0.2.8:999");
    });
  });
});
