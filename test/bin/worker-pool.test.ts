import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { WorkerPool } from "../../src/bin/worker-pool.ts";

const fakeWorker = fileURLToPath(new URL("./fake-worker.mjs", import.meta.url));
const query = (limit: number) => ({ filter: {}, sort: "age" as const, limit });

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
