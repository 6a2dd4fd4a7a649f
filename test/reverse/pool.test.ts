import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseBackendUrl } from "../../src/reverse/backend.ts";
import { BackendPool } from "../../src/reverse/pool.ts";

function pool(n: number, eject = 1, ejectMs = 10_000) {
  let now = 1_000_000;
  const clock = { advance: (ms: number) => (now += ms) };
  const urls = Array.from({ length: n }, (_, i) => parseBackendUrl(`http://10.0.0.${i + 1}:8080`));
  return { p: new BackendPool("p", urls, { ejectAfterFailures: eject, ejectMs, now: () => now }), clock };
}

const order = (p: BackendPool) => p.candidates().map((b) => b.index);

describe("reverse backend pool", () => {
  it("rotates round-robin: each call starts one further and lists every available backend", () => {
    const { p } = pool(3);
    assert.deepEqual(order(p), [0, 1, 2]);
    assert.deepEqual(order(p), [1, 2, 0]);
    assert.deepEqual(order(p), [2, 0, 1]);
    assert.deepEqual(order(p), [0, 1, 2]);
  });

  it("client-hash: a client's backend stays its own; when it is out only its clients move, and come back", () => {
    const urls = Array.from({ length: 3 }, (_, i) => parseBackendUrl(`http://10.0.0.${i + 1}:8080`));
    let now = 1_000_000;
    const p = new BackendPool("p", urls, { ejectAfterFailures: 1, ejectMs: 10_000, balance: "client-hash", now: () => now });
    const clients = Array.from({ length: 60 }, (_, i) => `192.0.2.${i}`);
    const home = new Map(clients.map((c) => [c, p.candidates(c)[0]!.index]));
    for (const c of clients) {
      assert.equal(p.candidates(c)[0]!.index, home.get(c), "the same backend call after call");
      assert.equal(p.candidates(c).length, 3, "the others follow, for fail-over");
    }
    assert.equal(new Set(home.values()).size, 3, "the clients are spread over every backend");
    const out = p.backends[1]!;
    p.connectFailed(out, "ECONNREFUSED"); // ejected
    for (const c of clients) {
      const now0 = p.candidates(c)[0]!.index;
      if (home.get(c) === 1) assert.notEqual(now0, 1);
      else assert.equal(now0, home.get(c), "a client of another backend stays where it is");
    }
    now += 10_001;
    for (const c of clients) assert.equal(p.candidates(c)[0]!.index, home.get(c), "back home once the ejection ended");
    // without a key (no client address): in turn, as round-robin
    assert.deepEqual([0, 1, 2].map(() => p.candidates()[0]!.index), [0, 1, 2]);
  });

  it("least-requests: fewest requests in flight first, in turn among equals; an ended request counts no more", () => {
    const urls = Array.from({ length: 3 }, (_, i) => parseBackendUrl(`http://10.0.0.${i + 1}:8080`));
    const p = new BackendPool("p", urls, { ejectAfterFailures: 1, ejectMs: 10_000, balance: "least-requests" });
    const [b0, b1] = p.backends;
    p.began(b0!);
    p.began(b0!);
    p.began(b1!);
    assert.deepEqual(order(p), [2, 1, 0]);
    assert.deepEqual(order(p), [2, 1, 0], "the least loaded stays first");
    p.ended(b0!);
    assert.equal(p.state(b0!).inFlight, 1);
    p.ended(b1!);
    p.ended(b0!);
    p.ended(b0!); // never below 0
    assert.equal(p.state(b0!).inFlight, 0);
    // all idle again: plain rotation
    assert.deepEqual([order(p), order(p), order(p)], [[2, 0, 1], [0, 1, 2], [1, 2, 0]]);
    // round-robin pools keep their order whatever is in flight
    const { p: rr } = pool(2);
    rr.began(rr.backends[0]!);
    assert.deepEqual(order(rr), [0, 1]);
  });

  it("ejects a backend after the configured consecutive connect failures, for the configured time", () => {
    const { p, clock } = pool(2, 2, 5_000);
    const b1 = p.backends[1]!;
    assert.equal(p.connectFailed(b1, "ECONNREFUSED"), false);
    assert.equal(p.available(b1), true);
    assert.equal(p.connectFailed(b1, "ECONNREFUSED"), true);
    assert.equal(p.available(b1), false);
    assert.equal(p.state(b1).lastError, "ECONNREFUSED");
    // skipped while ejected, whatever the round-robin position
    for (let i = 0; i < 4; i++) assert.deepEqual(order(p), [0]);
    clock.advance(4_999);
    assert.deepEqual(order(p), [0]);
    clock.advance(1);
    assert.equal(p.available(b1), true);
    const seen = new Set([order(p)[0], order(p)[0]]);
    assert.deepEqual([...seen].sort(), [0, 1]); // back in the rotation
  });

  it("a successful connect resets the failure count", () => {
    const { p } = pool(1, 2);
    const b = p.backends[0]!;
    p.connectFailed(b, "x");
    p.connected(b);
    assert.equal(p.connectFailed(b, "x"), false);
    assert.equal(p.available(b), true);
  });

  it("ejectAfterFailures 0 never ejects", () => {
    const { p } = pool(1, 0);
    const b = p.backends[0]!;
    for (let i = 0; i < 10; i++) assert.equal(p.connectFailed(b, "x"), false);
    assert.equal(p.available(b), true);
  });

  it("skips unhealthy backends, and tries every backend when none is available", () => {
    const { p } = pool(3);
    p.state(p.backends[0]!).healthy = false;
    assert.deepEqual(order(p), [1, 2]);
    p.state(p.backends[1]!).healthy = false;
    p.connectFailed(p.backends[2]!, "refused");
    // nothing available: all of them, still rotating
    const a = order(p);
    const b = order(p);
    assert.equal(a.length, 3);
    assert.deepEqual([...a].sort(), [0, 1, 2]);
    assert.notEqual(a[0], b[0]);
  });

  it("refuses an empty pool", () => {
    assert.throws(() => new BackendPool("e", [], { ejectAfterFailures: 1, ejectMs: 1 }), RangeError);
  });
});
