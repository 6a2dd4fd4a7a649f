import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readResponse, withHarness } from "../helpers/flow-harness.ts";
import { close, open, route, state } from "../helpers/reverse-harness.ts";
import { ReverseErrorPages } from "../../src/reverse/error-pages.ts";

const POOLS = { P: { backends: ["http://10.0.0.1", "http://10.0.0.3:81"] } };

describe("reverse flow: what visitors see of the gateway's errors (reverse.errorPages)", () => {
  it("by default a 502 says neither pool nor backends, only the sentence and the request id; the request line has it all", async () => {
    await withHarness({}, async (h) => {
      const { c, done } = open(h, state([route("r", ["*"], "P")], POOLS));
      await c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
      const res = await readResponse(c);
      await close(c, done);
      const id = res.head.get("x-request-id");
      assert.equal(res.head.status, 502);
      assert.equal(res.body, `The service could not be reached (request id ${id})\n`);
      assert.ok(!/10\.0\.0|pool|"P"/.test(JSON.stringify(res.head.fields)), "nor do the header fields");
      const line = h.requestRecords[0];
      assert.equal(line?.requestId, id);
      assert.match(line?.error ?? "", /^No backend of pool "P" could be reached: Connect to backend http:\/\/10\.0\.0\.1 /);
    });
  });

  it("detailsFor is asked about the original client: a trusted proxy's X-Forwarded-For, anyone else's peer address", async () => {
    await withHarness({}, async (h) => {
      const deny = [route("inner", ["*"], "P", { clients: ["10.0.0.0/8"] })];
      const ask = async (trust: string[], detailsFor: string[]) => {
        const s = state(deny, POOLS, [], { trust, errorPages: new ReverseErrorPages({ detailsFor }) });
        const { c, done } = open(h, s);
        await c.write("GET / HTTP/1.1\r\nHost: a.test\r\nX-Forwarded-For: 192.0.2.9\r\n\r\n");
        const res = await readResponse(c);
        await close(c, done);
        assert.equal(res.head.status, 403);
        return res.body.replace(/request id [\w-]+/, "request id …");
      };
      const full = /^Client 192\.0\.2\.9 is not allowed on route "inner"\n$/;
      assert.match(await ask(["127.0.0.1"], ["192.0.2.0/24"]), full, "the original client is in detailsFor");
      assert.equal(await ask(["127.0.0.1"], ["127.0.0.1"]), "Access denied (request id …)\n", "the proxy is, the client it speaks for is not");
      assert.equal(await ask([], ["192.0.2.0/24"]), "Access denied (request id …)\n", "an untrusted peer's X-Forwarded-For is not believed");
      assert.match(await ask([], ["127.0.0.1"]), /^Client 127\.0\.0\.1 is not allowed on route "inner"\n$/);
      assert.ok(h.requestRecords.every((q) => /is not allowed on route "inner"/.test(q.reason ?? "")), "the log has the reason either way");
    });
  });

  it("a route's deny rule, a backend timeout: brief; no route, a bad method: the same to everyone", async () => {
    await withHarness({}, async (h) => {
      h.hang("10.0.0.9", 80, true);
      const s = state([
        route("api", ["a.test"], "P", { deny: [{ paths: ["/admin"] }] }),
        route("slow", ["slow.test"], "H"),
      ], { ...POOLS, H: { backends: ["http://10.0.0.9"], connectTimeoutMs: 50 } });
      const ask = async (request: string) => {
        const { c, done } = open(h, s);
        await c.write(request);
        const res = await readResponse(c);
        await close(c, done);
        return [res.head.status, res.body.replace(/request id [\w-]+/, "request id …")];
      };
      assert.deepEqual(await ask("GET /admin HTTP/1.1\r\nHost: a.test\r\n\r\n"), [403, "Access denied (request id …)\n"]);
      assert.deepEqual(await ask("GET / HTTP/1.1\r\nHost: slow.test\r\n\r\n"), [504, "The service did not answer in time (request id …)\n"]);
      assert.deepEqual(await ask("GET /x HTTP/1.1\r\nHost: b.test\r\n\r\n"), [404, "No route for b.test/x\n"]);
      assert.deepEqual(await ask("TRACE / HTTP/1.1\r\nHost: a.test\r\n\r\n"), [405, 'Method "TRACE" is not accepted here\n']);
      assert.deepEqual(h.requestRecords.map((q) => [q.status, q.rule]), [[403, "api.deny-1"], [504, "slow"], [404, "no-route"], [405, "none"]]);
    });
  });

  it("a request body the client malformed: 400 saying what is wrong, to everyone, without the backend's name", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.readToEndOrReset(); // reads the body as it comes; the gateway gives up first
      });
      const { c, done } = open(h, state([route("r", ["*"], "P")], { P: { backends: ["http://10.0.0.1"] } }));
      await c.write("POST /upload HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n");
      const res = await readResponse(c);
      await close(c, done);
      assert.equal(res.head.status, 400);
      assert.match(res.body, /^Invalid chunk size line "zz"/);
      assert.doesNotMatch(res.body + JSON.stringify(res.head.fields), /10\.0\.0\.1|[Bb]ackend/);
      assert.equal(h.requestRecords[0]?.backend, "http://10.0.0.1:80", "the request line still names the backend");
    });
  });

  it("a template: browsers get the page for any of the gateway's errors, API clients the text", async () => {
    await withHarness({}, async (h) => {
      const pages = new ReverseErrorPages({ template: "<h1>{{status}} {{title}}</h1><p>{{message}}</p><code>{{requestId}}</code>", detailsFor: [] });
      const s = state([route("r", ["a.test"], "P")], POOLS, [], { errorPages: pages });
      const ask = async (host: string, accept: string) => {
        const { c, done } = open(h, s);
        await c.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nAccept: ${accept}\r\n\r\n`);
        const res = await readResponse(c);
        await close(c, done);
        return { type: res.head.get("content-type"), body: res.body.replaceAll(res.head.get("x-request-id") ?? "?", "ID") };
      };
      const browser = "text/html,application/xhtml+xml,*/*;q=0.8";
      assert.deepEqual(await ask("a.test", browser), {
        type: "text/html; charset=utf-8",
        body: "<h1>502 Bad Gateway</h1><p>The service could not be reached (request id ID)</p><code>ID</code>",
      });
      assert.deepEqual(await ask("b.test", browser), { type: "text/html; charset=utf-8", body: "<h1>404 Not Found</h1><p>No route for b.test/</p><code>ID</code>" });
      assert.deepEqual(await ask("a.test", "application/json"), { type: "text/plain; charset=utf-8", body: "The service could not be reached (request id ID)\n" });
    });
  });
});
