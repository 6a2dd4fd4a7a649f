import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { WorkerPool } from "../../src/bin/worker-pool.ts";
import { mergeExpositions } from "../../src/metrics/merge.ts";
import { type SignInCounts, SignInThrottle } from "../../src/auth/sign-in-throttle.ts";
import { SignInBroker } from "../../src/workers/sign-in-broker.ts";
import { alive } from "../helpers/process-alive.ts";

const fakeWorker = fileURLToPath(new URL("./fake-worker.mjs", import.meta.url));
const query = (limit: number) => ({ filter: {}, sort: "age" as const, limit });
const until = async (what: string, done: () => boolean, ms = 5000) => {
  for (const end = Date.now() + ms; !done(); await new Promise((r) => setTimeout(r, 20))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
};

describe("WorkerPool: questions to a worker", { timeout: 30_000 }, () => {
  it("resolves to the answer with the same req; to undefined on silence, exit, or for no serving worker", async () => {
    const said: string[] = [];
    const pool = new WorkerPool({
      count: 1,
      command: ["node", fakeWorker],
      startMessage: (index) => ({ t: "start", index, count: 2, raw: {}, base: "/", ports: {}, self: [] }),
      onRecord: () => {},
      say: (line) => said.push(line),
      restartDelayMs: 60_000, // not restarted within the test
    });
    await pool.start();
    try {
      const answers = await Promise.all([pool.ask(1, { t: "connections", query: query(7) }, 5000), pool.ask(1, { t: "connections", query: query(9) }, 5000)]);
      assert.deepEqual(answers.map((a) => a?.t === "connections" && a.total), [7, 9], "each answer reaches its own question");
      assert.deepEqual(await pool.ask(1, { t: "close-connections", ids: ["1-1", "1-5", "1-2"], reason: "r" }, 5000), { t: "closed", req: 3, closed: ["1-1", "1-2"] });
      const started = Date.now();
      assert.equal(await pool.ask(1, { t: "connections", query: query(1) }, 300), undefined, "no answer in time");
      assert.ok(Date.now() - started >= 250);
      assert.equal(await pool.ask(2, { t: "connections", query: query(7) }, 5000), undefined, "no worker 2");
      const dying = Date.now();
      assert.equal(await pool.ask(1, { t: "close-connections", ids: ["1-1", "1-99"], reason: "r" }, 20_000), undefined, "the worker exited first");
      assert.ok(Date.now() - dying < 10_000, "answered by the exit, not the timeout");
      assert.equal(await pool.ask(1, { t: "connections", query: query(7) }, 5000), undefined, "the worker is not serving");
      assert.match(said.join("\n"), /worker 1 \(pid \d+\) exited with code 3/);
    } finally {
      await pool.close(0);
    }
  });
});

describe("WorkerPool: sign-ins counted by the primary", { timeout: 30_000 }, () => {
  const poolWith = (raw: unknown, broker: SignInBroker) =>
    new WorkerPool({
      count: 1,
      command: ["node", fakeWorker],
      startMessage: (index) => ({ t: "start", index, count: 2, raw, base: "/", ports: {}, self: [] }),
      onRecord: () => {},
      say: () => {},
      signIns: broker,
      restartDelayMs: 60_000,
    });
  const until = async (what: string, done: () => boolean) => {
    for (const end = Date.now() + 5000; !done(); await new Promise((r) => setTimeout(r, 20))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  };

  it("a worker's checks are answered from the primary's counts and ended as the worker says", async () => {
    const throttle = new SignInThrottle({ burst: 10, perMinute: 10, perUser: { failures: 2, resetMinutes: 15 } }, () => 0);
    const ended: string[] = [];
    const counted: SignInCounts = {
      attempt(name, client) {
        const a = throttle.attempt(name, client);
        if (!a.ok) return a;
        return {
          ok: true,
          succeeded: () => (ended.push("succeeded"), a.succeeded()),
          failed: (o) => (ended.push("failed"), a.failed(o)),
          uncounted: () => (ended.push("uncounted"), a.uncounted()),
        };
      },
      forgetFamiliar: () => {},
    };
    const broker = new SignInBroker(() => counted);
    const signIns = [
      { name: "alice", client: "192.0.2.1", outcome: "failed" },
      { name: "alice", client: "192.0.2.2", outcome: "failed" },
      { name: "bob", client: "192.0.2.3", outcome: "uncounted" },
    ];
    const pool = poolWith({ signIns }, broker);
    await pool.start();
    try {
      await until("the checks to end", () => ended.length === 3);
      assert.deepEqual(ended.sort(), ["failed", "failed", "uncounted"]);
      assert.equal(broker.open, 0);
      const alice = throttle.attempt("alice", "198.51.100.1");
      assert.ok(!alice.ok && alice.by === "user", "two failures through the worker spent alice's allowance");
      const bob = throttle.attempt("bob", "198.51.100.1");
      assert.ok(bob.ok, "bob's check was uncounted");
    } finally {
      await pool.close(0);
    }
  });

  it("lines from a worker that has exited (a descendant holding its output) start no check", async () => {
    const throttle = new SignInThrottle({ burst: 10, perMinute: 10, perUser: { failures: 3, resetMinutes: 15 } }, () => 0);
    const broker = new SignInBroker(() => throttle);
    const pool = poolWith({ lateSignIns: true }, broker);
    await pool.start();
    await new Promise((r) => setTimeout(r, 800)); // the descendant wrote after the exit
    await pool.close(0);
    assert.equal(broker.open, 0);
    assert.ok(throttle.attempt("alice", "198.51.100.1").ok, "alice is not held by checks no one will end");
  });
});

/**
 * A pool of one fake worker restarted after `restartDelayMs`, whose nth start (from 1) gets
 * `rawFor(n)`; `spawns()` says how many starts there were.
 */
function restartingPool(rawFor: (n: number) => Record<string, unknown>, options: { say?: (line: string) => void; onRecord?: (rule: string) => void; restartDelayMs?: number; drainMs?: number } = {}) {
  let spawns = 0;
  const pool = new WorkerPool({
    count: 1,
    command: ["node", fakeWorker],
    startMessage: (index) => ({ t: "start", index, count: 2, raw: rawFor(++spawns), base: "/", ports: {}, self: [] }),
    onRecord: (record) => options.onRecord?.(String(record.rule)),
    say: options.say ?? (() => {}),
    restartDelayMs: options.restartDelayMs ?? 50,
    ...(options.drainMs === undefined ? {} : { drainMs: () => options.drainMs! }),
  });
  return { pool, spawns: () => spawns };
}

describe("WorkerPool: restarts", { timeout: 30_000 }, () => {
  it("a restart that fails before the worker is ready is tried again, later each time", async () => {
    const said: string[] = [];
    // the 1st run serves, then dies; the 2nd dies while starting (a file briefly unreadable); the 3rd serves
    const { pool, spawns } = restartingPool((n) => (n === 1 ? { exitAfterMs: 100 } : n === 2 ? { exitBeforeReady: true } : {}), { say: (line) => said.push(line) });
    await pool.start();
    try {
      await until("a third start that serves", () => spawns() >= 3 && pool.status()[0]!.ready);
      assert.equal(pool.status()[0]?.restarts, 2);
      assert.match(said.join("\n"), /worker 1 \(pid \d+\) exited with code 5 before it was ready; restarting it in 200 ms/);
    } finally {
      await pool.close(0);
    }
  });

  it("the first start's failure is start()'s to report, and nothing is restarted", async () => {
    const { pool, spawns } = restartingPool(() => ({ exitBeforeReady: true }), { restartDelayMs: 20 });
    await assert.rejects(pool.start(), /worker 1 exited with code 5 before it was ready/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(spawns(), 1);
    await pool.close(0);
  });

  it("a worker being restarted when a reload is broadcast gets the new config once it is ready", async () => {
    const rules: string[] = [];
    let config: Record<string, unknown> = { generation: 1 };
    // as serve.ts does: the start message carries the config in force at the spawn.
    // The 1st run serves, then dies; the restart takes 800 ms to be ready.
    const { pool, spawns } = restartingPool((n) => ({ ...config, ...(n === 1 ? { exitAfterMs: 100 } : { readyDelayMs: 800 }) }), { onRecord: (rule) => rules.push(rule) });
    await pool.start();
    try {
      await until("the restart to be spawned", () => spawns() === 2);
      await new Promise((r) => setTimeout(r, 100)); // still starting
      config = { generation: 2 };
      pool.broadcast({ t: "config", raw: config, ports: {} });
      await until("the config to reach the restarted worker", () => rules.length > 0);
      assert.deepEqual(rules, [JSON.stringify({ generation: 2 })]);
      // a worker started with the config in force gets nothing more
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(rules.length, 1);
    } finally {
      await pool.close(0);
    }
  });

  it("a worker that refuses a config the primary took is replaced by one started with it, while it drains", async () => {
    const said: string[] = [];
    const rules: string[] = [];
    let config: Record<string, unknown> = { generation: 1 };
    const counted = "# TYPE x_total counter\nx_total 1000\n";
    const fresh = "# TYPE x_total counter\nx_total 3\n";
    // the 1st worker drains for 800 ms when told to
    const { pool, spawns } = restartingPool((n) => ({ ...config, ...(n === 1 ? { metrics: counted, drainMs: 800 } : { metrics: fresh }) }), {
      say: (line) => said.push(line),
      onRecord: (rule) => rules.push(rule),
      drainMs: 5000,
    });
    const total = () => Number(/^x_total (\S+)$/m.exec(mergeExpositions(pool.metricsTexts()))?.[1] ?? NaN);
    await pool.start();
    try {
      const first = pool.status()[0]!.pid!;
      config = { generation: 2, refuse: "block.html: not found" };
      pool.broadcast({ t: "config", raw: config, ports: {} });
      await until("a replacement that serves", () => spawns() === 2 && pool.status()[0]!.ready);
      assert.match(said.join("\n"), /worker 1: reload refused: block\.html: not found; replacing it with a worker on the config in force/);
      const { pid, restarts } = pool.status()[0]!;
      assert.notEqual(pid, first);
      assert.equal(restarts, 1);
      assert.ok(alive(first), "the refusing worker drains its connections");
      assert.equal(total(), 1003, "both workers' counts while the old one drains");
      await until("the draining worker's sign-in to be answered", () => rules.some((r) => r.startsWith("sign-in 99")));
      assert.ok(rules.includes("sign-in 99: not checked: worker 1 is being replaced"), rules.join("\n"));
      await until("the draining worker to exit", () => !alive(first));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(total(), 1003, "its counts stay in the totals");
      assert.equal(spawns(), 2, "its exit starts nothing");
      assert.doesNotMatch(said.join("\n"), /restarting it/);
      assert.equal(pool.status()[0]!.pid, pid);
      assert.ok(pool.status()[0]!.ready);
    } finally {
      await pool.close(0);
    }
  });

  it("close() also waits for a worker being replaced", async () => {
    let config: Record<string, unknown> = { generation: 1 };
    const { pool, spawns } = restartingPool((n) => ({ ...config, ...(n === 1 ? { drainMs: 600 } : {}) }), { drainMs: 5000 });
    await pool.start();
    const first = pool.status()[0]!.pid!;
    config = { refuse: "no" };
    pool.broadcast({ t: "config", raw: config, ports: {} });
    await until("the replacement", () => spawns() === 2 && pool.status()[0]!.ready);
    const second = pool.status()[0]!.pid!;
    const began = Date.now();
    await pool.close(0);
    assert.ok(Date.now() - began >= 300, "closed before the draining worker exited");
    for (const pid of [first, second]) assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });

  it("what a worker counted before it died stays in the totals: a counter never goes down, its gauges go", async () => {
    const counted = "# TYPE x_total counter\nx_total 1000\n# TYPE open gauge\nopen 5\n";
    const fresh = "# TYPE x_total counter\nx_total 3\n# TYPE open gauge\nopen 1\n";
    const { pool, spawns } = restartingPool((n) => (n === 1 ? { metrics: counted, exitAfterMs: 200 } : { metrics: fresh }), { restartDelayMs: 100 });
    await pool.start();
    try {
      const total = (name: string) => Number(/^(\S+) (\S+)$/m.exec(mergeExpositions(pool.metricsTexts()).split("\n").find((l) => l.startsWith(`${name} `)) ?? "")?.[2] ?? NaN);
      assert.equal(total("x_total"), 1000);
      const seen = new Set<number>();
      await until("the restarted worker's metrics", () => {
        seen.add(total("x_total"));
        return spawns() === 2 && pool.status()[0]!.ready;
      });
      assert.equal(total("x_total"), 1003);
      assert.equal(total("open"), 1, "the dead worker's gauges are gone");
      assert.ok([...seen].every((v) => v >= 1000), `never below 1000: ${[...seen].join(", ")}`);
    } finally {
      await pool.close(0);
    }
  });

  it("metrics an exited worker's descendant sends late are not taken for its restart's", async () => {
    const { pool, spawns } = restartingPool((n) => (n === 1 ? { lateSignIns: true, lateMetrics: "# TYPE x_total counter\nx_total 5\n" } : { metrics: "# TYPE x_total counter\nx_total 1\n" }));
    await pool.start();
    try {
      await until("the restart to serve", () => spawns() === 2 && pool.status()[0]!.ready);
      await new Promise((r) => setTimeout(r, 600)); // the old worker's descendant writes at 300 ms
      assert.deepEqual(pool.metricsTexts(), ["# TYPE x_total counter\nx_total 1\n"]);
    } finally {
      await pool.close(0);
    }
  });

  it("a restart whose program cannot be started (missing during an upgrade) is tried again, and close() still ends", async () => {
    const said: string[] = [];
    const command = ["node", fakeWorker];
    let spawns = 0;
    const pool = new WorkerPool({
      count: 1,
      command,
      startMessage: (index) => ({ t: "start", index, count: 2, raw: ++spawns === 1 ? { exitAfterMs: 100 } : {}, base: "/", ports: {}, self: [] }),
      onRecord: () => {},
      say: (line) => said.push(line),
      restartDelayMs: 50,
    });
    await pool.start();
    try {
      command[0] = "/nonexistent/tollgate-test"; // the next start fails with ENOENT
      await until("the failed start", () => said.some((l) => /^worker 1 could not be started: .*ENOENT.*restarting it in \d+ ms$/.test(l)));
      command[0] = "node";
      await until("a worker that serves again", () => pool.status()[0]!.ready);
    } finally {
      const closed = await Promise.race([pool.close(0).then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
      assert.equal(closed, true, "close() ended");
    }
  });

  it("a first start whose program cannot be started rejects start()", async () => {
    const pool = new WorkerPool({
      count: 1,
      command: ["/nonexistent/tollgate-test"],
      startMessage: (index) => ({ t: "start", index, count: 2, raw: {}, base: "/", ports: {}, self: [] }),
      onRecord: () => {},
      say: () => {},
    });
    await assert.rejects(pool.start(), /worker 1 could not be started: .*ENOENT/);
    await pool.close(0);
  });
});
