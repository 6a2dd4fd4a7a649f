/**
 * SOCKS5 listener flows over in-memory connections: negotiation, sign-in, the tunnel (blind
 * and decrypted, through the same code as CONNECT), and every refusal's reply code and line.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashPassword } from "../../src/auth/password-hash.ts";
import { createProxyAuth, type ProxyAuth } from "../../src/auth/proxy-auth.ts";
import { TlsValidationError } from "../../src/core/tls.ts";
import { replyFor } from "../../src/flows/socks5.ts";
import { SocksReply } from "../../src/protocol/socks5.ts";
import { bytes, socksCredentials as credentials, socksRequest as request } from "../protocol/socks5-builder.ts";
import { dec, DECRYPT_POLICY, type Peer, readResponse, serveRequests, withHarness, within } from "../helpers/flow-harness.ts";

const GREETING = Uint8Array.of(5, 1, 0);
/**
 * Reply 0 naming the address the gateway connected from (BND.ADDR/BND.PORT): the harness's
 * `dial`th connection is from 10.255.0.1, port 40000 + dial.
 */
const success = (dial = 1) => [5, 0, 0, 1, 10, 255, 0, 1, (40000 + dial) >> 8, (40000 + dial) & 0xff];
const reply = (code: number) => [5, code, 0, 1, 0, 0, 0, 0, 0, 0];

/** Reads a final reply and the end of the connection. */
async function finalReply(c: Peer, n = 10): Promise<number[]> {
  const got = Array.from(await within(c.readBytes(n), 3000, "reply"));
  await c.end().catch(() => {});
  const rest = await within(c.readToEndOrReset(), 3000, "end");
  assert.equal(rest.data.byteLength, 0, "nothing after the final reply");
  return got;
}

/** Negotiates without authentication and asks for `host:port`. */
async function ask(c: Peer, host: string, port: number): Promise<void> {
  await c.write(GREETING);
  assert.deepEqual(Array.from(await within(c.readBytes(2), 1500, "method choice")), [5, 0]);
  await c.write(request(host, port));
}

