/**
 * A DNS timeout with the real system resolver: inside a network namespace the test creates,
 * `/etc/resolv.conf` (bind-mounted by `ip netns exec` from /etc/netns/<ns>/resolv.conf)
 * names a nameserver on the namespace's loopback that reads queries and never answers. The
 * gateway runs there with `dns.timeoutMs: 800`; curl, also there, must get a 504 within about
 * that time, and the gateway must go on serving. Needs root and `ip netns`: without them the
 * tests here are reported SKIPPED.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { createNetnsPair, execIn, type NetnsPair, netnsUnavailable } from "./support/netns.ts";

const unavailable = netnsUnavailable();
if (unavailable !== undefined) {
  console.error(`\n*** SKIPPED: dns-timeout-netns e2e tests: this machine cannot create network namespaces (${unavailable}) ***\n`);
}

/** A UDP "nameserver" that takes every query and answers none. */
const SILENT_DNS = `
const s = require("node:dgram").createSocket("udp4");
let queries = 0;
s.on("message", () => { queries++; });
s.bind(53, "127.0.0.1", () => console.log("ready"));
process.stdin.on("data", () => console.log(String(queries)));
`;

describe("DNS timeout end to end (a nameserver that never answers)", { skip: unavailable, timeout: 90_000 }, () => {
  let pair: NetnsPair;
  let etc: string;
  let dns: ChildProcess;
  let gw: GatewayProcess;
  const tag = String(40_000 + (process.pid % 20_000));

  before(async () => {
    pair = createNetnsPair(tag);
    etc = `/etc/netns/${pair.gateway}`;
    mkdirSync(etc, { recursive: true });
    // one attempt with a long timeout: only the gateway's own deadline can end the wait early
    writeFileSync(`${etc}/resolv.conf`, "nameserver 127.0.0.1\noptions timeout:30 attempts:1\n");
    const [cmd, ...args] = [...pair.wrap(pair.gateway), "node", "-e", SILENT_DNS];
    dns = spawn(cmd!, args, { stdio: ["pipe", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      dns.stdout!.once("data", () => resolve());
      dns.once("exit", (code) => reject(new Error(`silent nameserver exited with ${code}`)));
    });
    gw = await startGateway(
      {
        listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
        policy: { defaultAction: "allow", rules: [] },
        dns: { timeoutMs: 800 },
      },
      { wrap: pair.wrap(pair.gateway) },
    );
  });
  after(async () => {
    await gw?.stop();
    dns?.kill("SIGKILL");
    pair?.destroy();
    if (etc) rmSync(etc, { recursive: true, force: true });
  });

  /** curl through the gateway, inside the namespace; prints "<status> <seconds>". */
  const viaProxy = (args: string[], status = "%{http_code}") =>
    execIn(pair.gateway, ["curl", "-s", "-o", "/dev/null", "-w", `${status} %{time_total}`, "-x", `http://127.0.0.1:${gw.port}`, ...args], 20_000);

  it("a CONNECT to a name the resolver never answers gets 504 after dns.timeoutMs", async () => {
    const r = await viaProxy(["-p", "https://never-answered.test/"], "%{http_connect}");
    const [status, seconds] = r.stdout.split(" ");
    assert.equal(status, "504", r.stderr);
    assert.ok(Number(seconds) >= 0.7 && Number(seconds) < 5, `answered after ${seconds} s`);
    const f = await gw.waitForFlow((f) => f.kind === "connect" && f.host === "never-answered.test");
    assert.equal(f.status, 504);
    assert.equal(f.resolved, null);
    assert.match(String(f.error), /timed out/);
    // the query did reach the silent nameserver: the timeout was DNS's, not something else's
    dns.stdin!.write("count\n");
    const queries = await new Promise<number>((resolve) => dns.stdout!.once("data", (d) => resolve(Number(String(d).trim()))));
    assert.ok(queries >= 1, `nameserver saw ${queries} queries`);
  });

  it("plain HTTP proxying times out the same way, and the gateway goes on serving", async () => {
    const results = await Promise.all(["a", "b", "c"].map((n) => viaProxy([`http://${n}.never-answered.test/`])));
    for (const r of results) {
      const [status, seconds] = r.stdout.split(" ");
      assert.equal(status, "504", r.stderr);
      assert.ok(Number(seconds) < 5, `answered after ${seconds} s`);
    }
  });
});
