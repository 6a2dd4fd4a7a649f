import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createBasicCredentials } from "../../src/auth/proxy-auth.ts";
import { type ParsedHead, readResponse, withHarness } from "../helpers/flow-harness.ts";
import { close, named, open, route, state } from "../helpers/reverse-harness.ts";
import type { ReverseListenerState } from "../../src/reverse/listener-state.ts";
import { ReverseErrorPages } from "../../src/reverse/error-pages.ts";
import type { FlowHarness } from "../helpers/flow-harness.ts";

/** A rate that never refills within a test: only the burst gets through. */
const SLOW = 0.001;

/** One client connection from `from` (trusted peer 127.0.0.1 sends X-Forwarded-For): GET `path`; status and response. */
async function get(h: FlowHarness, s: ReverseListenerState, path: string, from?: string, extra = "") {
  const { c, done } = open(h, s);
  await c.write(`GET ${path} HTTP/1.1\r\nHost: app.test\r\n${from ? `X-Forwarded-For: ${from}\r\n` : ""}${extra}\r\n`);
  const res = await readResponse(c);
  await close(c, done);
  return res;
}

describe("reverse routes with rateLimit", () => {
  const pools = { app: { backends: ["http://10.0.0.1"] } };

  it("lets the burst through per client, then answers 429 with Retry-After, logged as a denial; other clients and routes are not affected", async () => {
    await withHarness({}, async (h) => {
      const seen: ParsedHead[] = [];
      named(h, "10.0.0.1", 80, "ok", seen);
      const s = state([
        route("api", ["app.test"], "app", { pathPrefix: "/api", rateLimit: { requestsPerSecond: SLOW, burst: 2, per: "client" } }),
        route("site", ["app.test"], "app"),
      ], pools, [], { trust: ["127.0.0.1"] });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await get(h, s, "/api/x", "192.0.2.7")).head.status);
      assert.deepEqual(statuses, [200, 200, 429]);
      const refused = await get(h, s, "/api/x", "192.0.2.7");
      assert.equal(refused.head.status, 429);
      assert.equal(refused.head.startLine, "HTTP/1.1 429 Too Many Requests");
      assert.equal(refused.head.get("retry-after"), "1000");
      assert.equal(refused.body, `Too many requests (request id ${refused.head.get("x-request-id")})\n`, "the route's settings are not shown to the client");
      assert.match(h.requestRecords.at(-1)?.reason ?? "", /^Too many requests on route "api": client 192\.0\.2\.7 over 0\.001 requests\/s \(burst 2\)/);
      assert.equal((await get(h, s, "/api/x", "192.0.2.8")).head.status, 200, "another client has its own bucket");
      assert.equal((await get(h, s, "/other", "192.0.2.7")).head.status, 200, "another route is not limited");
      assert.equal(seen.length, 4);
      const limited = h.requestRecords.filter((q) => q.status === 429);
      assert.deepEqual(limited.map((q) => [q.decision, q.rule, q.error]), [["deny", "api.rate-limit", null], ["deny", "api.rate-limit", null]]);
    });
  });

  it("per route: all clients share one bucket", async () => {
    await withHarness({}, async (h) => {
      named(h, "10.0.0.1", 80, "ok");
      const s = state([route("api", ["app.test"], "app", { rateLimit: { requestsPerSecond: SLOW, burst: 1, per: "route" } })], pools, [], {
        trust: ["127.0.0.1"],
        errorPages: new ReverseErrorPages({ detailsFor: ["192.0.2.8"] }),
      });
      assert.equal((await get(h, s, "/", "192.0.2.7")).head.status, 200);
      const other = await get(h, s, "/", "192.0.2.8");
      assert.equal(other.head.status, 429);
      assert.match(other.body, /all clients together over/, "a client in detailsFor is shown the reason");
    });
  });

  it("counts before basicAuth: a password guesser is refused without a password check", async () => {
    await withHarness({}, async (h) => {
      const seen: ParsedHead[] = [];
      named(h, "10.0.0.1", 80, "ok", seen);
      let checks = 0;
      const real = createBasicCredentials([]);
      const credentials = { ...real, check: (...args: Parameters<typeof real.check>) => (checks++, real.check(...args)) };
      const s = state([route("ops", ["app.test"], "app", { basicAuth: { users: ["alice"], realm: "ops" }, rateLimit: { requestsPerSecond: SLOW, burst: 2, per: "client" } })], pools, [], { credentials });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await get(h, s, "/", undefined, `Authorization: Basic ${btoa(`alice:guess${i}`)}\r\n`)).head.status);
      assert.deepEqual(statuses, [401, 401, 429, 429]);
      assert.equal(checks, 2);
      assert.equal(seen.length, 0);
    });
  });
});
