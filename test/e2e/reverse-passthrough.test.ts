import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Haproxy, startHaproxyHttp } from "./support/haproxy.ts";
import { makeOpensslCa, type OpensslCa } from "./support/reverse-pki.ts";
import { tempDir } from "../helpers/temp-dir.ts";

/** What each HAProxy frontend answers: the client it sees (after a PROXY header: the one it names), the SNI and the v2 authority. */
const WHO = 'http-request return status 200 content-type text/plain lf-string "client=%[src]:%[src_port] sni=%[ssl_fc_sni] authority=%[fc_pp_authority]"';

const check = { path: "/health", intervalMs: 200, timeoutMs: 1000, unhealthyThreshold: 2 };

/** curl's local port, printed after the body. */
const LOCAL_PORT = ["-w", "\nlocal_port=%{local_port}"];
function split(stdout: string): { body: string; localPort: number } {
  const at = stdout.lastIndexOf("\nlocal_port=");
  return { body: stdout.slice(0, at), localPort: Number(stdout.slice(at + "\nlocal_port=".length)) };
}

/**
 * Real HAProxy backends that take PROXY headers (`accept-proxy`) behind a TLS reverse
 * listener; curl is bound to 127.0.0.2 so the client address cannot be mistaken for the
 * gateway's own 127.0.0.1.
 */
describe("reverse passthrough and PROXY protocol to backends end to end (real HAProxy and curl)", { timeout: 180_000 }, () => {
  let backendCa: OpensslCa;
  let frontCa: OpensslCa;
  let hp: Haproxy;
  let gw: GatewayProcess;
  const admin = () => `http://127.0.0.1:${gw.ports.get("admin")}`;

  before(async () => {
    const work = tempDir("tollgate-passthrough-");
    backendCa = makeOpensslCa("Backend CA", work);
    frontCa = makeOpensslCa("Front CA", work);
    const app = backendCa.issue("app", ["app.test"]);
    const combined = join(work, "app-combined.pem");
    writeFileSync(combined, readFileSync(app.cert, "utf8") + readFileSync(app.key, "utf8"));
    const web = frontCa.issue("web", ["web.test"]);
    hp = await startHaproxyHttp([
      { bind: `accept-proxy ssl crt ${combined}`, rules: [WHO] }, // TLS, PROXY v2 first
      { bind: "accept-proxy", rules: [WHO] }, // plain HTTP, PROXY v1 first
    ]);
    const [tlsPort, plainPort] = hp.ports;
    gw = await startGateway({
      listeners: [{ name: "rev", mode: "reverse", listen: "127.0.0.1:0", tls: { certificates: [{ cert: web.cert, key: web.key }] } }],
      admin: { listen: "127.0.0.1:0" },
      reverse: {
        pools: {
          tlsapp: { backends: [`https://127.0.0.1:${tlsPort}`], proxyProtocol: "v2", healthCheck: check, tls: { caFile: backendCa.caFile, serverName: "app.test" } },
          plainapp: { backends: [`http://127.0.0.1:${plainPort}`], proxyProtocol: "v1", healthCheck: check },
          // the same backend without the setting: its checks fail (HAProxy wants a header first)
          noheader: { backends: [`http://127.0.0.1:${plainPort}`], healthCheck: check },
        },
        routes: [{ id: "web", hosts: ["web.test"], pool: "plainapp" }],
        passthrough: [{ id: "app", hosts: ["app.test"], pool: "tlsapp" }],
      },
    });
  });

  after(async () => {
    const graceful = await gw?.stop();
    await hp?.stop();
    assert.equal(graceful, true);
  });

  const at = (name: string) => ["--resolve", `${name}:${gw.ports.get("rev")}:127.0.0.1`, "--interface", "127.0.0.2"];

  it("passthrough: the backend terminates the client's own TLS with its certificate, and learns the client from a v2 header", async () => {
    const r = await curl([...LOCAL_PORT, "-v", ...at("app.test"), "--cacert", backendCa.caFile, `https://app.test:${gw.ports.get("rev")}/who`]);
    assert.equal(r.code, 0, r.stderr + hp.output.join(""));
    assert.match(r.stderr, /issuer: CN=Backend CA/, "the backend's certificate, not one of the gateway's");
    const { body, localPort } = split(r.stdout);
    assert.equal(body, `client=127.0.0.2:${localPort} sni=app.test authority=app.test`);
    const f = await gw.waitForFlow((f) => f.type === "flow" && f.rule === "app");
    assert.equal(f.decryption, "passthrough");
    assert.equal(f.decision, "allow");
    assert.equal(f.client, `127.0.0.2:${localPort}`);
    assert.match(String(f.reason), /^passthrough route "app" to pool "tlsapp" \(backend https:\/\/127\.0\.0\.1:\d+\)$/);
    assert.ok(Number(f.bytesUp) > 200 && Number(f.bytesDown) > 500, JSON.stringify(f));
  });

  it("the gateway's own certificate still serves the other names, and the HTTP backend learns the client from a v1 header", async () => {
    const r = await curl([...LOCAL_PORT, ...at("web.test"), "--cacert", frontCa.caFile, `https://web.test:${gw.ports.get("rev")}/who`]);
    assert.equal(r.code, 0, r.stderr);
    const { body, localPort } = split(r.stdout);
    assert.match(body, new RegExp(`^client=127\\.0\\.0\\.2:${localPort} sni= authority=`));
    const q = await gw.waitForFlow((f) => f.type === "request" && f.rule === "web");
    assert.equal(q.status, 200);
  });

  it("health checks send LOCAL headers: the pools that send headers stay up, the one without goes down", async () => {
    type Pool = { name: string; backends: { healthy: boolean; lastError: string | null }[] };
    let pools: Pool[] = [];
    const end = Date.now() + 10_000;
    for (;;) {
      pools = ((await (await fetch(`${admin()}/backends`)).json()) as { pools: Pool[] }).pools;
      if (pools.find((p) => p.name === "noheader")?.backends[0]?.healthy === false) break;
      assert.ok(Date.now() < end, `the pool without PROXY headers never failed its checks: ${JSON.stringify(pools)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // two more rounds of checks for the others
    await new Promise((r) => setTimeout(r, 2 * check.intervalMs + 100));
    pools = ((await (await fetch(`${admin()}/backends`)).json()) as { pools: Pool[] }).pools;
    const byName = new Map(pools.map((p) => [p.name, p.backends[0]]));
    assert.equal(byName.get("tlsapp")?.healthy, true, JSON.stringify(pools));
    assert.equal(byName.get("tlsapp")?.lastError, null, JSON.stringify(pools));
    assert.equal(byName.get("plainapp")?.healthy, true, JSON.stringify(pools));
    assert.equal(byName.get("plainapp")?.lastError, null, JSON.stringify(pools));
    assert.ok(byName.get("noheader")?.lastError, JSON.stringify(pools));
  });
});
