import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { watchIdle } from "../../src/flows/idle-watch.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("watchIdle", () => {
  it("calls onIdle once after the quiet time", async () => {
    let calls = 0;
    const w = watchIdle(60, () => calls++);
    await sleep(200);
    assert.equal(calls, 1);
    w.stop();
  });

  it("waits for quiet since the last touch, not since the start", async () => {
    let calls = 0;
    const w = watchIdle(150, () => calls++);
    for (let i = 0; i < 6; i++) {
      await sleep(50);
      w.touch();
    }
    assert.equal(calls, 0, "touched every 50 ms for 300 ms: never quiet for 150 ms");
    await sleep(400);
    assert.equal(calls, 1);
    w.stop();
  });

  it("never fires once stopped, or with a time of 0", async () => {
    let calls = 0;
    watchIdle(40, () => calls++).stop();
    const never = watchIdle(0, () => calls++);
    await sleep(120);
    assert.equal(calls, 0);
    never.stop();
  });
});
