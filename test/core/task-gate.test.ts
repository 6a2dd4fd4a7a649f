import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { GateFullError, TaskGate } from "../../src/core/task-gate.ts";
import { held } from "../helpers/held-task.ts";

describe("TaskGate", () => {
  it("names the tasks and the bound in its refusal", async () => {
    const gate = new TaskGate(1, 1, "leaf mints");
    const a = held("a");
    const b = held("b");
    const pa = gate.run(a.task);
    const pb = gate.run(b.task);
    await assert.rejects(gate.run(() => Promise.resolve("c")), (e) => {
      assert.ok(e instanceof GateFullError);
      assert.equal(e.message, "1 leaf mints running and 1 waiting, as many as may wait");
      return true;
    });
    a.release();
    b.release();
    assert.deepEqual([await pa, await pb], ["a", "b"]);
  });

  it("a waiter whose signal aborts leaves the queue: its place is free, it never runs, the next one still does", async () => {
    const gate = new TaskGate(1, 1);
    const a = held("a");
    const b = held("b");
    const c = held("c");
    const pa = gate.run(a.task);
    const quit = new AbortController();
    const pb = gate.run(b.task, quit.signal);
    assert.deepEqual(gate.load, { running: 1, waiting: 1 });
    quit.abort(new Error("client went away"));
    await assert.rejects(pb, /client went away/);
    assert.deepEqual(gate.load, { running: 1, waiting: 0 });
    const pc = gate.run(c.task); // would be refused if b still held the one place
    a.release();
    assert.equal(await pa, "a");
    c.release();
    assert.equal(await pc, "c");
    assert.equal(b.state.began, false);
    assert.deepEqual(gate.load, { running: 0, waiting: 0 });
  });

  it("an aborted signal is refused before it takes a slot; one that aborts after its task began changes nothing", async () => {
    const gate = new TaskGate(1, 0);
    const quit = new AbortController();
    quit.abort(new Error("too late"));
    await assert.rejects(gate.run(() => Promise.resolve(1), quit.signal), /too late/);
    assert.deepEqual(gate.load, { running: 0, waiting: 0 });
    const later = new AbortController();
    const a = held("a");
    const pa = gate.run(a.task, later.signal);
    later.abort(new Error("ignored"));
    a.release();
    assert.equal(await pa, "a");
    assert.deepEqual(gate.load, { running: 0, waiting: 0 });
  });

  it("a waiter aborting after it was handed the slot still runs, and gives the slot back", async () => {
    const gate = new TaskGate(1, 1);
    const a = held("a");
    const b = held("b");
    const pa = gate.run(a.task);
    const quit = new AbortController();
    const pb = gate.run(b.task, quit.signal);
    a.release();
    assert.equal(await pa, "a"); // the slot went to b
    quit.abort(new Error("ignored"));
    b.release();
    assert.equal(await pb, "b");
    assert.deepEqual(gate.load, { running: 0, waiting: 0 });
  });
});
