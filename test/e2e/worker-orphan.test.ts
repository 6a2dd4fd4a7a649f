/**
 * A worker whose primary disappears (killed, OOM) drains by itself: it keeps its open
 * tunnels for the drain time and writes nothing to the pipe no one reads. The real worker
 * runs under a stand-in primary (support/fake-primary.mjs) on loopback; killing that
 * closes its ends of the worker's pipes.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { join } from "node:path";
import { runtimeName } from "../helpers/runtime.ts";
import { cliCommand } from "./support/gateway.ts";
import { closedPort } from "./support/ports.ts";
import { openTunnel } from "./support/tunnel.ts";
import { alive } from "../helpers/process-alive.ts";

const root = new URL("../../", import.meta.url).pathname;
/** The worker's command line as the primary has it (on Deno, reusePort is an unstable option). */
const [runtime = "", ...rest] = cliCommand();
const workerCommand = runtimeName === "deno" ? [runtime, "run", "--unstable-net", ...rest.slice(1)] : [runtime, ...rest];


describe("a worker whose primary is gone", { timeout: 60_000 }, () => {
  it("drains, keeping its other tunnels, instead of dying on the first flow line it cannot send", async () => {
    const echo = net.createServer((s) => s.pipe(s)).listen(0, "127.0.0.1");
    await new Promise((r) => echo.once("listening", r));
    const echoPort = (echo.address() as net.AddressInfo).port;
    const port = await closedPort();
    const raw = {
      listeners: [{ name: "explicit", mode: "explicit", listen: `127.0.0.1:${port}` }],
      addressGuard: { allow: ["127.0.0.0/8"] },
      policy: { defaultAction: "allow", rules: [] },
      limits: { drainTimeoutMs: 5000 },
    };
    const start = JSON.stringify({ t: "start", index: 1, count: 2, raw, base: root, ports: { explicit: port }, self: [] });
    const primary = spawn("node", [join(root, "test/e2e/support/fake-primary.mjs"), start, ...workerCommand], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    primary.stderr!.on("data", (d) => (stderr += d));
    let workerPid = 0;
    const tunnels: net.Socket[] = [];
    try {
      workerPid = await new Promise<number>((resolve, reject) => {
        let out = "";
        primary.stdout!.on("data", (d) => {
          out += d;
          const m = /ready (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        setTimeout(() => reject(new Error(`the worker did not start: ${stderr}`)), 20_000);
      });
      const a = await openTunnel(port, "127.0.0.1", echoPort);
      const b = await openTunnel(port, "127.0.0.1", echoPort);
      tunnels.push(a.socket, b.socket);
      primary.kill("SIGKILL");
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(alive(workerPid), `the worker drains, not gone; stderr:\n${stderr}`);
      // a tunnel ends during the drain: the worker has a flow line for a primary that is gone
      a.socket.end();
      a.socket.resume();
      await a.closed;
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(alive(workerPid), `the worker is still draining 1.5 s after; stderr:\n${stderr.slice(0, 800)}`);
      assert.ok(b.isOpen(), "the other tunnel is kept for the drain");
      b.socket.write("still");
      b.socket.setEncoding("latin1");
      const echoed = await new Promise<string>((resolve) => b.socket.once("data", resolve));
      assert.equal(echoed, "still");
    } finally {
      for (const t of tunnels) t.destroy();
      if (workerPid && alive(workerPid)) process.kill(workerPid, "SIGKILL");
      if (primary.exitCode === null && primary.signalCode === null) primary.kill("SIGKILL");
      echo.close();
    }
  });
});
