import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import net from "node:net";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { runtimeName } from "../helpers/runtime.ts";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";

const TOKEN = "test-token-0123456789abcdef";

function config(allowOrigin: boolean): Record<string, unknown> {
  return {
    listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
    admin: { listen: "127.0.0.1:0", token: TOKEN, openBootstrap: true },
    addressGuard: { allow: ["127.0.0.0/8"] }, // the test origin is on loopback
    policy: {
      defaultAction: "deny",
      rules: [
        { id: allowOrigin ? "origin" : "block-origin", hosts: ["origin.test"], action: allowOrigin ? "allow" : "deny" },
        { id: "loopback-any-port", hosts: ["127.0.0.1"], action: "allow" },
      ],
    },
    dns: { hosts: { "origin.test": ["127.0.0.1"] } },
  };
}

describe("admin API and lifecycle end to end", { timeout: 120_000 }, () => {
  let pki: TestPki;
  let origin: Origin;
  let gw: GatewayProcess;
  let admin: string;
  let echo: net.Server;
  let echoPort: number;
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    pki = makeTestPki();
    origin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
    echo = net.createServer((c) => c.pipe(c));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
    echoPort = (echo.address() as net.AddressInfo).port;
    gw = await startGateway(config(true));
    admin = `http://127.0.0.1:${gw.ports.get("admin")}`;
  });
  after(async () => {
    await gw?.stop();
    await origin?.close();
    echo?.close();
  });

  const viaProxy = (path = "/hello") =>
    curl(["-x", `http://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, `https://origin.test:${origin.port}${path}`]);

  it("health is open; everything else needs the bearer token", async () => {
    assert.equal((await fetch(`${admin}/healthz`)).status, 200);
    const denied = await fetch(`${admin}/readyz`);
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get("www-authenticate") ?? "", /Bearer/);
    assert.equal((await fetch(`${admin}/readyz`, { headers: { authorization: "Bearer wrong-token-xxxxxxxxxx" } })).status, 401);
    // what every proxy client needs, browsers fetching without credentials (openBootstrap)
    const pac = await fetch(`${admin}/proxy.pac`);
    assert.equal(pac.status, 200);
    assert.match(await pac.text(), /function FindProxyForURL/);
    assert.equal((await fetch(`${admin}/config`)).status, 401, "and nothing else");
    const ready = await fetch(`${admin}/readyz`, { headers: auth });
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { ready: boolean }).ready, true);
  });

  it("metrics count proxied connections (Prometheus text)", async () => {
    assert.equal((await viaProxy()).code, 0);
    await gw.waitForFlow((f) => f.host === "origin.test");
    const res = await fetch(`${admin}/metrics`, { headers: auth });
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^tollgate_connections_total\{listener="explicit",mode="explicit",decision="allow"\} [1-9]/m);
    assert.match(text, /^tollgate_config_generation 1$/m);
    assert.match(text, /^tollgate_dns_lookups_total\{source="static",result="ok"\} [1-9]/m);
    assert.match(text, /^tollgate_dns_lookup_seconds_count [1-9]/m);
    // the process's own resources, under the names Prometheus client libraries use
    const sample = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
    assert.ok(sample("process_resident_memory_bytes") > 16 * 2 ** 20, "rss");
    assert.ok(sample("process_cpu_seconds_total") > 0, "cpu");
    assert.ok(sample("tollgate_js_heap_used_bytes") > 0, "heap");
    assert.ok(sample("tollgate_js_heap_size_bytes") > 0, "heap size");
    if (runtimeName === "deno") {
      // Deno lets only --allow-all read /proc/self; without it there is no count, and no family
      assert.doesNotMatch(text, /^process_open_fds /m);
    } else {
      assert.ok(sample("process_open_fds") > 2 && sample("process_open_fds") < sample("process_max_fds"), "fds");
    }
  });

  it("the admin API is not reachable through the proxy, even when a rule allows the address", async () => {
    const port = gw.ports.get("admin")!;
    const r = await curl(["-i", "-x", `http://127.0.0.1:${gw.port}`, `http://127.0.0.1:${port}/healthz`]);
    assert.match(r.stdout, /^HTTP\/1\.1 403 /);
    assert.match(r.stdout, /address guard/);
  });

  it("PUT /policy swaps the policy for new connections, and closes an open tunnel it now denies", async () => {
    // an open tunnel to origin.test (an echo server), established under the old policy
    const tunnel = net.connect(gw.port, "127.0.0.1");
    await new Promise<void>((resolve) => tunnel.once("connect", () => resolve()));
    tunnel.write(`CONNECT origin.test:${echoPort} HTTP/1.1\r\nHost: origin.test:${echoPort}\r\n\r\n`);
    const established = await new Promise<string>((resolve) => tunnel.once("data", (d) => resolve(String(d))));
    assert.match(established, /^HTTP\/1\.1 200 /);

    const bad = await fetch(`${admin}/policy`, { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ rules: [{ action: "maybe" }] }) });
    assert.equal(bad.status, 400);
    assert.equal((await viaProxy()).code, 0, "an invalid policy changed nothing");

    const next = config(false)["policy"];
    const ok = await fetch(`${admin}/policy`, { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(next) });
    assert.equal(ok.status, 200);
    const denied = await viaProxy();
    assert.equal(denied.code, 56, "new connections get the new policy");

    // the tunnel opened before the swap: the new policy denies it, so it is closed (policy.recheckOpenConnections)
    tunnel.on("error", () => {});
    await Promise.race([
      new Promise<void>((resolve) => (tunnel.destroyed ? resolve() : tunnel.once("close", () => resolve()))),
      new Promise((_, reject) => setTimeout(() => reject(new Error("the tunnel the new policy denies is still open")), 5000)),
    ]);
    const revoked = await gw.waitForFlow((f) => f.host === "origin.test" && f.port === echoPort && f.end === "revoked");
    assert.match(String(revoked.error), /^the policy denies it now: rule "block-origin"/);
    const explain = await fetch(`${admin}/policy/explain`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ url: `https://origin.test:${origin.port}/` }) });
    const e = (await explain.json()) as { decision: { action: string; ruleId: string }; rules: unknown[] };
    assert.equal(e.decision.action, "deny");
    assert.equal(e.decision.ruleId, "block-origin");
    assert.ok(e.rules.length >= 2);
  });

  it("hot reload: a valid file change applies, an invalid one is refused and visible in /readyz and /metrics", async () => {
    writeFileSync(gw.configFile!, JSON.stringify(config(true)));
    gw.signal("SIGHUP");
    for (let i = 0; i < 50 && (await viaProxy()).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await viaProxy()).code, 0, "reloaded policy allows the origin again");

    writeFileSync(gw.configFile!, "{ this is not json");
    gw.signal("SIGHUP");
    let ready: { ready: boolean; lastReload?: { ok: boolean; error?: string } } = { ready: true };
    for (let i = 0; i < 50; i++) {
      ready = (await (await fetch(`${admin}/readyz`, { headers: auth })).json()) as typeof ready;
      if (ready.lastReload && !ready.lastReload.ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(ready.lastReload?.ok, false);
    assert.match(String(ready.lastReload?.error), /JSON|line/i);
    assert.equal((await viaProxy()).code, 0, "the running config stays in force");
    const metrics = await (await fetch(`${admin}/metrics`, { headers: auth })).text();
    assert.match(metrics, /^tollgate_config_last_reload_success 0$/m);
  });

  it("streams flow lines as Server-Sent Events", async () => {
    const ac = new AbortController();
    const res = await fetch(`${admin}/flows/stream`, { headers: auth, signal: ac.signal });
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const reader = res.body!.getReader();
    // a flow that ends at once: nothing listens on port 1
    await curl(["-x", `http://127.0.0.1:${gw.port}`, "http://127.0.0.1:1/"]);
    let text = "";
    const until = Date.now() + 8000;
    while (!text.includes("event: flow") && Date.now() < until) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    ac.abort();
    assert.match(text, /event: flow\ndata: \{.*"host":"127\.0\.0\.1","port":1,/);
  });

  it("SIGTERM drains: a transfer in progress completes, then the gateway exits", async () => {
    const download = curl(["-x", `http://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, "--limit-rate", "4M", "-o", "/dev/null", "-w", "%{size_download}", `https://origin.test:${origin.port}/bytes?size=${6 * 1024 * 1024}`]);
    await new Promise((r) => setTimeout(r, 500));
    const stopped = gw.stop();
    const r = await download;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, String(6 * 1024 * 1024));
    assert.equal(await stopped, true);
  });
});
