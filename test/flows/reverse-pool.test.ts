import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type FlowHarness, okResponse, type Peer, readResponse, until, withHarness } from "../helpers/flow-harness.ts";
import { close, open, type PoolSpec, route, state } from "../helpers/reverse-harness.ts";
import type { ReverseListenerState } from "../../src/reverse/listener-state.ts";

/** Backends 10.0.0.1:80 and 10.0.0.2:80; every response names the backend, its connection number and the request on it. */
function numberedBackends(h: FlowHarness, serve?: (o: Peer, name: string, n: number) => Promise<void>): void {
  for (const [address, name] of [["10.0.0.1", "one"], ["10.0.0.2", "two"]] as const) {
    let connections = 0;
    h.origin(address, 80, async (o) => {
      const n = ++connections;
      if (serve) return serve(o, name, n);
      for (let i = 1; ; i++) {
        const head = await o.readHead().catch(() => undefined);
        if (!head) return;
        await o.write(okResponse(`${name} conn ${n} request ${i}`));
      }
    });
  }
}

const POOLED: PoolSpec = { backends: ["http://10.0.0.1"], maxIdlePerBackend: 4 };

/** One client connection: GET / with `headers`, then the client hangs up; the body. */
async function visit(h: FlowHarness, s: ReverseListenerState, headers = ""): Promise<string> {
  const { c, done } = open(h, s);
  await c.write(`GET / HTTP/1.1\r\nHost: a.test\r\n${headers}\r\n`);
  const { body } = await readResponse(c);
  await close(c, done);
  return body;
}

const closeIdle = (s: ReverseListenerState) => {
  for (const p of s.pools.values()) p.idle?.close();
};

