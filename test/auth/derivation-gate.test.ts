import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashPassword } from "../../src/auth/password-hash.ts";
import { DerivationGate, GateFullError } from "../../src/auth/derivation-gate.ts";
import { createBasicCredentials, DIRECTORY_GATE } from "../../src/auth/proxy-auth.ts";
import { held } from "../helpers/held-task.ts";

describe("DerivationGate", () => {
  it("runs at most `concurrency` tasks at once, queues `queue` more, refuses the rest at once", async () => {
    const gate = new DerivationGate(2, 1);
    const a = held("a");
    const b = held("b");
    const c = held("c");
    const pa = gate.run(a.task);
    const pb = gate.run(b.task);
    const pc = gate.run(c.task);
    assert.deepEqual(gate.load, { running: 2, waiting: 1 });
    await assert.rejects(gate.run(() => Promise.resolve("d")), GateFullError);
    let cStarted = false;
    void pc.then(() => (cStarted = true));
    a.release();
    assert.equal(await pa, "a");
    c.release();
    assert.equal(await pc, "c", "the waiting task took the freed slot");
    assert.ok(cStarted);
    b.release();
    assert.equal(await pb, "b");
    assert.deepEqual(gate.load, { running: 0, waiting: 0 });
  });

  it("a failing task frees its slot too", async () => {
    const gate = new DerivationGate(1, 0);
    await assert.rejects(gate.run(() => Promise.reject(new Error("boom"))), /boom/);
    assert.equal(await gate.run(() => Promise.resolve(1)), 1);
    assert.deepEqual(gate.load, { running: 0, waiting: 0 });
  });

  it("credentials: a check that finds the gate full is refused as busy, not counted against the client", async () => {
    const users = [{ name: "alice", passwordHash: await hashPassword("s3cret", 100_000) }];
    const gate = new DerivationGate(1, 0);
    const credentials = createBasicCredentials(users, { burst: 1, perMinute: 1 }, undefined, gate);
    const header = (p: string) => `Basic ${btoa(`alice:${p}`)}`;
    const checking = credentials.check(header("guess-a"), "Authorization", "192.0.2.1");
    while (gate.load.running === 0) await new Promise((r) => setTimeout(r, 1)); // its derivation runs
    const second = await credentials.check(header("s3cret"), "Authorization", "192.0.2.2");
    const first = await checking;
    assert.deepEqual(first, { ok: false, reason: 'bad credentials for user "alice"' });
    assert.ok(!second.ok && second.busy === true && second.retryAfterMs === 1000, JSON.stringify(second));
    assert.deepEqual(await credentials.check(header("s3cret"), "Authorization", "192.0.2.2"), { ok: true, user: "alice", groups: [] }, "its one allowed failure is still there; a success anyway");
  });
});

describe("the directory gate", () => {
  it("a refusal names directory checks, not password checks", async () => {
    const { concurrency, queue } = DIRECTORY_GATE;
    const tasks = Array.from({ length: concurrency + queue }, () => held(true));
    const runs = tasks.map((t) => DIRECTORY_GATE.run(t.task));
    try {
      await assert.rejects(DIRECTORY_GATE.run(() => Promise.resolve(true)), (e: unknown) => {
        assert.ok(e instanceof GateFullError);
        assert.equal(e.message, `${concurrency} directory checks running and ${queue} waiting, as many as may wait`);
        return true;
      });
    } finally {
      for (const t of tasks) t.release();
      await Promise.all(runs);
    }
    assert.deepEqual(DIRECTORY_GATE.load, { running: 0, waiting: 0 });
  });
});
