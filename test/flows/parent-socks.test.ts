/**
 * Parent proxies that speak SOCKS5: what the parent sees (greeting, sign-in, a request by
 * name), tunnels, decryption and plain HTTP through it, and its refusals as the client sees them.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ParentProxy } from "../../src/parent/tunnel.ts";
import type { PolicyDefinition } from "../../src/policy/types.ts";
import { DECRYPT_POLICY, dec, ESTABLISHED, type FlowHarness, okResponse, type Peer, readResponse, withHarness, within } from "../helpers/flow-harness.ts";
import { testParent } from "../helpers/parent-proxy.ts";
import { bytes, socksCredentials, socksRequest } from "../protocol/socks5-builder.ts";

const PARENT_IP = "10.9.0.1";
const EDGE = testParent("edge", { protocol: "socks5", host: { kind: "dns", name: "edge.test" }, port: 1080, authority: "edge.test:1080" });
const SIGNED = { ...EDGE, credentials: { username: "gw", password: "pä ss" } };
const POLICY: PolicyDefinition = {
  defaultAction: "deny",
  defaultLog: true,
  defaultParent: "edge",
  rules: [{ id: "allow-test", hosts: [".test", "192.0.2.0/24", "2001:db8::/32"], action: "allow", log: true }],
};
const options = (parent: ParentProxy = EDGE) => ({ policy: POLICY, parents: [parent], hosts: { "edge.test": [PARENT_IP] } });

/**
 * The SOCKS5 parent's side of one request: checks the greeting (and sign-in), then that the
 * request asks for `request`, and answers `reply`.
 */
async function socksParent(p: Peer, request: Uint8Array, reply = 0, signIn?: { user: string; password: string; ok: boolean }): Promise<void> {
  if (signIn) {
    assert.deepEqual([...await p.readBytes(4)], [5, 2, 0, 2], "offers none and username/password");
    await p.write(Uint8Array.of(5, 2));
    const creds = socksCredentials(signIn.user, signIn.password);
    assert.deepEqual([...await p.readBytes(creds.length)], [...creds]);
    await p.write(Uint8Array.of(1, signIn.ok ? 0 : 1));
    if (!signIn.ok) return;
  } else {
    assert.deepEqual([...await p.readBytes(3)], [5, 1, 0], "offers no authentication only");
    await p.write(Uint8Array.of(5, 0));
  }
  assert.deepEqual([...await p.readBytes(request.length)], [...request]);
  await p.write(Uint8Array.of(5, reply, 0, 1, 10, 9, 0, 1, 0x04, 0x38));
}

/** A CONNECT to the gateway, and its answer head's status line and body. */
async function tunnelAnswer(c: Peer, target: string): Promise<{ status: number; body: string; proxyStatus: string }> {
  await c.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  const head = await within(c.readHead(), 3000, "answer");
  const body = head.status === 200 ? "" : dec.decode(await c.readBytes(Number(head.get("content-length"))));
  return { status: head.status, body, proxyStatus: head.get("proxy-status") ?? "" };
}