describe("SOCKS5: tunnels", () => {
  it("negotiates byte by byte, answers success naming the address it connected from, relays both ways; the line is a CONNECT's", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        assert.equal(dec.decode(await o.readBytes(5)), "hello");
        await o.write("world");
        assert.equal((await o.readToEnd()).byteLength, 0);
        await o.end();
      });
      const c = h.socksClient();
      await c.writeSplit(bytes(5, 2, 0x80, 0), [1]);
      assert.deepEqual(Array.from(await c.readBytes(2)), [5, 0]);
      await c.writeSplit(request("Origin.Test", 443), [1]);
      assert.deepEqual(Array.from(await within(c.readBytes(10), 1500, "reply")), success());
      await c.write("hello");
      assert.equal(await c.readText(5), "world");
      await c.end();
      assert.equal((await c.readToEnd()).byteLength, 0);
      await h.finish();
      const r = h.record();
      assert.equal(r.mode, "socks5");
      assert.equal(r.kind, "connect");
      assert.equal(r.host, "origin.test");
      assert.equal(r.port, 443);
      assert.equal(r.resolved, "10.0.0.1");
      assert.equal(r.rule, "allow-test");
      assert.equal(r.status, 200);
      assert.equal(r.bytesUp, 5);
      assert.equal(r.bytesDown, 5);
      assert.equal(r.end, "eof");
      assert.equal(r.user, null);
    });
  });

  it("takes a client that sends ahead: greeting, request and payload in one write", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.2", 8443, async (o) => {
        assert.equal(dec.decode(await o.readBytes(11)), "early-bytes");
        await o.end();
        await o.readToEnd();
      });
      const c = h.socksClient();
      await c.write(bytes(GREETING, request("other.test", 8443), "early-bytes"));
      assert.deepEqual(Array.from(await within(c.readBytes(12), 1500, "choice and reply")), [5, 0, ...success()]);
      await c.end();
      await c.readToEnd();
      await h.finish();
      assert.equal(h.record().bytesUp, 11);
    });
  });

  it("dials an address literal as an address (IPv4 and IPv6 address types)", async () => {
    await withHarness({}, async (h) => {
      for (const address of ["127.0.0.1", "::1"]) {
        h.origin(address, 9000, async (o) => {
          await o.write("x");
          await o.end();
          await o.readToEnd();
        });
      }
      const v4 = h.socksClient();
      await v4.write(bytes(GREETING, 5, 1, 0, 1, 127, 0, 0, 1, 0x23, 0x28));
      assert.deepEqual(Array.from(await within(v4.readBytes(13), 1500, "v4")), [5, 0, ...success(1), 0x78]);
      await v4.end();
      await v4.readToEnd();
      const v6 = h.socksClient();
      await v6.write(bytes(GREETING, 5, 1, 0, 4, ...new Array<number>(15).fill(0), 1, 0x23, 0x28));
      assert.deepEqual(Array.from(await within(v6.readBytes(13), 1500, "v6")), [5, 0, ...success(2), 0x78]);
      await v6.end();
      await v6.readToEnd();
      await h.finish();
      assert.deepEqual(h.records.map((r) => [r.host, r.rule, r.dnsSource]), [["127.0.0.1", "allow-loopback", "literal"], ["::1", "allow-loopback", "literal"]]);
    });
  });

  it("decrypts when the rule says so: reply only after the upstream handshake, then HTTP inside", async () => {
    await withHarness({ policy: DECRYPT_POLICY, interception: {} }, async (h) => {
      serveRequests(h, "10.0.0.1", 443, ["inspected"]);
      const c = h.socksClient();
      await ask(c, "origin.test", 443);
      assert.deepEqual(Array.from(await within(c.readBytes(10), 1500, "reply")), success());
      await c.write("GET /x HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const res = await readResponse(c);
      assert.equal(res.body, "inspected");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(h.tls.leaves, [{ host: "origin.test", sans: undefined }]);
      const r = h.record();
      assert.equal(r.mode, "socks5");
      assert.equal(r.decryption, "decrypt");
      assert.equal(r.requests, 1);
      assert.equal(h.requestRecords[0]?.url, "https://origin.test/x");
    });
  });

  it("an upstream certificate that fails validation gets a general failure and no certificate is minted", async () => {
    await withHarness({ policy: DECRYPT_POLICY, interception: {} }, async (h) => {
      h.tls.beforeConnect = () => {
        throw new TlsValidationError("CERT_HAS_EXPIRED", "certificate has expired");
      };
      const c = h.socksClient();
      await ask(c, "origin.test", 443);
      assert.deepEqual(await finalReply(c), reply(SocksReply.generalFailure));
      await h.finish();
      assert.deepEqual(h.tls.leaves, []);
      const r = h.record();
      assert.equal(r.status, 502);
      assert.match(r.error ?? "", /Upstream certificate rejected \(CERT_HAS_EXPIRED\)/);
    });
  });
});

