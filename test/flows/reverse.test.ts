import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CertificateStore } from "../../src/reverse/cert-store.ts";
import { okResponse, type ParsedHead, readResponse, within, withHarness } from "../helpers/flow-harness.ts";
import { close, named, open, route, state } from "../helpers/reverse-harness.ts";
import { ReverseErrorPages } from "../../src/reverse/error-pages.ts";
import { flowErrorKind } from "../../src/metrics/flow-error-kind.ts";

/** Every client is shown the full reason (the tests here check it; `reverse-error-pages.test.ts` the default). */
const DETAILS = new ReverseErrorPages({ detailsFor: ["0.0.0.0/0", "::/0"] });

/** curl's real ClientHello: SNI example.com, ALPN h2,http/1.1. */
const CURL = new Uint8Array(readFileSync(new URL("../fixtures/client-hello/curl-openssl.bin", import.meta.url)));

describe("reverse flow: routing and forwarding (plain HTTP listener)", () => {
  it("routes by host to different pools, with forwarding fields, Via and one request line per request", async () => {
    await withHarness({}, async (h) => {
      const seenA = named(h, "10.0.0.1", 80, "from a");
      const seenB = named(h, "10.0.0.2", 8080, "from b");
      const s = state([route("a", ["a.test"], "A"), route("b", ["b.test"], "B")], { A: { backends: ["http://10.0.0.1"] }, B: { backends: ["http://10.0.0.2:8080"] } });
      const { c, done } = open(h, s);
      await c.write("GET /x?q=1 HTTP/1.1\r\nHost: a.test\r\nUser-Agent: probe/1.0\r\nX-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\n\r\n");
      const first = await readResponse(c);
      assert.equal(first.body, "from a");
      assert.equal(first.head.get("via"), "1.1 tollgate");
      await c.write("GET /y HTTP/1.1\r\nHost: b.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "from b");
      await close(c, done);
      const a = seenA[0]!;
      assert.equal(a.startLine, "GET /x?q=1 HTTP/1.1");
      assert.equal(a.get("host"), "a.test");
      assert.equal(a.get("x-forwarded-for"), "127.0.0.1");
      assert.equal(a.get("x-forwarded-proto"), "http");
      assert.equal(a.get("x-forwarded-host"), "a.test");
      assert.equal(a.get("forwarded"), "for=127.0.0.1;host=a.test;proto=http");
      assert.equal(a.get("via"), "1.1 tollgate");
      assert.equal(seenB[0]?.get("host"), "b.test");
      assert.deepEqual(h.requestRecords.map((q) => [q.mode, q.rule, q.url, q.status, q.decision, q.userAgent]), [
        ["reverse", "a", "http://a.test/x?q=1", 200, "allow", "probe/1.0"],
        ["reverse", "b", "http://b.test/y", 200, "allow", null],
      ]);
      const r = h.record();
      assert.equal(r.mode, "reverse");
      assert.equal(r.kind, "http");
      assert.equal(r.requests, 2);
      assert.equal(r.end, "eof");
    });
  });

  it("a reload reaches a keep-alive connection: its next request is routed with the state now in force", async () => {
    await withHarness({}, async (h) => {
      named(h, "10.0.0.1", 80, "old backend");
      named(h, "10.0.0.2", 80, "new backend");
      const before = state([route("site", ["a.test"], "old")], { old: { backends: ["http://10.0.0.1"] } });
      const after = state([route("site-v2", ["a.test"], "new"), route("b", ["b.test"], "new")], { new: { backends: ["http://10.0.0.2"] } });
      let inForce = before;
      const { c, done } = open(h, () => inForce);
      await c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "old backend");
      await c.write("GET / HTTP/1.1\r\nHost: b.test\r\n\r\n");
      assert.equal((await readResponse(c)).head.status, 404); // not routed before the reload (and the connection closes)
      await close(c, done);
      inForce = after;
      const second = open(h, () => inForce);
      const third = open(h, () => inForce);
      await second.c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
      assert.equal((await readResponse(second.c)).body, "new backend");
      // the same connection, across a change: the next request takes the state in force then
      await third.c.write("GET / HTTP/1.1\r\nHost: b.test\r\n\r\n");
      assert.equal((await readResponse(third.c)).body, "new backend");
      inForce = before;
      await third.c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
      assert.equal((await readResponse(third.c)).body, "old backend");
      await close(second.c, second.done);
      await close(third.c, third.done);
      assert.deepEqual(h.requestRecords.map((q) => [q.rule, q.status]), [
        ["site", 200], ["no-route", 404], ["site-v2", 200], ["b", 200], ["site", 200],
      ]);
    });
  });

  it("X-Request-Id: ours for every request (a client's replaced), a trusted proxy's kept; the backend, the request line and our refusals carry it", async () => {
    const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    await withHarness({}, async (h) => {
      const seen = named(h, "10.0.0.1", 80, "ok");
      const untrusted = state([route("a", ["a.test"], "A")], { A: { backends: ["http://10.0.0.1"] } });
      const { c, done } = open(h, untrusted);
      await c.write("GET / HTTP/1.1\r\nHost: a.test\r\nX-Request-Id: forged\r\nConnection: X-Request-Id\r\n\r\n");
      const firstResponse = await readResponse(c);
      await c.write("GET / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n");
      const refused = await readResponse(c);
      assert.equal(refused.head.status, 404);
      await close(c, done);
      const trusted = state([route("a", ["a.test"], "A")], { A: { backends: ["http://10.0.0.1"] } }, [], { trust: ["127.0.0.1"] });
      const t = open(h, trusted);
      for (const sent of ["lb-7f3a-0001", "has space", "x".repeat(129)]) {
        await t.c.write(`GET / HTTP/1.1\r\nHost: a.test\r\nX-Request-Id: ${sent}\r\n\r\n`);
        await readResponse(t.c);
      }
      await t.c.write("GET / HTTP/1.1\r\nHost: a.test\r\nX-Request-Id: one\r\nX-Request-Id: two\r\n\r\n");
      await readResponse(t.c);
      await close(t.c, t.done);
      const ids = seen.map((s) => s.all("x-request-id"));
      assert.ok(ids.every((v) => v.length === 1), JSON.stringify(ids));
      const [first, kept, spaced, long, twice] = ids.map((v) => v[0]!);
      assert.equal(firstResponse.head.get("x-request-id"), first, "the client's response names the id the backend got");
      assert.match(first!, UUID, "a client's id is replaced");
      assert.equal(kept, "lb-7f3a-0001", "a trusted proxy's id is kept");
      for (const id of [spaced, long, twice]) assert.match(id!, UUID, "an invalid or repeated one is replaced");
      const lines = h.requestRecords;
      assert.deepEqual(lines.filter((q) => q.status === 200).map((q) => q.requestId), [first, kept, spaced, long, twice]);
      const notFound = lines.find((q) => q.status === 404);
      assert.match(String(notFound?.requestId), UUID);
      assert.equal(refused.head.get("x-request-id"), notFound?.requestId, "our refusal names the id the log has");
      assert.equal(new Set(lines.map((q) => q.requestId)).size, lines.length);
    });
  });

  it("X-Request-Id on responses: ours unless the backend named its own; a route's responseHeaders may remove it", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        for (;;) {
          const head = await o.readHead().catch(() => undefined);
          if (!head) return;
          const own = head.startLine.includes("/own") ? "X-Request-Id: backend-42\r\n" : "";
          await o.write(okResponse("ok", own));
        }
      });
      const s = state([
        route("a", ["a.test"], "A"),
        route("quiet", ["quiet.test"], "A", { responseHeaders: { remove: ["X-Request-Id"], set: [], add: [] } }),
      ], { A: { backends: ["http://10.0.0.1"] } });
      const { c, done } = open(h, s);
      const ask = async (host: string, path: string) => {
        await c.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        return (await readResponse(c)).head.all("x-request-id");
      };
      const ours = await ask("a.test", "/");
      const theirs = await ask("a.test", "/own");
      const removed = await ask("quiet.test", "/");
      await close(c, done);
      assert.deepEqual(ours, [h.requestRecords[0]!.requestId]);
      assert.deepEqual(theirs, ["backend-42"], "the backend's own, once");
      assert.deepEqual(removed, []);
    });
  });

  it("a client cannot strip our X-Forwarded-For by naming it in Connection", async () => {
    await withHarness({}, async (h) => {
      const seen = named(h, "10.0.0.1", 80, "ok");
      const s = state([route("a", ["*"], "A")], { A: { backends: ["http://10.0.0.1"] } });
      const { c, done } = open(h, s);
      await c.write("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive, X-Forwarded-For, Forwarded, X-Secret\r\nX-Secret: s\r\n\r\n");
      await readResponse(c);
      await close(c, done);
      assert.equal(seen[0]?.get("x-forwarded-for"), "127.0.0.1");
      assert.equal(seen[0]?.get("forwarded"), "for=127.0.0.1;host=a.test;proto=http");
      assert.equal(seen[0]?.get("x-secret"), undefined); // hop-by-hop as the client said
      assert.equal(seen[0]?.get("connection"), undefined);
    });
  });

  it("trusts forwarding fields from trustForwardedFrom peers and uses the original client for allow lists", async () => {
    await withHarness({}, async (h) => {
      const seen = named(h, "10.0.0.1", 80, "ok");
      const s = state([route("inner", ["*"], "A", { clients: ["10.0.0.0/8"] })], { A: { backends: ["http://10.0.0.1"] } }, [], { trust: ["127.0.0.1"], errorPages: DETAILS });
      const { c, done } = open(h, s);
      await c.write("GET / HTTP/1.1\r\nHost: a.test\r\nX-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: https\r\n\r\n");
      assert.equal((await readResponse(c)).head.status, 200);
      await c.write("GET / HTTP/1.1\r\nHost: a.test\r\nX-Forwarded-For: 192.0.2.9\r\n\r\n");
      const refused = await readResponse(c);
      assert.equal(refused.head.status, 403);
      assert.match(refused.body, /Client 192\.0\.2\.9 is not allowed on route "inner"/);
      await close(c, done);
      assert.equal(seen[0]?.get("x-forwarded-for"), "10.1.2.3, 127.0.0.1");
      assert.equal(seen[0]?.get("x-forwarded-proto"), "https");
      assert.equal(seen.length, 1);
    });
  });

  it("no route: 404 naming host and path, logged with rule no-route; nothing dialed", async () => {
    await withHarness({}, async (h) => {
      const s = state([route("a", ["a.test"], "A", { pathPrefix: "/app" })], { A: { backends: ["http://10.0.0.1"] } });
      const { c, done } = open(h, s);
      await c.write("GET /other HTTP/1.1\r\nHost: a.test\r\n\r\n");
      const res = await readResponse(c);
      assert.equal(res.head.status, 404);
      assert.equal(res.body, "No route for a.test/other\n");
      assert.match(res.head.get("proxy-status") ?? "", /destination_not_found/);
      await close(c, done);
      assert.deepEqual(h.dials, []);
      assert.deepEqual(h.requestRecords.map((q) => [q.status, q.rule, q.decision]), [[404, "no-route", "deny"]]);
      assert.equal(h.record().end, "denied");
    });
  });

  it("no route for a HEAD: the 404 head alone, then the end", async () => {
    await withHarness({}, async (h) => {
      const s = state([route("a", ["a.test"], "A", { pathPrefix: "/app" })], { A: { backends: ["http://10.0.0.1"] } });
      const { c, done } = open(h, s);
      await c.write("HEAD /other HTTP/1.1\r\nHost: a.test\r\n\r\n");
      const res = await readResponse(c, "HEAD");
      assert.equal(res.head.status, 404);
      assert.equal(res.head.get("content-length"), String("No route for a.test/other\n".length));
      await c.end();
      assert.equal((await c.readToEndOrReset()).data.byteLength, 0, "no body after the head");
      await within(done, 3000);
      assert.deepEqual(h.requestRecords.map((q) => [q.method, q.status]), [["HEAD", 404]]);
    });
  });

  it("per-route deny rules answer 403 naming the rule; other methods pass", async () => {
    await withHarness({}, async (h) => {
      named(h, "10.0.0.1", 80, "ok");
      const s = state([route("api", ["*"], "A", { deny: [{ paths: ["/admin"], methods: ["DELETE"] }] })], { A: { backends: ["http://10.0.0.1"] } }, [], { errorPages: DETAILS });
      const ok = open(h, s);
      await ok.c.write("GET /admin/users HTTP/1.1\r\nHost: a.test\r\n\r\n");
      assert.equal((await readResponse(ok.c)).head.status, 200);
      await close(ok.c, ok.done);
      const denied = open(h, s);
      await denied.c.write("DELETE /%61dmin/users HTTP/1.1\r\nHost: a.test\r\n\r\n");
      const res = await readResponse(denied.c);
      assert.equal(res.head.status, 403);
      assert.match(res.body, /Blocked by route "api": url rule "api\.deny-1" matched path "\/admin\/users"/);
      await close(denied.c, denied.done);
      assert.equal(h.requestRecords[1]?.rule, "api.deny-1");
    });
  });

  it("skips a backend that refuses connections, ejects it, and sends later requests to the live one", async () => {
    await withHarness({}, async (h) => {
      named(h, "10.0.0.2", 80, "live");
      const logs: string[] = [];
      const s = state([route("r", ["*"], "P")], { P: { backends: ["http://10.0.0.1", "http://10.0.0.2"] } }, logs);
      for (let i = 0; i < 3; i++) {
        const { c, done } = open(h, s);
        await c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
        assert.equal((await readResponse(c)).body, "live");
        await close(c, done);
      }
      // dead one tried once (then ejected), the live one served all three
      assert.deepEqual(h.dials.map((d) => d.address), ["10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.2"]);
      assert.equal(logs.length, 1);
      assert.match(logs[0]!, /backend http:\/\/10\.0\.0\.1:80 of pool "P" ejected for 60 s: .*ECONNREFUSED/);
    });
  });

  it("every backend down: 502 naming the pool and each failure", async () => {
    await withHarness({}, async (h) => {
      const s = state([route("r", ["*"], "P")], { P: { backends: ["http://10.0.0.1", "http://10.0.0.3:81"] } }, [], { errorPages: DETAILS });
      const { c, done } = open(h, s);
      await c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
      const res = await readResponse(c);
      assert.equal(res.head.status, 502);
      assert.match(res.body, /^No backend of pool "P" could be reached: Connect to backend http:\/\/10\.0\.0\.1 .*; Connect to backend http:\/\/10\.0\.0\.3:81/);
      assert.match(res.head.get("proxy-status") ?? "", /connection_refused/);
      await close(c, done);
      assert.equal(h.requestRecords[0]?.status, 502);
      assert.ok(h.requestRecords[0]?.error);
    });
  });

  it("a backend that does not answer in time: 504; one that cannot be reached in time: 504", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.readToEndOrReset(); // never answers
      });
      h.hang("10.0.0.9", 80, true);
      const s = state([route("slow", ["slow.test"], "S"), route("hang", ["hang.test"], "H")], {
        S: { backends: ["http://10.0.0.1"], timeoutMs: 100 },
        H: { backends: ["http://10.0.0.9"], connectTimeoutMs: 100 },
      }, [], { errorPages: DETAILS });
      const slow = open(h, s);
      await slow.c.write("GET / HTTP/1.1\r\nHost: slow.test\r\n\r\n");
      const a = await readResponse(slow.c);
      assert.equal(a.head.status, 504);
      assert.equal(a.body, "Backend http://10.0.0.1:80 did not answer within 100 ms\n");
      await close(slow.c, slow.done);
      const hang = open(h, s);
      await hang.c.write("GET / HTTP/1.1\r\nHost: hang.test\r\n\r\n");
      const b = await readResponse(hang.c);
      assert.equal(b.head.status, 504);
      assert.match(b.body, /timed out after 100 ms/);
      await close(hang.c, hang.done);
    });
  });

  it("keeps the backend connection alive across requests of one client connection", async () => {
    await withHarness({}, async (h) => {
      const seen = named(h, "10.0.0.1", 80, "ok");
      const s = state([route("r", ["*"], "P")], { P: { backends: ["http://10.0.0.1", "http://10.0.0.2"] } });
      const { c, done } = open(h, s);
      for (let i = 0; i < 3; i++) {
        await c.write(`GET /${i} HTTP/1.1\r\nHost: a.test\r\n\r\n`);
        assert.equal((await readResponse(c)).body, "ok");
      }
      await close(c, done);
      assert.equal(seen.length, 3);
      assert.deepEqual(h.dials.map((d) => d.address), ["10.0.0.1"]);
    });
  });

  it("applies the route's request and response header edits and Host settings", async () => {
    await withHarness({}, async (h) => {
      const seen = named(h, "10.0.0.1", 8080, "ok");
      const s = state([
        route("backend-host", ["a.test"], "P", {
          hostHeader: "backend",
          requestHeaders: { remove: ["X-Debug"], set: [["X-Env", "prod"]], add: [["X-Tag", "t"]] },
          responseHeaders: { remove: ["X-Backend-Secret", "Server"], set: [], add: [["Strict-Transport-Security", "max-age=60"]] },
        }),
        route("fixed-host", ["b.test"], "P", { hostHeader: { set: "api.internal" } }),
      ], { P: { backends: ["http://10.0.0.1:8080"] } });
      const { c, done } = open(h, s);
      await c.write("GET / HTTP/1.1\r\nHost: a.test\r\nX-Debug: 1\r\nX-Env: dev\r\n\r\n");
      const res = await readResponse(c);
      assert.equal(res.head.get("x-backend-secret"), undefined);
      assert.equal(res.head.get("server"), undefined);
      assert.equal(res.head.get("strict-transport-security"), "max-age=60");
      await c.write("GET / HTTP/1.1\r\nHost: b.test\r\n\r\n");
      assert.equal((await readResponse(c)).head.get("server"), "origin/1.0");
      await close(c, done);
      assert.equal(seen[0]?.get("host"), "10.0.0.1:8080");
      assert.equal(seen[0]?.get("x-debug"), undefined);
      assert.equal(seen[0]?.get("x-env"), "prod");
      assert.equal(seen[0]?.get("x-tag"), "t");
      assert.equal(seen[0]?.get("x-forwarded-host"), "a.test");
      assert.equal(seen[1]?.get("host"), "api.internal");
    });
  });

  it("backendPrefix: the backend gets the route's prefix replaced in the normalised path, the query kept; the request line keeps the client's URL", async () => {
    await withHarness({}, async (h) => {
      const seen = named(h, "10.0.0.1", 8080, "ok");
      const s = state([
        route("api", ["a.test"], "P", { pathPrefix: "/api", backendPrefix: "/" }),
        route("moved", ["a.test"], "P", { pathPrefix: "/old", backendPrefix: "/v2/new" }),
        route("site", ["a.test"], "P"),
      ], { P: { backends: ["http://10.0.0.1:8080"] } });
      const { c, done } = open(h, s);
      for (const target of ["/api/users?page=2", "/api", "/api/../api/%75sers/%2Fx", "/old/a/b?c", "/site//x%7e?y"]) {
        await c.write(`GET ${target} HTTP/1.1\r\nHost: a.test\r\n\r\n`);
        assert.equal((await readResponse(c)).head.status, 200, target);
      }
      await close(c, done);
      // a route without backendPrefix forwards the path as sent, so one with dot-segments,
      // which a backend could read as another place, is refused
      const dots = open(h, s);
      await dots.c.write("GET /./site/..//x?y HTTP/1.1\r\nHost: a.test\r\n\r\n");
      const refused = await readResponse(dots.c);
      await close(dots.c, dots.done);
      assert.equal(refused.head.status, 400);
      assert.match(refused.body, /^Dot-segments \("\." or "\.\."\) in the request path are not accepted: "\/\.\/site\/\.\.\/\/x"/);
      assert.deepEqual(seen.map((x) => x.startLine), [
        "GET /users?page=2 HTTP/1.1",
        "GET / HTTP/1.1",
        "GET /users/%2Fx HTTP/1.1",
        "GET /v2/new/a/b?c HTTP/1.1",
        "GET /site//x%7e?y HTTP/1.1", // as sent
      ]);
      assert.deepEqual(h.requestRecords.map((q) => [q.rule, q.url, q.status]), [
        ["api", "http://a.test/api/users?page=2", 200],
        ["api", "http://a.test/api", 200],
        ["api", "http://a.test/api/../api/%75sers/%2Fx", 200],
        ["moved", "http://a.test/old/a/b?c", 200],
        ["site", "http://a.test/site//x%7e?y", 200],
        ["site", "http://a.test/./site/..//x?y", 400],
      ]);
    });
  });

  it("relays a WebSocket upgrade as a byte stream", async () => {
    await withHarness({}, async (h) => {
      const seen: ParsedHead[] = [];
      h.origin("10.0.0.1", 80, async (o) => {
        seen.push(await o.readHead());
        await o.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        const ping = await o.readText(4);
        await o.write(`echo:${ping}`);
        await o.end();
        await o.readToEndOrReset();
      });
      const s = state([route("ws", ["*"], "P")], { P: { backends: ["http://10.0.0.1"] } });
      const { c, done } = open(h, s);
      await c.write("GET /chat HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n");
      const head = await c.readHead();
      assert.equal(head.status, 101);
      assert.equal(head.get("upgrade"), "websocket");
      await c.write("ping");
      assert.equal(await c.readText(9), "echo:ping");
      await close(c, done);
      assert.equal(seen[0]?.get("upgrade"), "websocket");
      assert.match(seen[0]?.get("connection") ?? "", /upgrade/i);
      assert.equal(seen[0]?.get("x-forwarded-for"), "127.0.0.1");
    });
  });

  it("refuses CONNECT and TRACE (in any case), and an invalid path", async () => {
    await withHarness({}, async (h) => {
      const s = state([route("r", ["*"], "P")], { P: { backends: ["http://10.0.0.1"] } });
      for (const [line, status] of [["TRACE / HTTP/1.1", 405], ["trace / HTTP/1.1", 405], ["CONNECT a.test:443 HTTP/1.1", 405], ["GET /a%zz HTTP/1.1", 400]] as const) {
        const { c, done } = open(h, s);
        await c.write(`${line}\r\nHost: a.test\r\n\r\n`);
        assert.equal((await readResponse(c)).head.status, status, line);
        await close(c, done);
      }
      assert.deepEqual(h.dials, []);
    });
  });
});

