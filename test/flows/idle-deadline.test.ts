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

  it("hold() keeps a wait from timing out until resume(), which gives it its full limit from then", async () => {
    const idle = new IdleDeadline(50);
    idle.hold();
    const never = pending<number>();
    let stalled = 0;
    const waited = idle.race(never.promise, () => stalled++);
    waited.catch(() => {});
    await sleep(150);
    assert.equal(stalled, 0, "held: 150 ms past a 50 ms limit and still waiting");
    const resumed = performance.now();
    idle.resume();
    await assert.rejects(waited, FlowTimeoutError);
    assert.ok(performance.now() - resumed >= 45, "the limit counts from resume()");
    assert.equal(stalled, 1);
    // a held deadline with nothing pending, then resumed: the next wait times out as usual
    idle.hold();
    idle.resume();
    const t0 = performance.now();
    await assert.rejects(idle.race(pending<number>().promise, () => {}), FlowTimeoutError);
    assert.ok(performance.now() - t0 >= 45);
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