describe("reverse flow: backend connections shared across clients", () => {
  it("a later client's request takes the idle backend connection an earlier client left: one dial", async () => {
    await withHarness({}, async (h) => {
      numberedBackends(h);
      const s = state([route("a", ["a.test"], "p")], { p: POOLED });
      assert.equal(await visit(h, s), "one conn 1 request 1");
      assert.equal(await visit(h, s), "one conn 1 request 2");
      assert.equal(await visit(h, s), "one conn 1 request 3");
      assert.deepEqual(h.dials, [{ address: "10.0.0.1", port: 80 }]);
      assert.deepEqual(h.requestRecords.map((q) => q.status), [200, 200, 200]);
      assert.equal(s.pools.get("p")?.idle?.stats().reused, 2);
      closeIdle(s);
    });
  });

  it("without keepAlive (maxIdlePerBackend 0) every client connection dials its own", async () => {
    await withHarness({}, async (h) => {
      numberedBackends(h);
      const s = state([route("a", ["a.test"], "p")], { p: { backends: ["http://10.0.0.1"] } });
      assert.equal(await visit(h, s), "one conn 1 request 1");
      assert.equal(await visit(h, s), "one conn 2 request 1");
      assert.equal(h.dials.length, 2);
    });
  });

  it("clients at once each get their own connection; all go back idle, up to the limit per backend", async () => {
    await withHarness({}, async (h) => {
      numberedBackends(h);
      const s = state([route("a", ["a.test"], "p")], { p: { backends: ["http://10.0.0.1"], maxIdlePerBackend: 2 } });
      const clients = [open(h, s), open(h, s), open(h, s)];
      for (const { c } of clients) await c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
      const bodies = [];
      for (const { c } of clients) bodies.push((await readResponse(c)).body);
      assert.deepEqual(bodies.sort(), ["one conn 1 request 1", "one conn 2 request 1", "one conn 3 request 1"]);
      for (const { c, done } of clients) await close(c, done);
      assert.equal(s.pools.get("p")?.idle?.stats().idle, 2, "the third is closed: no room");
      closeIdle(s);
    });
  });

  it("a keep-alive client that sits idle holds no backend connection: another client's request takes it", async () => {
    await withHarness({}, async (h) => {
      numberedBackends(h);
      const s = state([route("a", ["a.test"], "p")], { p: POOLED });
      const idle = open(h, s);
      await idle.c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
      assert.equal((await readResponse(idle.c)).body, "one conn 1 request 1");
      // the first client keeps its connection open and says nothing
      assert.equal(await visit(h, s), "one conn 1 request 2");
      assert.equal(await visit(h, s), "one conn 1 request 3");
      await idle.c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
      assert.equal((await readResponse(idle.c)).body, "one conn 1 request 4");
      await close(idle.c, idle.done);
      assert.equal(h.dials.length, 1, "three clients, one backend connection");
      closeIdle(s);
    });
  });

  it("clientHoldMs: the connection waits that long for its own client's next request, then joins the pool", async () => {
    await withHarness({}, async (h) => {
      numberedBackends(h);
      const s = state([route("a", ["a.test"], "p")], { p: { ...POOLED, clientHoldMs: 300 } });
      const busy = open(h, s);
      const get = async () => {
        await busy.c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
        return (await readResponse(busy.c)).body;
      };
      assert.equal(await get(), "one conn 1 request 1");
      // held for the busy client: another client arriving now gets a connection of its own
      assert.equal(await visit(h, s), "one conn 2 request 1");
      assert.equal(await get(), "one conn 1 request 2", "the busy client's next request finds its connection");
      assert.equal(s.pools.get("p")?.idle?.stats().idle, 1, "only the other client's is in the pool");
      await until(() => s.pools.get("p")?.idle?.stats().idle === 2, 2000, "the held connection to join the pool");
      await close(busy.c, busy.done);
      assert.equal(h.dials.length, 2);
      closeIdle(s);
    });
  });

  it("a keep-alive client's requests take the pool's connections; moving to another pool leaves the first one's free", async () => {
    await withHarness({}, async (h) => {
      numberedBackends(h);
      const s = state([route("a", ["a.test"], "A"), route("b", ["b.test"], "B")], {
        A: { backends: ["http://10.0.0.1"], maxIdlePerBackend: 4 },
        B: { backends: ["http://10.0.0.2"], maxIdlePerBackend: 4 },
      });
      const first = open(h, s);
      for (const host of ["a.test", "a.test", "b.test"]) {
        await first.c.write(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        await readResponse(first.c);
      }
      // the first client is still on pool B: pool A's connection is already free for others
      assert.equal(await visit(h, s), "one conn 1 request 3");
      await close(first.c, first.done);
      assert.equal(h.dials.length, 2);
      closeIdle(s);
    });
  });

  it("a connection the backend closed while idle is dropped, and one it closes as it is reused is replaced (GET sent again)", async () => {
    await withHarness({}, async (h) => {
      numberedBackends(h, async (o, name, n) => {
        await o.readHead();
        await o.write(okResponse(`${name} conn ${n}`));
        if (n === 1) {
          await o.end(); // FIN while idle: the pool's watch drops it
        } else if (n === 2) {
          await o.readHead(); // closes only once the next request arrived: a race no watch sees
          await o.end();
        }
        await o.readToEndOrReset();
      });
      const s = state([route("a", ["a.test"], "p")], { p: POOLED });
      assert.equal(await visit(h, s), "one conn 1");
      await until(() => s.pools.get("p")?.idle?.stats().idle === 0, 1000, "the closed connection to leave the pool");
      assert.equal(await visit(h, s), "one conn 2");
      assert.equal(await visit(h, s), "one conn 3");
      assert.deepEqual(h.requestRecords.map((q) => q.status), [200, 200, 200]);
      assert.equal(h.dials.length, 3);
      closeIdle(s);
    });
  });

  it("a connection that carried NTLM or Negotiate authentication is never given to another client", async () => {
    for (const scheme of ["NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==", "Negotiate YIIBnQYGKwYBBQUCoIIBkTCCAY2g"]) {
      await withHarness({}, async (h) => {
        numberedBackends(h);
        const s = state([route("a", ["a.test"], "p")], { p: POOLED });
        assert.equal(await visit(h, s, `Authorization: ${scheme}\r\n`), "one conn 1 request 1");
        assert.equal(await visit(h, s), "one conn 2 request 1", scheme.slice(0, scheme.indexOf(" ")));
        closeIdle(s);
      });
    }
  });

  it("a connection to a backend that went out of service while it answered is not kept; an idle one to it is not taken", async () => {
    await withHarness({}, async (h) => {
      const outOfService = (i: number) => {
        const pool = s.pools.get("p")!; // called once s exists
        pool.pool.state(pool.pool.backends[i]!).healthy = false; // as a health check would decide
      };
      let firstAnswer = true;
      numberedBackends(h, async (o, name, n) => {
        for (let i = 1; ; i++) {
          const head = await o.readHead().catch(() => undefined);
          if (!head) return;
          if (name === "one" && firstAnswer) {
            firstAnswer = false;
            outOfService(0); // decided while this request was in flight
          }
          await o.write(okResponse(`${name} conn ${n} request ${i}`));
        }
      });
      const s = state([route("a", ["a.test"], "p")], { p: { backends: ["http://10.0.0.1", "http://10.0.0.2"], maxIdlePerBackend: 4 } });
      const pool = s.pools.get("p")!;
      assert.equal(await visit(h, s), "one conn 1 request 1");
      assert.equal(pool.idle?.stats().idle, 0, "closed, not pooled");
      pool.pool.state(pool.pool.backends[0]!).healthy = true;
      const { c, done } = open(h, s);
      await c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "two conn 1 request 1", "round robin: the other one's turn");
      await c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "one conn 2 request 1");
      assert.equal(pool.idle?.stats().idle, 2, "both back in the pool between requests");
      outOfService(0);
      await c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "two conn 1 request 2", "the idle connection to the backend out of service is passed over");
      await close(c, done);
      closeIdle(s);
    });
  });

  it("a backend that loses requests on fresh connections: GETs go to another backend, the failing one is ejected; a POST with a body is not resent", async () => {
    await withHarness({}, async (h) => {
      let broken = 0;
      h.origin("10.0.0.1", 80, async (o) => {
        broken++;
        await o.readHead();
        if (broken % 2) o.conn.close(); // goes away (a reset to the gateway)
        else await o.end(); // or closes without a word
        await o.readToEndOrReset();
      });
      const seen: string[] = [];
      h.origin("10.0.0.2", 80, async (o) => {
        for (;;) {
          const head = await o.readHead().catch(() => undefined);
          if (!head) return;
          seen.push(head.startLine);
          await o.write(okResponse("two"));
        }
      });
      const logs: string[] = [];
      const s = state([route("a", ["a.test"], "p")], { p: { backends: ["http://10.0.0.1", "http://10.0.0.2"], ejectAfterFailures: 1 } }, logs);
      const { c, done } = open(h, s);
      await c.write("GET /first HTTP/1.1\r\nHost: a.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "two");
      await close(c, done);
      assert.equal(broken, 1);
      assert.match(logs.join("\n"), /backend http:\/\/10\.0\.0\.1:80 of pool "p" ejected for 60 s: /);
      assert.equal(s.pools.get("p")?.pool.available(s.pools.get("p")!.pool.backends[0]!), false);
      // ejected: the next requests do not even try it
      assert.equal(await visit(h, s), "two");
      assert.equal(broken, 1);
      // a POST with a body is never sent twice: once the only backend left loses it, 502
      const lone = state([route("a", ["a.test"], "p")], { p: { backends: ["http://10.0.0.1"] } });
      const post = open(h, lone);
      await post.c.write("POST /pay HTTP/1.1\r\nHost: a.test\r\nContent-Length: 2\r\n\r\nhi");
      assert.equal((await readResponse(post.c)).head.status, 502);
      await close(post.c, post.done);
      assert.equal(broken, 2);
      assert.deepEqual(seen, ["GET /first HTTP/1.1", "GET / HTTP/1.1"]);
    });
  });

  it("a body-less POST a backend reads and closes on without a word (fresh connection): 502, no other backend sees it; the backend still counts a failure", async () => {
    await withHarness({}, async (h) => {
      const seen: string[] = [];
      for (const address of ["10.0.0.1", "10.0.0.2"]) {
        h.origin(address, 80, async (o) => {
          seen.push(`${address} ${(await o.readHead()).startLine}`);
          await o.end(); // acted on it, then went away: not the race of a reused connection
          await o.readToEndOrReset();
        });
      }
      const logs: string[] = [];
      const s = state([route("a", ["a.test"], "p")], { p: { backends: ["http://10.0.0.1", "http://10.0.0.2"], ejectAfterFailures: 1 } }, logs);
      const { c, done } = open(h, s);
      await c.write("POST /pay?to=bob HTTP/1.1\r\nHost: a.test\r\n\r\n");
      assert.equal((await readResponse(c)).head.status, 502);
      await close(c, done);
      assert.equal(seen.length, 1, `sent once, got ${JSON.stringify(seen)}`);
      assert.match(logs.join("\n"), /ejected for 60 s: /);
    });
  });

  it("client-hash: each original client (behind a trusted proxy too) always reaches its own backend", async () => {
    await withHarness({}, async (h) => {
      numberedBackends(h);
      const s = state([route("a", ["a.test"], "p")], { p: { backends: ["http://10.0.0.1", "http://10.0.0.2"], balance: "client-hash", maxIdlePerBackend: 4 } }, [], { trust: ["127.0.0.1"] });
      const pool = s.pools.get("p")!.pool;
      const names = ["one", "two"];
      const used = new Set<string>();
      for (let round = 0; round < 2; round++) {
        for (let i = 1; i <= 8; i++) {
          const client = `198.51.100.${i}`;
          const expected = names[pool.candidates(client)[0]!.index]!;
          used.add(expected);
          const body = await visit(h, s, `X-Forwarded-For: ${client}\r\n`);
          assert.ok(body.startsWith(`${expected} `), `${client} (round ${round + 1}) reached ${body}, not ${expected}`);
        }
      }
      assert.equal(used.size, 2, "the clients are spread over both backends");
      closeIdle(s);
    });
  });

  it("least-requests: a new request goes to the backend with fewer requests in flight, not the next in turn", async () => {
    await withHarness({}, async (h) => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      h.origin("10.0.0.1", 80, async (o) => {
        for (;;) {
          const head = await o.readHead().catch(() => undefined);
          if (!head) return;
          if (head.startLine.startsWith("GET /slow")) await held;
          await o.write(okResponse(`one ${head.startLine.split(" ")[1]}`));
        }
      });
      h.origin("10.0.0.2", 80, async (o) => {
        for (;;) {
          const head = await o.readHead().catch(() => undefined);
          if (!head) return;
          await o.write(okResponse(`two ${head.startLine.split(" ")[1]}`));
        }
      });
      const ls = state([route("a", ["a.test"], "p")], { p: { backends: ["http://10.0.0.1", "http://10.0.0.2"], balance: "least-requests" } });
      const balanced = ls.pools.get("p")!.pool;
      const slow = open(h, ls);
      await slow.c.write("GET /slow HTTP/1.1\r\nHost: a.test\r\n\r\n"); // to one, which holds it
      await until(() => balanced.state(balanced.backends[0]!).inFlight === 1, 1000, "the slow request in flight");
      const get = async (path: string) => {
        const { c, done } = open(h, ls);
        await c.write(`GET ${path} HTTP/1.1\r\nHost: a.test\r\n\r\n`);
        const body = (await readResponse(c)).body;
        await close(c, done);
        return body;
      };
      // round-robin would now send /b to one again; least-requests keeps it off the busy one
      assert.deepEqual([await get("/a"), await get("/b"), await get("/c")], ["two /a", "two /b", "two /c"]);
      release();
      assert.equal((await readResponse(slow.c)).body, "one /slow");
      await close(slow.c, slow.done);
      assert.equal(balanced.state(balanced.backends[0]!).inFlight, 0);
    });
  });
});