describe("reverse flow: fields a backend could take for another path or method", () => {
  it("X-Original-URL, X-Rewrite-URL and method overrides are dropped from an untrusted client, kept from a trusted proxy", async () => {
    await withHarness({}, async (h) => {
      const seen = named(h, "10.0.0.1", 80, "ok");
      const routes = [route("r", ["*"], "P")];
      const pools = { P: { backends: ["http://10.0.0.1"] } };
      const fields = "X-Original-URL: /admin/x\r\nX-Rewrite-URL: /admin/x\r\nX-HTTP-Method-Override: DELETE\r\nX-HTTP-Method: DELETE\r\nX-Method-Override: DELETE\r\n";
      for (const trust of [[], ["127.0.0.1"]]) {
        const { c, done } = open(h, state(routes, pools, [], { trust }));
        await c.write(`POST /public HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\n${fields}\r\n`);
        assert.equal((await readResponse(c)).head.status, 200);
        await close(c, done);
      }
      const names = ["x-original-url", "x-rewrite-url", "x-http-method-override", "x-http-method", "x-method-override"];
      assert.deepEqual(seen.map((q) => names.filter((n) => q.get(n) !== undefined).length), [0, 5]);
    });
  });

  it("deny rules judge the method a _method query names, and the override fields a trusted proxy passes on", async () => {
    await withHarness({}, async (h) => {
      const seen = named(h, "10.0.0.1", 80, "ok");
      const routes = [route("api", ["*"], "A", { deny: [{ paths: ["/admin"], methods: ["DELETE"] }] })];
      const pools = { A: { backends: ["http://10.0.0.1"] } };
      const cases = [
        // [trusted, request, status]: an untrusted client's override field never reaches the backend
        [false, "POST /admin/users?_method=delete HTTP/1.1\r\nContent-Length: 0", 403],
        [true, "POST /admin/users?_method=DELETE HTTP/1.1\r\nContent-Length: 0", 403],
        [false, "POST /admin/users HTTP/1.1\r\nContent-Length: 0\r\nX-HTTP-Method-Override: DELETE", 200],
        [true, "POST /admin/users HTTP/1.1\r\nContent-Length: 0\r\nX-HTTP-Method-Override: DELETE", 403],
        [true, "POST /admin/users?_method=PATCH HTTP/1.1\r\nContent-Length: 0", 200],
      ] as const;
      for (const [trusted, request, status] of cases) {
        const { c, done } = open(h, state(routes, pools, [], { trust: trusted ? ["127.0.0.1"] : [] }));
        await c.write(`${request}\r\nHost: a.test\r\n\r\n`);
        assert.equal((await readResponse(c)).head.status, status, request);
        await close(c, done);
      }
      assert.equal(seen.length, 2);
      assert.deepEqual(h.requestRecords.map((q) => q.rule), ["api.deny-1", "api.deny-1", "api", "api.deny-1", "api"]);
    });
  });
});