describe("SOCKS5 parent proxy: tunnels", () => {
  it("CONNECT asks the parent by name (not resolved here) and relays through its tunnel", async () => {
    await withHarness(options(), async (h) => {
      h.origin(PARENT_IP, 1080, async (p) => {
        await socksParent(p, socksRequest("far.test", 443));
        assert.equal(dec.decode(await p.readBytes(5)), "hello");
        await p.write("world");
        await p.end();
        await p.readToEnd();
      });
      const c = h.client();
      await c.write("CONNECT far.test:443 HTTP/1.1\r\nHost: far.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
      await c.write("hello");
      assert.equal(dec.decode(await c.readToEnd()), "world");
      await c.end();
      await h.finish();
      const r = h.record();
      assert.deepEqual([r.parent, r.dnsSource, r.resolved, r.status, r.bytesUp, r.bytesDown], ["edge", "parent", null, 200, 5, 5]);
      assert.deepEqual(h.dials, [{ address: PARENT_IP, port: 1080 }]);
    });
  });

  it("IP-literal destinations go as addresses; credentials sign in (RFC 1929); early bytes of the destination come after our 200", async () => {
    await withHarness(options(SIGNED), async (h) => {
      const signIn = { user: "gw", password: "pä ss", ok: true };
      let n = 0;
      h.origin(PARENT_IP, 1080, async (p) => {
        if (n++ === 0) {
          await socksParent(p, bytes(5, 1, 0, 1, 192, 0, 2, 7, 0, 25), 0, signIn);
          await p.write("220 mail ESMTP\r\n");
        } else {
          await socksParent(p, bytes(5, 1, 0, 4, 0x20, 1, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 5, 1, 187), 0, signIn);
        }
        await p.end();
        await p.readToEnd();
      });
      const v4 = h.client();
      await v4.write("CONNECT 192.0.2.7:25 HTTP/1.1\r\nHost: 192.0.2.7:25\r\n\r\n");
      assert.equal(dec.decode(await within(v4.readToEnd(), 3000, "tunnel")), `${ESTABLISHED}220 mail ESMTP\r\n`);
      await v4.end();
      const v6 = h.client();
      await v6.write("CONNECT [2001:db8::5]:443 HTTP/1.1\r\nHost: [2001:db8::5]:443\r\n\r\n");
      assert.equal(dec.decode(await within(v6.readToEnd(), 3000, "tunnel")), ESTABLISHED);
      await v6.end();
      await h.finish();
      assert.deepEqual(h.records.map((r) => [r.host, r.parent, r.status]), [["192.0.2.7", "edge", 200], ["2001:db8::5", "edge", 200]]);
    });
  });

  it("the parent's refusals: ruleset → 403, refused → 502, TTL expired → 504, host unreachable → 502, each naming the parent and the reply", async () => {
    const cases: [number, number, string, RegExp][] = [
      [2, 403, "http_request_denied", /refused SOCKS5 CONNECT far\.test:443: connection not allowed by ruleset \(2\)/],
      [5, 502, "connection_refused", /connection refused \(5\)/],
      [6, 504, "connection_timeout", /TTL expired \(6\)/],
      [4, 502, "destination_unavailable", /host unreachable \(4\)/],
    ];
    await withHarness(options(), async (h) => {
      for (const [reply, status, proxyStatus, message] of cases) {
        h.origin(PARENT_IP, 1080, async (p) => {
          await socksParent(p, socksRequest("far.test", 443), reply);
          await p.readToEndOrReset();
        });
        const c = h.client();
        const a = await tunnelAnswer(c, "far.test:443");
        assert.equal(a.status, status);
        assert.match(a.proxyStatus, new RegExp(`error=${proxyStatus}`));
        assert.match(a.body, /parent proxy "edge" \(edge\.test:1080\)/);
        assert.match(a.body, message);
        await c.end();
        await c.readToEndOrReset();
      }
      await h.finish();
    });
  });

  it("a sign-in the parent rejects, a parent that takes no offered method, or one that is not SOCKS: 502 saying which", async () => {
    await withHarness(options(SIGNED), async (h) => {
      h.origin(PARENT_IP, 1080, async (p) => {
        await socksParent(p, new Uint8Array(0), 0, { user: "gw", password: "pä ss", ok: false });
        await p.readToEndOrReset();
      });
      const rejected = h.client();
      const a = await tunnelAnswer(rejected, "far.test:443");
      assert.equal(a.status, 502);
      assert.match(a.proxyStatus, /error=proxy_configuration_error/);
      assert.match(a.body, /refused the sign-in of user "gw"/);
      await rejected.end();
      await rejected.readToEndOrReset();
      h.origin(PARENT_IP, 1080, async (p) => {
        await p.readBytes(4);
        await p.write(Uint8Array.of(5, 0xff));
        await p.readToEndOrReset();
      });
      const none = h.client();
      assert.match((await tunnelAnswer(none, "far.test:443")).body, /accepts none of the sign-in methods offered \(none, username\/password\)/);
      await none.end();
      await none.readToEndOrReset();
      h.origin(PARENT_IP, 1080, async (p) => {
        await p.readBytes(4);
        await p.write("HTTP/1.1 400 Bad Request\r\n\r\n");
        await p.readToEndOrReset();
      });
      const http = h.client();
      const b = await tunnelAnswer(http, "far.test:443");
      assert.equal(b.status, 502);
      assert.match(b.body, /the SOCKS5 greeting failed: Method choice version 72, expected 5 \(is it a SOCKS5 proxy\?\)/);
      await http.end();
      await http.readToEndOrReset();
      await h.finish();
    });
  });

  it("a parent that stays silent: 504 within the connect timeout, saying whether it knew the destination", async () => {
    for (const named of [false, true]) {
      await withHarness({ ...options(), limits: { connectTimeoutMs: 200 } }, async (h) => {
        h.origin(PARENT_IP, 1080, async (p) => {
          await p.readBytes(3);
          if (named) {
            await p.write(Uint8Array.of(5, 0));
            await p.readBytes(socksRequest("far.test", 443).length);
          }
          await p.readToEndOrReset();
        });
        const c = h.client();
        const a = await tunnelAnswer(c, "far.test:443");
        assert.equal(a.status, 504);
        assert.match(a.body, named ? /no answer to the SOCKS5 request for far\.test:443 within 200 ms/ : /no answer to the SOCKS5 greeting within 200 ms/);
        await c.end();
        await c.readToEndOrReset();
        await h.finish();
      });
    }
  });
});

describe("SOCKS5 parent proxy: decryption and plain HTTP", () => {
  it("TLS to the real server runs over the SOCKS tunnel, validated for the CONNECT host", async () => {
    await withHarness({ ...options(), policy: { ...DECRYPT_POLICY, defaultParent: "edge" }, interception: {} }, async (h) => {
      h.origin(PARENT_IP, 1080, async (p) => {
        await socksParent(p, socksRequest("origin.test", 443));
        const head = await p.readHead(); // the fake TLS is plaintext
        assert.equal(head.startLine, "GET /page HTTP/1.1");
        await p.write(okResponse("inspected"));
        await p.readToEndOrReset();
      });
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
      await c.write("GET /page HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "inspected");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.tls.connects[0]?.servername, "origin.test");
      assert.ok(h.tls.connects[0]?.over, "handshake over the tunnel");
      assert.equal(h.record().parent, "edge");
    });
  });

  it("absolute-form requests: a tunnel per origin, requests in origin form, kept alive for the same origin", async () => {
    await withHarness(options(), async (h) => {
      const seen: string[] = [];
      const serve = (target: Uint8Array, bodies: string[]) =>
        h.origin(PARENT_IP, 1080, async (p) => {
          await socksParent(p, target);
          for (const body of bodies) {
            const head = await p.readHead();
            seen.push(`${head.startLine} | ${head.get("host")} | ${head.get("proxy-authorization") ?? "-"}`);
            await p.write(okResponse(body));
          }
          await p.readToEndOrReset();
        });
      serve(socksRequest("a.test", 80), ["one", "two"]);
      const c = h.client();
      await c.write("GET http://a.test/x?q=1 HTTP/1.1\r\nHost: a.test\r\nProxy-Authorization: Basic Y2xpZW50OnNlY3JldA==\r\n\r\n");
      assert.equal((await readResponse(c)).body, "one");
      await c.write("GET http://a.test/y HTTP/1.1\r\nHost: a.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "two");
      serve(socksRequest("b.test", 8080), ["three"]);
      await c.write("GET http://b.test:8080/z HTTP/1.1\r\nHost: b.test:8080\r\n\r\n");
      assert.equal((await readResponse(c)).body, "three");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(seen, ["GET /x?q=1 HTTP/1.1 | a.test | -", "GET /y HTTP/1.1 | a.test | -", "GET /z HTTP/1.1 | b.test:8080 | -"]);
      assert.equal(h.dials.length, 2, "one tunnel per origin");
      assert.deepEqual(h.records.map((r) => [r.host, r.parent, r.dnsSource, r.status]), [
        ["a.test", "edge", "parent", 200],
        ["a.test", "edge", "parent", 200],
        ["b.test", "edge", "parent", 200],
      ]);
    });
  });

  it("an HTTP parent that falls back to a SOCKS5 parent: the fallback's tunnel takes origin-form requests", async () => {
    const corp = testParent("corp", { host: { kind: "dns", name: "corp.test" }, fallback: "edge" });
    await withHarness({ policy: { ...POLICY, defaultParent: "corp" }, parents: [corp, EDGE], hosts: { "edge.test": [PARENT_IP], "corp.test": ["10.9.0.9"] } }, async (h: FlowHarness) => {
      h.origin(PARENT_IP, 1080, async (p) => {
        await socksParent(p, socksRequest("a.test", 80));
        assert.equal((await p.readHead()).startLine, "GET /x HTTP/1.1");
        await p.write(okResponse("via edge"));
        await p.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "via edge");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.record().parent, "edge");
    });
  });
});
