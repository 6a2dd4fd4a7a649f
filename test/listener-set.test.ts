import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/parse.ts";
import type { ListenerConfig } from "../src/config/config.ts";
import type { Conn } from "../src/core/conn.ts";
import { memoryConnPair } from "../src/core/memory-conn.ts";
import type { ListenOptions, Runtime } from "../src/core/runtime.ts";
import { Drain } from "../src/flows/drain.ts";
import { type Accept, ListenerSet } from "../src/listener-set.ts";

/** A runtime whose sockets are records: bound addresses, closed ones, and a way to connect. */
function fakeRuntime() {
  let nextPort = 40000;
  const open = new Map<string, (conn: Conn) => void>();
  const log: string[] = [];
  const busy = new Set<string>();
  const runtime: Pick<Runtime, "listen"> = {
    listen(o: ListenOptions, onConn) {
      const port = o.port === 0 ? nextPort++ : o.port;
      const key = `${o.hostname}:${port}`;
      if (busy.has(key) || open.has(key)) return Promise.reject(new Error("EADDRINUSE"));
      open.set(key, onConn);
      log.push(`bind ${key}${o.reusePort ? " reusePort" : ""}`);
      return Promise.resolve({
        address: { address: o.hostname, port },
        close: () => {
          open.delete(key);
          log.push(`close ${key}`);
          return Promise.resolve();
        },
      });
    },
  };
  /** A connection to `key`; its server side goes to the listener's accept. */
  const connect = (key: string): Conn => {
    const accept = open.get(key);
    if (!accept) throw new Error(`nothing listens on ${key}`);
    const [server, client] = memoryConnPair();
    accept(server);
    return client;
  };
  return { runtime, log, busy, connect };
}

function listeners(...specs: [name: string, listen: string][]): readonly ListenerConfig[] {
  return parseConfig({ listeners: specs.map(([name, listen]) => ({ name, mode: "explicit", listen })) }).listeners;
}

/** Accept callbacks that record which listener (by name and generation) served each connection. */
function server(served: string[], generation: number): (l: ListenerConfig) => Accept {
  return (l) => (conn) => {
    served.push(`${l.name}@${generation}`);
    conn.close();
  };
}