describe("SOCKS5: refusals", () => {
  it("a denied destination gets 'not allowed by ruleset' and is never dialed", async () => {
    await withHarness({}, async (h) => {
      const c = h.socksClient();
      await ask(c, "evil.test", 443);
      assert.deepEqual(await finalReply(c), reply(SocksReply.notAllowed));
      await h.finish();
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.equal(r.decision, "deny");
      assert.equal(r.rule, "block-evil");
      assert.equal(r.status, 403);
      assert.equal(r.end, "denied");
    });
  });

  it("names why the destination could not be reached: no such name, refused, timed out", async () => {
    await withHarness({ limits: { connectTimeoutMs: 100 } }, async (h) => {
      h.hang("10.0.0.9", 443, true);
      const cases: [string, number, number, RegExp][] = [
        ["nowhere.test", 443, SocksReply.hostUnreachable, /nowhere\.test/],
        ["origin.test", 81, SocksReply.connectionRefused, /refused/i],
        ["slow.test", 443, SocksReply.ttlExpired, /timed out|timeout/i],
      ];
      for (const [host, port, code] of cases) {
        const c = h.socksClient();
        await ask(c, host, port);
        assert.deepEqual(await finalReply(c), reply(code), host);
      }
      await h.finish();
      cases.forEach(([host, , , error], i) => {
        assert.equal(h.records[i]?.host, host);
        assert.match(h.records[i]?.error ?? "", error);
      });
    });
  });

  it("a refusal is told by the dial error's code, not by the name asked for: refused.test unreachable is unreachable", async () => {
    await withHarness({ hosts: { "refused.test": ["10.0.0.7"], "fine.test": ["10.0.0.8"] } }, async (h) => {
      h.ctx.runtime.dial = () => Promise.reject(Object.assign(new Error("connect EHOSTUNREACH"), { code: "EHOSTUNREACH" }));
      const got: number[][] = [];
      for (const host of ["fine.test", "refused.test"]) {
        const c = h.socksClient();
        await c.write(bytes(GREETING, request(host, 443)));
        got.push(await finalReply(c, 12));
      }
      await h.finish();
      assert.deepEqual(got, [[5, 0, ...reply(SocksReply.hostUnreachable)], [5, 0, ...reply(SocksReply.hostUnreachable)]]);
    });
  });

  it("refuses BIND, UDP ASSOCIATE and unknown address types with their codes", async () => {
    await withHarness({}, async (h) => {
      const cases: [Uint8Array, number, RegExp][] = [
        [request("origin.test", 443, 2), SocksReply.commandNotSupported, /BIND is not supported/],
        [request("origin.test", 443, 3), SocksReply.commandNotSupported, /UDP ASSOCIATE is not supported/],
        [bytes(5, 1, 0, 9, 0, 0), SocksReply.addressTypeNotSupported, /Address type 9/],
        [request("a..b", 443), SocksReply.hostUnreachable, /Invalid SOCKS5 destination/],
        [request("origin.test", 0), SocksReply.hostUnreachable, /port 0/],
      ];
      for (const [req, code] of cases) {
        const c = h.socksClient();
        await c.write(GREETING);
        await c.readBytes(2);
        await c.write(req);
        assert.deepEqual(await finalReply(c), reply(code));
      }
      await h.finish();
      assert.deepEqual(h.dials, []);
      cases.forEach(([, , error], i) => assert.match(h.records[i]?.error ?? "", error));
    });
  });

  it("closes on what is not SOCKS5, and on silence, with a line saying which", async () => {
    await withHarness({ limits: { headerTimeoutMs: 150 } }, async (h) => {
      const http = h.socksClient();
      await http.write("GET http://origin.test/ HTTP/1.1\r\n\r\n");
      assert.equal((await within(http.readToEndOrReset(), 1500, "close")).data.byteLength, 0);
      const silent = h.socksClient();
      assert.equal((await within(silent.readToEndOrReset(), 1500, "close")).data.byteLength, 0);
      const stalled = h.socksClient();
      await stalled.write(GREETING);
      await stalled.readBytes(2);
      await stalled.write(Uint8Array.of(5, 1, 0, 3, 20, 0x61));
      assert.equal((await within(stalled.readToEndOrReset(), 1500, "close")).data.byteLength, 0);
      const probe = h.socksClient();
      await probe.end();
      await within(probe.readToEndOrReset(), 1500, "close");
      await h.finish();
      assert.equal(h.records.length, 3, "a client that hangs up before a byte leaves no line");
      assert.match(h.records[0]?.error ?? "", /HTTP on a SOCKS5 listener/);
      assert.match(h.records[1]?.error ?? "", /No complete SOCKS5 greeting within 150 ms/);
      assert.match(h.records[2]?.error ?? "", /No complete SOCKS5 request within 150 ms/);
      assert.deepEqual(h.dials, []);
    });
  });
});