describe("reverse flow: paths a backend could read as another route's", () => {
  it("a path with dot-segments, or whose slashes merge into another route's, is refused: nothing reaches a backend", async () => {
    await withHarness({}, async (h) => {
      const s = state([
        route("admin", ["a.test"], "P", { pathPrefix: "/admin", clients: ["10.0.0.0/8"] }),
        route("site", ["a.test"], "P"),
      ], { P: { backends: ["http://10.0.0.1"] } });
      const paths = ["/admin/graphql/../../x", "/admin/graphql/%2e%2e/%2E%2E/x", "/x/./y", "//admin/x", "/.//admin/x", "/;p/admin/x"];
      for (const path of paths) {
        const { c, done } = open(h, s);
        await c.write(`GET ${path} HTTP/1.1\r\nHost: a.test\r\n\r\n`);
        const res = await readResponse(c);
        await close(c, done);
        assert.equal(res.head.status, 400, path);
        assert.match(res.body, /^(Dot-segments|Ambiguous request path)/, path);
      }
      assert.deepEqual(h.dials, []);
    });
  });
});

describe("reverse flow: a route that does not tell case (caseSensitive: false)", () => {
  it("takes /ADMIN with its client list, so a broader route cannot; and it rewrites the path after its prefix", async () => {
    await withHarness({}, async (h) => {
      const seen = named(h, "10.0.0.1", 80, "ok");
      const s = state([
        route("admin", ["a.test"], "P", { pathPrefix: "/admin", caseSensitive: false, clients: ["10.0.0.0/8"] }),
        route("app", ["a.test"], "P", { pathPrefix: "/App", caseSensitive: false, backendPrefix: "/" }),
        route("site", ["a.test"], "P"),
      ], { P: { backends: ["http://10.0.0.1"] } });
      for (const path of ["/ADMIN/x", "/Admin", "/%41dmin/y"]) {
        const { c, done } = open(h, s);
        await c.write(`GET ${path} HTTP/1.1\r\nHost: a.test\r\n\r\n`);
        const res = await readResponse(c);
        await close(c, done);
        assert.equal(res.head.status, 403, path);
      }
      assert.deepEqual(h.dials, []);
      const { c, done } = open(h, s);
      for (const path of ["/APP/Users?id=1", "/administrator"]) {
        await c.write(`GET ${path} HTTP/1.1\r\nHost: a.test\r\n\r\n`);
        assert.equal((await readResponse(c)).head.status, 200, path);
      }
      await close(c, done);
      assert.deepEqual(seen.map((x) => x.startLine), ["GET /Users?id=1 HTTP/1.1", "GET /administrator HTTP/1.1"]);
      assert.deepEqual(h.requestRecords.map((q) => q.rule), ["admin", "admin", "admin", "app", "site"]);
    });
  });
});

