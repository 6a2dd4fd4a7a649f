/**
 * Shutdown of a real gateway process: SIGTERM lets idle keep-alive clients go at once,
 * `limits.drainTimeoutMs` bounds what does not end by itself, and `limits.shutdownDelayMs`
 * keeps serving while `/readyz` already fails (so a load balancer can stop sending first).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";
import { waitFor } from "./support/wait.ts";

function config(limits: Record<string, number>, admin = false): Record<string, unknown> {
  return {
    listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
    ...(admin ? { admin: { listen: "127.0.0.1:0" } } : {}),
    addressGuard: { allow: ["127.0.0.0/8"] }, // the test origins are on loopback
    policy: { defaultAction: "deny", rules: [{ id: "local", hosts: ["origin.test", "127.0.0.1"], action: "allow" }] },
    dns: { hosts: { "origin.test": ["127.0.0.1"] } },
    limits,
  };
}

/** Resolves when `s` is closed by the other side (or fails). */
function closed(s: net.Socket): Promise<void> {
  return new Promise((r) => {
    s.once("close", () => r());
    s.once("error", () => r());
  });
}

/** Reads from `s` until `pattern` matches what arrived. */
function readUntil(s: net.Socket, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const t = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(got)}`)), 5000);
    const onData = (d: Buffer) => {
      got += d.toString("latin1");
      if (pattern.test(got)) {
        clearTimeout(t);
        s.off("data", onData);
        resolve(got);
      }
    };
    s.on("data", onData);
  });
}

describe("shutdown end to end", { timeout: 120_000 }, () => {
  let origin: Origin;
  let echo: net.Server;
  let echoPort: number;
  let gw: GatewayProcess | undefined;

  before(async () => {
    origin = await startOrigin();
    echo = net.createServer((c) => c.pipe(c));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
    echoPort = (echo.address() as net.AddressInfo).port;
  });
  after(async () => {
    await gw?.stop();
    await origin?.close();
    echo?.close();
  });

  it("an idle keep-alive client is let go at once: the gateway exits long before drainTimeoutMs", async () => {
    gw = await startGateway(config({ drainTimeoutMs: 8000, idleTimeoutMs: 60_000 }));
    const s = net.connect(gw.port, "127.0.0.1");
    s.write(`GET http://origin.test:${origin.port}/hello HTTP/1.1\r\nHost: origin.test:${origin.port}\r\n\r\n`);
    const answer = await readUntil(s, /hello from origin/);
    assert.doesNotMatch(answer, /^Connection: close/im, "kept alive before the shutdown");
    const gone = closed(s);
    const t0 = Date.now();
    assert.equal(await gw.stop(), true, "graceful");
    const ms = Date.now() - t0;
    await gone;
    assert.ok(ms < 3000, `exited ${ms} ms after SIGTERM; an idle client must not hold the drain`);
    gw = undefined;
  });

  it("drainTimeoutMs bounds a tunnel that does not end by itself", async () => {
    gw = await startGateway(config({ drainTimeoutMs: 1000 }));
    const s = net.connect(gw.port, "127.0.0.1");
    s.write(`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\nHost: 127.0.0.1:${echoPort}\r\n\r\n`);
    await readUntil(s, /^HTTP\/1\.1 200 [^]*\r\n\r\n/);
    s.write("still here");
    await readUntil(s, /still here/);
    const gone = closed(s);
    const t0 = Date.now();
    assert.equal(await gw.stop(), true, "graceful");
    const ms = Date.now() - t0;
    await gone;
    assert.ok(ms >= 900 && ms < 4000, `exited ${ms} ms after SIGTERM with a 1000 ms drain`);
    gw = undefined;
  });

  it("shutdownDelayMs: /readyz fails at once, requests are served through the delay, then it drains", async () => {
    gw = await startGateway(config({ shutdownDelayMs: 1500 }, true));
    const admin = `http://127.0.0.1:${gw.ports.get("admin")}`;
    assert.equal((await fetch(`${admin}/readyz`)).status, 200);
    const t0 = Date.now();
    gw.signal("SIGTERM");
    await waitFor("/readyz to fail", async () => (await fetch(`${admin}/readyz`)).status === 503);
    const r = await curl(["-x", `http://127.0.0.1:${gw.port}`, `http://origin.test:${origin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from origin");
    assert.ok(Date.now() - t0 < 1500, "served within the delay");
    const g = gw;
    await waitFor("the drain", () => g.stderr.join("").includes("draining connections"));
    assert.ok(Date.now() - t0 >= 1400, `drained ${Date.now() - t0} ms after SIGTERM, before the 1500 ms delay was over`);
    assert.equal(await gw.stop(), true, "graceful");
    gw = undefined;
  });

  it("a second signal during shutdownDelayMs skips the rest of it", async () => {
    gw = await startGateway(config({ shutdownDelayMs: 60_000 }));
    const t0 = Date.now();
    gw.signal("SIGTERM");
    const g = gw;
    await waitFor("the delay", () => g.stderr.join("").includes("still accepting"));
    gw.signal("SIGTERM");
    await waitFor("the drain", () => g.stderr.join("").includes("draining connections"));
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(await gw.stop(), true, "graceful");
    gw = undefined;
  });
});
