import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FlowTimeoutError, IdleDeadline } from "../../src/flows/idle-deadline.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A promise that settles only when told to. */
function pending<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("IdleDeadline", () => {
  it("settles as the awaited promise does", async () => {
    const idle = new IdleDeadline(1000);
    try {
      assert.equal(await idle.race(Promise.resolve(7), () => assert.fail("no timeout")), 7);
      await assert.rejects(idle.race(Promise.reject(new Error("boom")), () => assert.fail("no timeout")), /boom/);
    } finally {
      idle.stop();
    }
  });

  it("gives up on a wait that outlasts the limit: calls onTimeout, rejects with FlowTimeoutError", async () => {
    const idle = new IdleDeadline(40);
    let stalled = 0;
    const never = pending<number>();
    const t0 = performance.now();
    await assert.rejects(idle.race(never.promise, () => stalled++), (e: unknown) => e instanceof FlowTimeoutError && /40 ms/.test(e.message));
    assert.ok(performance.now() - t0 >= 35, "not before its time");
    assert.equal(stalled, 1);
    idle.stop();
  });

  it("touch() counts the pending wait from now: kept alive past the limit, then times out once left alone", async () => {
    const idle = new IdleDeadline(60);
    const never = pending<number>();
    let stalled = 0;
    const t0 = performance.now();
    const waited = idle.race(never.promise, () => stalled++);
    waited.catch(() => {});
    for (let i = 0; i < 5; i++) {
      await sleep(30);
      idle.touch();
    }
    assert.equal(stalled, 0, "150 ms of touches every 30 ms keep a 60 ms wait alive");
    await assert.rejects(waited, FlowTimeoutError);
    assert.ok(performance.now() - t0 >= 200, "it times out 60 ms after the last touch, not before");
    assert.equal(stalled, 1);
    idle.touch(); // nothing pending: no effect, no throw
    idle.stop();
  });

  it("gives each wait the whole limit: short waits adding up to more than it do not time out", async () => {
    // the timer, armed by the first wait, fires during a later one and must re-arm for the rest
    const idle = new IdleDeadline(150);
    try {
      const t0 = performance.now();
      for (let i = 0; i < 10; i++) await idle.race(sleep(25), () => assert.fail("each wait was well within 150 ms"));
      assert.ok(performance.now() - t0 >= 240);
    } finally {
      idle.stop();
    }
  });

  it("times out a wait that begins after an earlier one timed out", async () => {
    const idle = new IdleDeadline(30);
    await assert.rejects(idle.race(pending<void>().promise, () => {}), FlowTimeoutError);
    await assert.rejects(idle.race(pending<void>().promise, () => {}), FlowTimeoutError);
    idle.stop();
  });

  it("after stop() nothing times out", async () => {
    const idle = new IdleDeadline(20);
    const p = pending<string>();
    const r = idle.race(p.promise, () => assert.fail("stopped"));
    idle.stop();
    await sleep(50);
    p.resolve("late");
    assert.equal(await r, "late");
  });

  it("refuses overlapping waits and a limit that is not positive", () => {
    const idle = new IdleDeadline(1000);
    void idle.race(pending<void>().promise, () => {});
    assert.throws(() => idle.race(Promise.resolve(), () => {}), /already pending/);
    idle.stop();
    assert.throws(() => new IdleDeadline(0), RangeError);
    assert.throws(() => new IdleDeadline(Number.NaN), RangeError);
  });
});
