import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Conn } from "../../src/core/conn.ts";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import { ConnReader } from "../../src/flows/conn-reader.ts";
import { type PooledUpstream, UpstreamPool } from "../../src/flows/upstream-pool.ts";
import { until } from "../helpers/flow-harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A pooled connection with its origin side, whose `closed` turns true when the pool closes it. */
function connection(name: string) {
  const [near, far] = memoryConnPair();
  let closed = false;
  const conn: Conn = {
    readable: near.readable,
    writable: near.writable,
    remote: near.remote,
    local: near.local,
    close: () => {
      closed = true;
      near.close();
    },
  };
  const item: PooledUpstream<string> = { conn, reader: new ConnReader(conn), served: 1, info: name };
  return { item, far, closed: () => closed };
}

async function send(conn: Conn, text: string): Promise<void> {
  const w = conn.writable.getWriter();
  await w.write(enc.encode(text));
  w.releaseLock();
}

const options = { maxIdle: 10, maxIdlePerKey: 2, idleTimeoutMs: 5000 };

describe("UpstreamPool", () => {
  it("hands out the most recently returned connection of a key, each once", () => {
    const pool = new UpstreamPool<string>(options);
    const a = connection("a");
    const b = connection("b");
    pool.give("k", a.item);
    pool.give("k", b.item);
    assert.equal(pool.take("other"), undefined);
    assert.equal(pool.take("k")?.info, "b");
    assert.equal(pool.take("k")?.info, "a");
    assert.equal(pool.take("k"), undefined);
    assert.deepEqual(pool.stats(), { idle: 0, reused: 2, expired: 0 });
    assert.ok(!a.closed() && !b.closed());
    pool.close();
  });

  it("keeps at most maxIdlePerKey per key and maxIdle in all, closing the coldest", () => {
    const pool = new UpstreamPool<string>({ ...options, maxIdle: 3 });
    const c = ["a", "b", "c", "d", "e"].map(connection);
    pool.give("k", c[0]!.item);
    pool.give("k", c[1]!.item);
    pool.give("k", c[2]!.item); // k is full: a goes
    assert.ok(c[0]!.closed());
    pool.give("j", c[3]!.item);
    pool.give("j", c[4]!.item); // the pool is full: the oldest (b) goes
    assert.ok(c[1]!.closed());
    assert.equal(pool.stats().idle, 3);
    assert.equal(pool.take("k")?.info, "c");
    assert.equal(pool.take("k"), undefined);
    assert.equal(pool.take("j")?.info, "e");
    pool.close();
    assert.ok(c[3]!.closed(), "close() closes what is idle");
    const late = connection("late");
    pool.give("k", late.item);
    assert.ok(late.closed(), "a closed pool keeps nothing");
  });

  it("drops a connection the origin closes, or sends anything on, while it is idle", async () => {
    const pool = new UpstreamPool<string>(options);
    const fin = connection("fin");
    const chatty = connection("chatty");
    pool.give("fin", fin.item);
    pool.give("chatty", chatty.item);
    await fin.far.writable.close();
    await send(chatty.far, "HTTP/1.1 408 Request Timeout\r\n\r\n");
    await until(() => fin.closed() && chatty.closed(), 1000, "both dropped");
    assert.equal(pool.take("fin"), undefined);
    assert.equal(pool.take("chatty"), undefined);
    assert.deepEqual(pool.stats(), { idle: 0, reused: 0, expired: 2 });
  });

  it("closes a connection idle for idleTimeoutMs", async () => {
    const pool = new UpstreamPool<string>({ ...options, idleTimeoutMs: 100 });
    const a = connection("a");
    pool.give("k", a.item);
    await until(() => a.closed(), 1000, "idle timeout");
    assert.equal(pool.take("k"), undefined);
  });

  it("a taken connection's next read gets what the origin sends then (the watch is handed over)", async () => {
    const pool = new UpstreamPool<string>(options);
    const a = connection("a");
    pool.give("k", a.item);
    const taken = pool.take("k")!;
    // the answer may come before its new owner reads, or while it waits: it gets it once
    await send(a.far, "HTTP/1.1 200 OK\r\n\r\n");
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(dec.decode(await taken.reader.read()), "HTTP/1.1 200 OK\r\n\r\n");
    const next = taken.reader.read();
    await send(a.far, "second");
    assert.equal(dec.decode(await next), "second");
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(!a.closed(), "the watcher let go of it");
    assert.equal(pool.stats().expired, 0);
    a.item.conn.close();
  });

  it("maxIdle 0 keeps nothing", () => {
    const pool = new UpstreamPool<string>({ ...options, maxIdle: 0 });
    const a = connection("a");
    pool.give("k", a.item);
    assert.ok(a.closed());
    assert.equal(pool.take("k"), undefined);
  });
});
