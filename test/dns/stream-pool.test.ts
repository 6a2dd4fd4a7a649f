import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Conn } from "../../src/core/conn.ts";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import type { DnsServer } from "../../src/dns/server.ts";
import { DnsStreamPool } from "../../src/dns/stream-pool.ts";
import { TYPE_A, TYPE_AAAA } from "../../src/dns/wire.ts";
import { buildResponse, questionOf, serveDnsTcp } from "./_dns-message.ts";

const SERVER: DnsServer = { address: "10.0.0.53", port: 853, tlsName: "dns.test" };

/** A DNS server over in-memory connections: counts connections and queries, answers each (or as `answer` says). */
function server(answer: (name: string, query: Uint8Array, connection: number) => Uint8Array | "close" | "silent" = (name, q) => buildResponse(q, { answers: [{ name, ttl: 60, address: "192.0.2.1" }] })) {
  const conns: Conn[] = [];
  /** Whether each connection has ended (the client closed it, or the server). */
  const ended: boolean[] = [];
  let queries = 0;
  const dial = (_s: DnsServer, signal: AbortSignal): Promise<Conn> => {
    signal.throwIfAborted();
    const [client, far] = memoryConnPair();
    const n = conns.push(far) - 1;
    ended.push(false);
    void serveDnsTcp(far, (q) => (queries++, answer(questionOf(q).name, q, n))).then(() => (ended[n] = true));
    return Promise.resolve(client);
  };
  return { dial, conns, ended, queries: () => queries };
}

const ask = (pool: DnsStreamPool, name: string, ids: [number, number] = [1, 2], signal = AbortSignal.timeout(2000)) =>
  pool.exchange(SERVER, name, [{ id: ids[0], type: TYPE_A }, { id: ids[1], type: TYPE_AAAA }], signal);

describe("DnsStreamPool", () => {
  it("keeps the connection for the next lookups, and closes it when idle", async () => {
    const s = server();
    const pool = new DnsStreamPool(s.dial, 50);
    for (const name of ["a.test", "b.test", "c.test"]) {
      const answers = await ask(pool, name);
      assert.deepEqual([...answers.keys()].sort(), [1, 2]);
      assert.deepEqual(answers.get(1)!.addresses, ["192.0.2.1"]);
    }
    assert.equal(s.conns.length, 1, "one connection for three lookups");
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(s.ended[0], true, "closed after idleMs");
    await ask(pool, "d.test");
    assert.equal(s.conns.length, 2, "a new one after that");
    pool.close();
  });

  it("concurrent lookups take a connection each; later ones reuse them", async () => {
    const s = server();
    const pool = new DnsStreamPool(s.dial, 1000);
    const got = await Promise.all(["a.test", "b.test", "c.test"].map((name) => ask(pool, name, [7, 8])));
    for (const answers of got) assert.deepEqual([...answers.keys()].sort(), [7, 8]);
    assert.equal(s.conns.length, 3);
    await Promise.all(["d.test", "e.test", "f.test"].map((name) => ask(pool, name)));
    assert.equal(s.conns.length, 3, "the kept ones served the next three");
    pool.close();
  });

  it("sends a lookup's queries together on a new connection, one by one on a kept one", async () => {
    // what the server reads at a time: so many queries per chunk
    const chunks: number[] = [];
    const dial = (): Promise<Conn> => {
      const [client, far] = memoryConnPair();
      void (async () => {
        const reader = far.readable.getReader();
        const writer = far.writable.getWriter();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          let at = 0;
          let n = 0;
          while (at + 2 <= value.length) {
            const length = (value[at]! << 8) | value[at + 1]!;
            const q = value.slice(at + 2, at + 2 + length);
            const reply = buildResponse(q, { answers: [{ name: questionOf(q).name, ttl: 60, address: "192.0.2.1" }] });
            await writer.write(new Uint8Array([reply.length >> 8, reply.length & 0xff, ...reply]));
            at += 2 + length;
            n++;
          }
          chunks.push(n);
        }
      })().catch(() => {}); // closed by the pool
      return Promise.resolve(client);
    };
    const pool = new DnsStreamPool(dial, 1000);
    await ask(pool, "a.test");
    await ask(pool, "b.test");
    assert.deepEqual(chunks, [2, 1, 1], "A and AAAA at once, then each after the answer before it");
    pool.close();
  });

  it("with idleMs 0, every exchange has its own connection", async () => {
    const s = server();
    const pool = new DnsStreamPool(s.dial, 0);
    await ask(pool, "a.test");
    await ask(pool, "b.test");
    assert.equal(s.conns.length, 2);
  });

  it("a server that closed a connection it had used is asked again on a new one", async () => {
    const s = server();
    const pool = new DnsStreamPool(s.dial, 10_000);
    await ask(pool, "a.test");
    s.conns[0]!.close(); // the server closes the idle connection as the next lookup starts
    const answers = await ask(pool, "b.test");
    assert.equal(answers.size, 2);
    assert.equal(s.conns.length, 2);
    pool.close();
  });

  it("a fresh connection closed without an answer fails the exchange; garbage fails it and closes", async () => {
    const closing = server(() => "close");
    await assert.rejects(ask(new DnsStreamPool(closing.dial, 1000), "a.test"), /connection closed without an answer/);
    assert.equal(closing.conns.length, 1, "not asked again");
    const garbage = server(() => new Uint8Array([1, 2, 3]));
    const pool = new DnsStreamPool(garbage.dial, 1000);
    await assert.rejects(ask(pool, "a.test"), /bad DNS message length 3/);
    await assert.rejects(ask(pool, "b.test"), /bad DNS message length 3/);
    assert.equal(garbage.conns.length, 2, "the broken connection is not reused");
  });

  it("a lookup that times out closes its connection: the next lookup takes a new one", async () => {
    const s = server((name, q) => (name === "slow.test" ? "silent" : buildResponse(q, { answers: [{ name, ttl: 60, address: "192.0.2.1" }] })));
    const pool = new DnsStreamPool(s.dial, 1000);
    await ask(pool, "warm.test");
    await assert.rejects(ask(pool, "slow.test", [1, 2], AbortSignal.timeout(100)));
    assert.equal((await ask(pool, "other.test")).size, 2);
    assert.equal(s.conns.length, 2);
    assert.equal(s.ended[0], true);
    pool.close();
  });

  it("close() fails the lookups under way and dials nothing more", async () => {
    const s = server((name, q) => (name === "slow.test" ? "silent" : buildResponse(q, { answers: [{ name, ttl: 60, address: "192.0.2.1" }] })));
    const pool = new DnsStreamPool(s.dial, 10_000);
    await ask(pool, "warm.test");
    const pending = ask(pool, "slow.test");
    await new Promise((r) => setTimeout(r, 10));
    pool.close();
    await assert.rejects(pending, /resolver closed/);
    await assert.rejects(ask(pool, "later.test"), /resolver closed/);
    assert.equal(s.conns.length, 1, "no connection dialled after close");
    assert.equal(s.ended[0], true);
  });
});