describe("ListenerSet", () => {
  it("keeps the socket of an unchanged listener (a new accept serves it), binds added and moved ones, closes dropped ones", async () => {
    const { runtime, log, connect } = fakeRuntime();
    const set = new ListenerSet(runtime, false);
    const served: string[] = [];
    (await set.prepare(listeners(["a", "127.0.0.1:3128"], ["b", "127.0.0.1:3129"], ["c", "127.0.0.1:0"]))).commit(server(served, 1));
    assert.deepEqual(log.splice(0), ["bind 127.0.0.1:3128", "bind 127.0.0.1:3129", "bind 127.0.0.1:40000"]);
    assert.deepEqual(Object.fromEntries([...set.addresses].map(([n, a]) => [n, a.port])), { a: 3128, b: 3129, c: 40000 });

    const change = await set.prepare(listeners(["a", "127.0.0.1:3128"], ["b", "127.0.0.2:3129"], ["c", "127.0.0.1:0"], ["d", "127.0.0.1:3130"]));
    assert.deepEqual(log.splice(0), ["bind 127.0.0.2:3129", "bind 127.0.0.1:3130"], "only the moved and the added one are bound");
    assert.deepEqual([...change.bound.keys()], ["b", "d"]);
    assert.deepEqual(change.closed, ["b"]);
    connect("127.0.0.1:3129");
    assert.deepEqual(served.splice(0), ["b@1"], "the old socket serves until the commit");
    change.commit(server(served, 2));
    assert.deepEqual(log.splice(0), ["close 127.0.0.1:3129"]);
    for (const key of ["127.0.0.1:3128", "127.0.0.2:3129", "127.0.0.1:40000", "127.0.0.1:3130"]) connect(key);
    assert.deepEqual(served, ["a@2", "b@2", "c@2", "d@2"]);
    assert.throws(() => connect("127.0.0.1:3129"), /nothing listens/);

    (await set.prepare(listeners(["a", "127.0.0.1:3128"]))).commit(server(served, 3));
    assert.deepEqual(log.splice(0).sort(), ["close 127.0.0.1:3130", "close 127.0.0.1:40000", "close 127.0.0.2:3129"]);
    assert.deepEqual([...set.addresses.keys()], ["a"]);
  });

  it("each socket has a drain of its own, a child of the gateway's: a dropped socket's is started and returned", async () => {
    const { runtime, connect } = fakeRuntime();
    const gateway = new Drain();
    const set = new ListenerSet(runtime, false, gateway);
    const drains = new Map<string, Drain>();
    const serve = (l: ListenerConfig, drain: Drain): Accept => {
      drains.set(l.name, drain);
      return (conn) => conn.close();
    };
    assert.deepEqual((await set.prepare(listeners(["a", "127.0.0.1:3128"], ["b", "127.0.0.1:3129"]))).commit(serve), []);
    const [a, b] = [drains.get("a")!, drains.get("b")!];
    assert.notEqual(a, b);
    const dropped = (await set.prepare(listeners(["a", "127.0.0.1:3128"], ["c", "127.0.0.1:3130"]))).commit(serve);
    assert.deepEqual(dropped, [b]);
    assert.deepEqual([a.draining, b.draining, gateway.draining], [false, true, false]);
    assert.equal(drains.get("a"), a, "a kept socket keeps its drain");
    connect("127.0.0.1:3130");
    gateway.start();
    assert.deepEqual([a.draining, drains.get("c")!.draining], [true, true], "the gateway's drain starts every socket's");
  });

  it("a renamed listener at the same fixed address keeps its socket", async () => {
    const { runtime, log, connect } = fakeRuntime();
    const set = new ListenerSet(runtime, false);
    const served: string[] = [];
    (await set.prepare(listeners(["old", "127.0.0.1:3128"]))).commit(server(served, 1));
    const change = await set.prepare(listeners(["new", "127.0.0.1:3128"]));
    assert.deepEqual([change.bound.size, change.closed], [0, ["old"]]);
    change.commit(server(served, 2));
    connect("127.0.0.1:3128");
    assert.deepEqual(served, ["new@2"]);
    assert.deepEqual(log, ["bind 127.0.0.1:3128"]);
  });

  it("a bind that fails refuses the change, naming the listener, and closes what it bound; the old set serves on", async () => {
    const { runtime, log, busy, connect } = fakeRuntime();
    const set = new ListenerSet(runtime, false);
    const served: string[] = [];
    (await set.prepare(listeners(["a", "127.0.0.1:3128"]))).commit(server(served, 1));
    busy.add("127.0.0.1:8080");
    await assert.rejects(
      set.prepare(listeners(["a", "127.0.0.1:3128"], ["b", "127.0.0.1:3129"], ["web", "127.0.0.1:8080"])),
      /^Error: listeners "web": cannot listen on 127\.0\.0\.1:8080: EADDRINUSE$/,
    );
    assert.deepEqual(log.splice(1), ["bind 127.0.0.1:3129", "close 127.0.0.1:3129"]);
    connect("127.0.0.1:3128");
    assert.deepEqual(served, ["a@1"]);
    assert.deepEqual([...set.addresses.keys()], ["a"]);
    // the next change is not held up by the refused one
    (await set.prepare(listeners(["a", "127.0.0.1:3128"], ["b", "127.0.0.1:3129"]))).commit(server(served, 2));
    assert.deepEqual([...set.addresses.keys()], ["a", "b"]);
  });

  it("a connection to a new socket before the commit waits for it; abort closes it with the socket", async () => {
    const { runtime, log, connect } = fakeRuntime();
    const set = new ListenerSet(runtime, false);
    const served: string[] = [];
    (await set.prepare(listeners(["a", "127.0.0.1:3128"]))).commit(server(served, 1));
    const change = await set.prepare(listeners(["a", "127.0.0.1:3128"], ["b", "127.0.0.1:3129"]));
    connect("127.0.0.1:3129");
    assert.deepEqual(served, []);
    change.commit(server(served, 2));
    assert.deepEqual(served, ["b@2"]);

    const aborted = await set.prepare(listeners(["a", "127.0.0.1:3128"], ["b", "127.0.0.1:3129"], ["c", "127.0.0.1:3130"]));
    const waiting = connect("127.0.0.1:3130");
    await aborted.abort();
    await assert.rejects(waiting.readable.getReader().read(), /reset/, "the waiting connection is closed");
    assert.deepEqual(log.slice(-2), ["bind 127.0.0.1:3130", "close 127.0.0.1:3130"]);
    assert.throws(() => aborted.commit(server(served, 3)), /already committed or aborted/);
    assert.deepEqual([...set.addresses.keys()], ["a", "b"]);
  });

  it("binds at the ports given (a worker at the primary's) with reusePort, and prepares one change at a time", async () => {
    const { runtime, log } = fakeRuntime();
    const set = new ListenerSet(runtime, true);
    (await set.prepare(listeners(["a", "127.0.0.1:0"]), { a: 5000 })).commit(server([], 1));
    assert.deepEqual(log.splice(0), ["bind 127.0.0.1:5000 reusePort"]);
    const first = await set.prepare(listeners(["a", "127.0.0.1:0"], ["b", "127.0.0.1:0"]), { a: 5000, b: 5001 });
    await assert.rejects(set.prepare(listeners(["a", "127.0.0.1:0"]), { a: 5000 }), /Another listener change is not yet committed or aborted/);
    first.commit(server([], 2));
    (await set.prepare(listeners(["a", "127.0.0.1:0"]), { a: 5000 })).commit(server([], 3));
    assert.deepEqual(log, ["bind 127.0.0.1:5001 reusePort", "close 127.0.0.1:5001"]);
    await set.close();
    assert.deepEqual(log.at(-1), "close 127.0.0.1:5000");
  });
});
