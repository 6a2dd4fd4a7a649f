// A stand-in worker process for worker-pool.test.ts: speaks the line protocol of
// src/workers/protocol.ts on stdin/stdout. It answers `connections` unless the limit is 1
// (then it stays silent), and `close-connections`: of the ids it names, "1-1" and "1-2"
// are closed, others not found; with "1-99" among them it exits without answering.
import { createInterface } from "node:readline";

const send = (m) => process.stdout.write(JSON.stringify(m) + "\n");
for await (const line of createInterface({ input: process.stdin })) {
  const m = JSON.parse(line);
  if (m.t === "start") send({ t: "ready", pid: process.pid });
  else if (m.t === "connections" && m.query.limit !== 1) send({ t: "connections", req: m.req, connections: [], total: m.query.limit });
  else if (m.t === "close-connections" && m.ids.includes("1-99")) process.exit(3);
  else if (m.t === "close-connections") send({ t: "closed", req: m.req, closed: m.ids.filter((id) => id === "1-1" || id === "1-2") });
  else if (m.t === "drain") process.exit(0);
}