describe("reverse flow: TLS termination", () => {
  const store = (unknownSni: "default" | "refuse", mint: string[] = []) =>
    new CertificateStore([{ chainPem: "CHAIN example", keyPem: "KEY example", names: ["example.com"], source: "example.pem", notAfter: new Date(0) }], 0, unknownSni, mint);
  const opts = { interception: {} };
  /** A store that serves only "other.test" and mints for example.com. */
  const minting = () => new CertificateStore([{ chainPem: "C", keyPem: "K", names: ["other.test"], source: "o", notAfter: new Date(0) }], 0, "refuse", ["example.com"]);

  it("accepts with the certificate the SNI selects and the exact ClientHello, then serves https requests", async () => {
    await withHarness(opts, async (h) => {
      const seen = named(h, "10.0.0.1", 80, "secure");
      const s = state([route("r", ["example.com"], "P")], { P: { backends: ["http://10.0.0.1"] } }, [], { store: store("refuse") });
      const { c, done } = open(h, s);
      await c.writeSplit(CURL, [100, 7]);
      await c.write("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
      assert.equal((await readResponse(c)).body, "secure");
      await close(c, done);
      assert.equal(h.tls.accepts.length, 1);
      assert.equal(h.tls.accepts[0]?.certChainPem, "CHAIN example");
      assert.equal(h.tls.accepts[0]?.keyPem, "KEY example");
      assert.deepEqual(h.tls.accepts[0]?.alpn, ["http/1.1"]);
      assert.deepEqual(h.tls.acceptedBytes[0], CURL);
      assert.equal(seen[0]?.get("x-forwarded-proto"), "https");
      assert.equal(h.requestRecords[0]?.url, "https://example.com/");
      const r = h.record();
      assert.equal(r.kind, "tls");
      assert.equal(r.host, "example.com");
      assert.equal(r.alpn, "h2,http/1.1");
    });
  });

  it("an unknown SNI with unknownSni refuse: unrecognized_name alert, nothing accepted", async () => {
    await withHarness(opts, async (h) => {
      const s = state([], {}, [], {
        store: new CertificateStore([{ chainPem: "C", keyPem: "K", names: ["other.test"], source: "o", notAfter: new Date(0) }], 0, "refuse"),
      });
      const { c, done } = open(h, s);
      await c.write(CURL);
      const { data } = await c.readToEndOrReset();
      assert.deepEqual([...data], [21, 3, 3, 0, 2, 2, 112]);
      await within(done, 3000);
      assert.equal(h.tls.accepts.length, 0);
      const r = h.record();
      assert.equal(r.decision, "deny");
      assert.equal(r.rule, "unknown-sni");
      assert.match(r.reason ?? "", /No certificate for SNI "example\.com"/);
    });
  });

  it("mints a certificate with the gateway CA for a mint pattern", async () => {
    await withHarness(opts, async (h) => {
      named(h, "10.0.0.1", 80, "minted");
      const s = state([route("r", ["*"], "P")], { P: { backends: ["http://10.0.0.1"] } }, [], {
        store: minting(),
      });
      const { c, done } = open(h, s);
      await c.write(CURL);
      await c.write("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
      assert.equal((await readResponse(c)).body, "minted");
      await close(c, done);
      assert.deepEqual(h.tls.leaves, [{ host: "example.com", sans: undefined }]);
      assert.equal(h.tls.accepts[0]?.certChainPem, "FAKE CHAIN for example.com");
    });
  });

  const mintFailures = [
    {
      what: "a mint that fails: internal_error alert, and the flow counts as a certificate error",
      options: { interception: { leaf: () => Promise.reject(new Error("The name constraints do not allow it")) } },
      error: /^Could not issue a certificate for "example\.com": The name constraints do not allow it$/,
      kind: "cert",
    },
    {
      what: "a mint pattern without a CA: internal_error alert, and the flow counts as a configuration error",
      options: {},
      error: /^No CA is configured to mint a certificate for "example\.com"$/,
      kind: "config",
    },
  ] as const;
  for (const { what, options, error, kind } of mintFailures) {
    it(what, async () => {
      await withHarness(options, async (h) => {
        const s = state([route("r", ["*"], "P")], { P: { backends: ["http://10.0.0.1"] } }, [], { store: minting() });
        const { c, done } = open(h, s);
        await c.write(CURL);
        const { data } = await c.readToEndOrReset();
        assert.deepEqual([...data], [21, 3, 3, 0, 2, 2, 80]);
        await within(done, 3000);
        assert.equal(h.tls.accepts.length, 0);
        const r = h.record();
        assert.match(r.error ?? "", error);
        assert.equal(flowErrorKind(r), kind);
      });
    });
  }

  it("plain HTTP sent to the TLS listener gets a plain 400 saying to use https", async () => {
    await withHarness(opts, async (h) => {
      const s = state([], {}, [], { store: store("default") });
      const { c, done } = open(h, s);
      await c.write("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
      const res = await readResponse(c);
      assert.equal(res.head.status, 400);
      assert.match(res.body, /This port speaks HTTPS/);
      await close(c, done);
      assert.match(h.record().error ?? "", /Non-TLS bytes/);
    });
  });
});