describe("SOCKS5: sign-in with the gateway's users (RFC 1929)", () => {
  let auth: ProxyAuth;
  before(async () => {
    auth = createProxyAuth({ realm: "t", users: [{ name: "alice", passwordHash: await hashPassword("pw", 100_000) }] });
  });

  it("asks for username/password, and the user is on the line and in the policy query", async () => {
    const policy = { defaultAction: "deny" as const, rules: [{ id: "alice-only", hosts: ["origin.test"], users: ["alice"], action: "allow" as const, log: true }] };
    await withHarness({ proxyAuth: auth, policy }, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        await o.end();
        await o.readToEnd();
      });
      const c = h.socksClient();
      await c.write(bytes(5, 2, 0, 2));
      assert.deepEqual(Array.from(await within(c.readBytes(2), 1500, "choice")), [5, 2]);
      await c.write(credentials("alice", "pw"));
      assert.deepEqual(Array.from(await within(c.readBytes(2), 3000, "sign-in")), [1, 0]);
      await c.write(request("origin.test", 443));
      assert.deepEqual(Array.from(await within(c.readBytes(10), 1500, "reply")), success());
      await c.end();
      await c.readToEnd();
      await h.finish();
      assert.equal(h.record().user, "alice");
      assert.equal(h.record().rule, "alice-only");
    });
  });

  it("refuses a client without username/password, and bad credentials, naming the reason", async () => {
    await withHarness({ proxyAuth: auth }, async (h) => {
      const anonymous = h.socksClient();
      await anonymous.write(GREETING);
      assert.deepEqual(await finalReply(anonymous, 2), [5, 0xff]);
      const wrong = h.socksClient();
      await wrong.write(bytes(5, 1, 2));
      await wrong.readBytes(2);
      await wrong.write(credentials("alice", "nope"));
      assert.deepEqual(await finalReply(wrong, 2), [1, 1]);
      const colon = h.socksClient();
      await colon.write(bytes(5, 1, 2, credentials("al:ice", "pw")));
      assert.deepEqual(await finalReply(colon, 4), [5, 2, 1, 1]);
      await h.finish();
      assert.deepEqual(h.dials, []);
      // the status a CONNECT without (or with wrong) credentials gets
      assert.deepEqual(h.records.map((r) => [r.decision, r.rule, r.end, r.status]), [["deny", "proxy-auth", "denied", 407], ["deny", "proxy-auth", "denied", 407], ["deny", "proxy-auth", "denied", 407]]);
      assert.match(h.records[0]?.reason ?? "", /offers no username\/password sign-in \(methods 0\)/);
      assert.match(h.records[1]?.reason ?? "", /bad credentials for user "alice"/);
      assert.match(h.records[2]?.reason ?? "", /bad credentials for user "al:ice"/);
    });
  });

  it("a sign-in not checked is logged as a CONNECT's: 429 when throttled, 503 and an error when the directory is down", async () => {
    const cases: [Awaited<ReturnType<ProxyAuth["check"]>>, number, string][] = [
      [{ ok: false, reason: "too many failed sign-ins from 127.0.0.1; not checked, retry after 60 s", retryAfterMs: 60_000 }, 429, "denied"],
      [{ ok: false, reason: "not checked: the directory could not be reached", retryAfterMs: 5000, busy: true, unavailable: true }, 503, "error"],
    ];
    for (const [result, status, end] of cases) {
      const fixed: ProxyAuth = { realm: "t", challenge: 'Basic realm="t"', check: () => Promise.resolve(result) };
      await withHarness({ proxyAuth: fixed }, async (h) => {
        const c = h.socksClient();
        await c.write(bytes(5, 1, 2, credentials("alice", "pw")));
        assert.deepEqual(await finalReply(c, 4), [5, 2, 1, 1]);
        await h.finish();
        assert.deepEqual([h.record().rule, h.record().status, h.record().end], ["proxy-auth", status, end]);
      });
    }
  });

  it("without users, a client that offers only username/password is refused", async () => {
    await withHarness({}, async (h) => {
      const c = h.socksClient();
      await c.write(bytes(5, 1, 2));
      assert.deepEqual(await finalReply(c, 2), [5, 0xff]);
      await h.finish();
      assert.match(h.record().reason ?? "", /takes clients without authentication/);
    });
  });
});

describe("SOCKS5 reply codes", () => {
  it("map the HTTP status and RFC 9209 error type a CONNECT would get", () => {
    assert.equal(replyFor(403, "destination_denied"), SocksReply.notAllowed);
    assert.equal(replyFor(403, "destination_ip_prohibited"), SocksReply.notAllowed);
    assert.equal(replyFor(429, undefined), SocksReply.notAllowed);
    assert.equal(replyFor(502, "dns_error"), SocksReply.hostUnreachable);
    assert.equal(replyFor(504, "dns_timeout"), SocksReply.hostUnreachable);
    assert.equal(replyFor(502, "connection_refused"), SocksReply.connectionRefused);
    assert.equal(replyFor(504, "connection_timeout"), SocksReply.ttlExpired);
    assert.equal(replyFor(502, "destination_unavailable"), SocksReply.hostUnreachable);
    assert.equal(replyFor(502, "tls_certificate_error"), SocksReply.generalFailure);
    assert.equal(replyFor(503, "connection_limit_reached"), SocksReply.generalFailure);
    assert.equal(replyFor(501, undefined), SocksReply.generalFailure);
  });
});
