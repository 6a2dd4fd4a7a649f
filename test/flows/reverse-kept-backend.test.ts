/**
 * A backend connection kept for its client's next request (a pool that shares none, a
 * PROXY-protocol pool, `clientHoldMs`) is watched: when the backend closes it while the client
 * is idle (its keep-alive timeout: Node's is 5 s, Gunicorn's 2 s), the next request, even one
 * with a body that could not be sent again, goes out on a fresh connection.
 */import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readResponse, withHarness } from "../helpers/flow-harness.ts";
import { close, open, route, state } from "../helpers/reverse-harness.ts";

describe("reverse: a kept backend connection the backend closes while its client is idle", () => {
  for (const spec of [
    { name: "maxIdlePerBackend 0", pool: {} },
    { name: "PROXY protocol pool", pool: { proxyProtocol: "v1" as const } },
    { name: "clientHoldMs 5000 (a shared pool)", pool: { maxIdlePerBackend: 4, clientHoldMs: 5000 } },
  ]) {
    it(`${spec.name}: a POST with a body after the backend's keep-alive timeout is served, not 502`, async () => {
      await withHarness({}, async (h) => {
        h.origin("10.0.0.1", 80, async (o) => {
          // a backend with a 50 ms keep-alive timeout (Node's is 5 s): one request per connection
          // (a PROXY header first when the pool sends one: skip its line)
          if ("proxyProtocol" in spec.pool) await o.readUntil("\r\n");
          const head = await o.readHead();
          const n = Number(head.get("content-length") ?? 0);
          if (n > 0) await o.readBytes(n);
          await o.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
          await new Promise((r) => setTimeout(r, 50));
          // keep-alive timeout: FIN (the gateway may close its side as it arrives)
          await o.end().catch(() => {});
          await o.readToEndOrReset();
        });
        const s = state([route("r", ["*"], "P")], { P: { backends: ["http://10.0.0.1"], ...spec.pool } });
        const { c, done } = open(h, s);
        await c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
        assert.equal((await readResponse(c)).head.status, 200);
        await new Promise((r) => setTimeout(r, 200)); // the client thinks for a moment
        await c.write("POST /form HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhello");
        const res = await readResponse(c);
        await close(c, done).catch(() => {});
        assert.equal(res.head.status, 200, `got ${res.head.status}: ${res.body}`);
      });
    });
  }
});
