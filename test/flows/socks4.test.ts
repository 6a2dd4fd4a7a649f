/**
 * SOCKS4 and SOCKS4a on a SOCKS listener, over in-memory connections: the tunnel (through the
 * same code as CONNECT), and every refusal's reply and line.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashPassword } from "../../src/auth/password-hash.ts";
import { createProxyAuth } from "../../src/auth/proxy-auth.ts";
import { dec, type Peer, withHarness, within } from "../helpers/flow-harness.ts";

const GRANTED = [0, 90, 0, 0, 0, 0, 0, 0];
const REJECTED = [0, 91, 0, 0, 0, 0, 0, 0];
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
/** A CONNECT (or `command`) for `host:port`: an IPv4 address (SOCKS4), else a name (SOCKS4a). */
function request(host: string, port: number, command = 1, userId = "tester"): Uint8Array {
  const v4 = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? host.split(".").map(Number) : undefined;
  return Uint8Array.from([4, command, port >> 8, port & 0xff, ...(v4 ?? [0, 0, 0, 1]), ...ascii(userId), 0, ...(v4 ? [] : [...ascii(host), 0])]);
}

/** Reads the 8-byte reply and the end of the connection. */
async function finalReply(c: Peer): Promise<number[]> {
  const got = Array.from(await within(c.readBytes(8), 3000, "reply"));
  await c.end().catch(() => {});
  const rest = await within(c.readToEndOrReset(), 3000, "end");
  assert.equal(rest.data.byteLength, 0, "nothing after the final reply");
  return got;
}

describe("SOCKS4 and 4a on a SOCKS listener", () => {
  it("4a: a name, byte by byte; granted, relayed both ways; the line is a CONNECT's", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        assert.equal(dec.decode(await o.readBytes(5)), "hello");
        await o.write("world");
        assert.equal((await o.readToEnd()).byteLength, 0);
        await o.end();
      });
      const c = h.socksClient();
      await c.writeSplit(request("Origin.Test", 443), [1]);
      assert.deepEqual(Array.from(await within(c.readBytes(8), 1500, "reply")), GRANTED);
      await c.write("hello");
      assert.equal(await c.readText(5), "world");
      await c.end();
      assert.equal((await c.readToEnd()).byteLength, 0);
      await h.finish();
      const r = h.record();
      assert.deepEqual([r.mode, r.kind, r.host, r.port, r.resolved, r.status, r.bytesUp, r.bytesDown, r.end, r.user], ["socks5", "connect", "origin.test", 443, "10.0.0.1", 200, 5, 5, "eof", null]);
    });
  });

  it("4: an IPv4 address, with payload sent ahead of the reply", async () => {
    const policy = { defaultAction: "deny" as const, rules: [{ id: "lab", hosts: ["10.0.0.0/8"], action: "allow" as const, log: true }] };
    await withHarness({ policy }, async (h) => {
      h.origin("10.0.0.9", 8443, async (o) => {
        assert.equal(dec.decode(await o.readBytes(4)), "ping");
        await o.end();
        await o.readToEnd();
      });
      const c = h.socksClient();
      await c.write(Uint8Array.from([...request("10.0.0.9", 8443), ...ascii("ping")]));
      assert.deepEqual(Array.from(await within(c.readBytes(8), 1500, "reply")), GRANTED);
      await c.end();
      await c.readToEnd();
      await h.finish();
      assert.deepEqual(h.dials, [{ address: "10.0.0.9", port: 8443 }]);
    });
  });

  it("refused with 91: a denied destination (never dialed), BIND, port 0, a malformed request, and a listener that needs a sign-in", async () => {
    const auth = createProxyAuth({ realm: "t", users: [{ name: "alice", passwordHash: await hashPassword("pw", 100_000) }] });
    await withHarness({}, async (h) => {
      const denied = h.socksClient();
      await denied.write(request("evil.test", 443));
      assert.deepEqual(await finalReply(denied), REJECTED);
      const bind = h.socksClient();
      await bind.write(request("10.0.0.1", 21, 2));
      assert.deepEqual(await finalReply(bind), REJECTED);
      const zero = h.socksClient();
      await zero.write(request("origin.test", 0));
      assert.deepEqual(await finalReply(zero), REJECTED);
      const long = h.socksClient();
      await long.write(Uint8Array.from([4, 1, 0, 80, 1, 2, 3, 4, ...ascii("u".repeat(300))]));
      assert.deepEqual(await finalReply(long), REJECTED);
      await h.finish();
      assert.deepEqual(h.dials, []);
      const [d, b, z, l] = h.records;
      assert.deepEqual([d?.decision, d?.end, d?.host], ["deny", "denied", "evil.test"]);
      assert.equal(b?.error, "SOCKS4 BIND is not supported (only CONNECT)");
      assert.equal(z?.error, "SOCKS4 destination port 0");
      assert.match(l?.error ?? "", /USERID longer than 255 bytes/);
    });
    await withHarness({ proxyAuth: auth }, async (h) => {
      const c = h.socksClient();
      await c.write(request("Origin.TEST.", 443, 1, "alice"));
      assert.deepEqual(await finalReply(c), REJECTED);
      await h.finish();
      const r = h.record();
      assert.equal(r.host, "origin.test", "normalised, as every line names it");
      assert.deepEqual([r.decision, r.rule, r.end, r.user, r.status], ["deny", "proxy-auth", "denied", null, 407]);
      assert.match(r.reason ?? "", /SOCKS4 has no password sign-in/);
      assert.deepEqual(h.dials, []);
    });
  });

  it("a client that stops half-way through its request times out with a line naming SOCKS4", async () => {
    await withHarness({ limits: { headerTimeoutMs: 150 } }, async (h) => {
      const c = h.socksClient();
      await c.write(Uint8Array.of(4, 1, 0, 80, 0, 0, 0, 1, 0x61));
      await within(c.readToEndOrReset(), 2000, "the close");
      await h.finish();
      assert.match(h.record().error ?? "", /^No complete SOCKS4 request within 150 ms$/);
    });
  });
});
