// A stand-in worker process for worker-pool.test.ts: speaks the line protocol of
// src/workers/protocol.ts on stdin/stdout. It answers `connections` unless the limit is 1
// (then it stays silent), and `close-connections`: of the ids it names, "1-1" and "1-2"
// are closed, others not found; with "1-99" among them it exits without answering.
// A start message's `raw.signIns` ([{name, client, outcome}]) are asked of the primary at
// once, each ended with its outcome when approved; with `raw.lateSignIns` the worker exits
// right after it is ready while a descendant holding its stdout asks three more, later
// (and, with `raw.lateMetrics`, sends those as its metrics).
// Starts and restarts: `raw.exitBeforeReady` exits with code 5 without saying ready (a
// failed start), `raw.readyDelayMs` waits that long first (a slow start), `raw.exitAfterMs`
// exits with code 7 that long after ready; `raw.metrics` is sent as its metrics right before
// ready. A `config` message is echoed as a flow record
// whose `rule` is JSON of its `raw`, so a test sees which configs the worker got; one whose
// `raw.refuse` is set is refused (`reloaded` with that error). Told to drain, it exits 0 at
// once, or `raw.drainMs` later (its start message's), asking a sign-in for "late" meanwhile.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

const send = (m) => process.stdout.write(JSON.stringify(m) + "\n");
for await (const line of createInterface({ input: process.stdin })) {
  const m = JSON.parse(line);
  if (m.t === "start") {
    if (m.raw?.exitBeforeReady) process.exit(5);
    await new Promise((r) => setTimeout(r, m.raw?.readyDelayMs ?? 0));
    if (m.raw?.metrics) send({ t: "metrics", text: m.raw.metrics });
    send({ t: "ready", pid: process.pid });
    globalThis.drainMs = m.raw?.drainMs;
    if (m.raw?.exitAfterMs !== undefined) setTimeout(() => process.exit(7), m.raw.exitAfterMs);
    const signIns = m.raw?.signIns ?? [];
    signIns.forEach((s, i) => send({ t: "sign-in", req: i + 1, name: s.name, client: s.client }));
    globalThis.outcomes = signIns.map((s) => s.outcome);
    if (m.raw?.lateSignIns) {
      const late = [1, 2, 3].map((req) => ({ t: "sign-in", req, name: "alice", client: `192.0.2.${req}` }));
      if (m.raw.lateMetrics) late.push({ t: "metrics", text: m.raw.lateMetrics });
      const lines = late.map((x) => JSON.stringify(x)).join("\n") + "\n";
      spawn("sh", ["-c", `sleep 0.3; printf '%s' '${lines}'`], { stdio: ["ignore", "inherit", "inherit"], detached: true }).unref();
      process.exit(4);
    }
  } else if (m.t === "sign-in" && m.verdict.ok) send({ t: "sign-in-end", req: m.req, outcome: globalThis.outcomes[m.req - 1] });
  else if (m.t === "connections" && m.query.limit !== 1) send({ t: "connections", req: m.req, connections: [], total: m.query.limit });
  else if (m.t === "close-connections" && m.ids.includes("1-99")) process.exit(3);
  else if (m.t === "close-connections") send({ t: "closed", req: m.req, closed: m.ids.filter((id) => id === "1-1" || id === "1-2") });
  else if (m.t === "sign-in") send({ t: "flow", record: { type: "flow", rule: `sign-in ${m.req}: ${m.verdict.reason}` }, quiet: false });
  else if (m.t === "config") {
    send({ t: "flow", record: { type: "flow", rule: JSON.stringify(m.raw) }, quiet: false });
    send({ t: "reloaded", generation: 2, ...(m.raw?.refuse ? { error: m.raw.refuse } : {}) });
  } else if (m.t === "drain" && globalThis.drainMs) {
    send({ t: "sign-in", req: 99, name: "late", client: "192.0.2.9" });
    setTimeout(() => process.exit(0), globalThis.drainMs);
  } else if (m.t === "drain") process.exit(0);
}
