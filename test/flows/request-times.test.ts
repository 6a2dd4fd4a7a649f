import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DECRYPT_POLICY,
  ESTABLISHED,
  type FlowHarness,
  type Peer,
  readResponse,
  withHarness,
  within,
} from "../helpers/flow-harness.ts";
import { close, open, route, state } from "../helpers/reverse-harness.ts";

/** How long the slow origin thinks before its head, and then before its body. */
const THINK_MS = 80;
/** How long the client sits idle on its keep-alive connection between requests. */
const IDLE_MS = 700;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An origin that, for each request, waits THINK_MS, sends its head, waits THINK_MS, sends its body. */
function slowOrigin(h: FlowHarness, address: string, port: number): void {
  h.origin(address, port, async (o) => {
    for (;;) {
      try {
        await o.readHead();
      } catch {
        return;
      }
      await sleep(THINK_MS);
      await o.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n");
      await sleep(THINK_MS);
      await o.write("done");
    }
  });
}

/** Two requests on one connection with IDLE_MS between them. */
async function twoRequests(c: Peer, request: string): Promise<void> {
  assert.equal((await within(readResponse(c), 3000, "first response")).body, "done");
  await sleep(IDLE_MS);
  await c.write(request);
  assert.equal((await within(readResponse(c), 3000, "second response")).body, "done");
}

/**
 * Timer-based, so only bounds that hold on a loaded machine: the origin's think time is a floor
 * (timers never fire early; 5 ms of slack for clock granularity), and the idle time on the
 * connection is far above what one request takes.
 */
function assertTimes(what: string, t: { durationMs: number; headerMs: number | null }): void {
  assert.ok(t.headerMs !== null && t.headerMs >= THINK_MS - 5, `${what}: header time ${t.headerMs} ms covers the origin's wait`);
  assert.ok(t.durationMs >= 2 * THINK_MS - 5, `${what}: duration ${t.durationMs} ms covers head and body`);
  assert.ok(t.headerMs <= t.durationMs, `${what}: the head came before the end`);
  assert.ok(t.durationMs < IDLE_MS, `${what}: duration ${t.durationMs} ms leaves out the idle time before the request`);
}

describe("request times in flow and request lines", () => {
  it("plain HTTP proxying: each request's line has its header time and a duration without the idle time before it", async () => {
    await withHarness({}, async (h) => {
      slowOrigin(h, "10.0.0.1", 80);
      const c = h.client();
      const request = "GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n";
      await c.write(request);
      await twoRequests(c, request);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.records.length, 2);
      h.records.forEach((r, i) => {
        assert.equal(r.kind, "http");
        assertTimes(`request ${i + 1}`, r);
      });
    });
  });

  it("decrypted requests: header time, and a duration without the idle time before the request", async () => {
    await withHarness({ policy: DECRYPT_POLICY, interception: {} }, async (h) => {
      slowOrigin(h, "10.0.0.1", 443);
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200 to the CONNECT"), ESTABLISHED);
      const request = "GET /a HTTP/1.1\r\nHost: origin.test\r\n\r\n";
      await c.write(request);
      await twoRequests(c, request);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.requestRecords.length, 2);
      h.requestRecords.forEach((r, i) => {
        assertTimes(`request ${i + 1}`, r);
        assert.equal(r.backend, null, "no backend outside the reverse proxy");
      });
      assert.equal(h.record().headerMs, null, "a tunnel's line has no header time");
    });
  });

  it("reverse proxy: the backend that answered, its header time; a refusal has neither", async () => {
    await withHarness({}, async (h) => {
      slowOrigin(h, "10.0.0.2", 8080);
      const s = state([route("site", ["a.test"], "P")], { P: { backends: ["http://10.0.0.1", "http://10.0.0.2:8080"] } });
      const { c, done } = open(h, s);
      const request = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
      await c.write(request); // 10.0.0.1 refuses: the request goes to 10.0.0.2
      await twoRequests(c, request);
      await c.write("GET / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n");
      assert.equal((await readResponse(c)).head.status, 404);
      await close(c, done);
      const [first, second, refused] = h.requestRecords;
      for (const [what, r] of [["first", first], ["second", second]] as const) {
        assert.ok(r);
        assert.equal(r.backend, "http://10.0.0.2:8080");
        assertTimes(what, r);
      }
      assert.equal(refused?.status, 404);
      assert.equal(refused?.backend, null);
      assert.equal(refused?.headerMs, null);
    });
  });

  it("reverse proxy: a backend that fails is named, and no header time is made up", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
        o.conn.close();
      });
      const s = state([route("site", ["a.test"], "P")], { P: { backends: ["http://10.0.0.1"] } });
      const { c, done } = open(h, s);
      await c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
      await c.readToEndOrReset();
      await within(done, 3000, "the reverse flow");
      const [r] = h.requestRecords;
      assert.equal(r?.status, 200);
      assert.equal(r?.backend, "http://10.0.0.1:80");
      assert.ok(r?.error, "the cut response is an error");
      assert.ok(r.headerMs !== null && r.headerMs <= r.durationMs, "the head did arrive");
    });
  });
});
