/**
 * `dns.transport: "tls"` (DNS over TLS, RFC 7858) against real peers: dnsmasq answers, and
 * HAProxy terminates TLS in front of it with a certificate for "dns.test" from a test CA —
 * the shape of a DoT resolver. The gateway validates the server's certificate for the
 * `#name` in its `servers` entry (and `caFile`); a name the certificate does not carry
 * fails the lookup, and the client's 502 says why.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { type Dnsmasq, startDnsmasq } from "./support/dnsmasq.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Haproxy, startHaproxy } from "./support/haproxy.ts";
import { type Origin, startOrigin } from "./support/origin.ts";
import { socketsOnLocalPort } from "../../scripts/bench/_proc-net.ts";

const TOKEN = "test-token-dns-over-tls-0123456789";

describe("DNS over TLS to dnsmasq behind HAProxy", { timeout: 60_000 }, () => {
  let pki: TestPki;
  let origin: Origin;
  let dns: Dnsmasq;
  let tlsFront: Haproxy;
  let gw: GatewayProcess;
  let config: Record<string, unknown>;
  let dot: number;

  before(async () => {
    pki = makeTestPki(["dns.test"]);
    const combined = join(pki.dir, "combined.pem");
    writeFileSync(combined, pki.certPem + readFileSync(join(pki.dir, "server.key"), "utf8"));
    origin = await startOrigin();
    dns = await startDnsmasq({ hosts: { "origin.test": ["127.0.0.1"], "second.test": ["127.0.0.1"], "other.test": ["127.0.0.1"] } });
    tlsFront = await startHaproxy([{ bind: `ssl crt ${combined}`, server: `127.0.0.1:${dns.port}` }]);
    dot = tlsFront.ports[0]!;
    config = {
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      admin: { listen: "127.0.0.1:0", token: TOKEN },
      addressGuard: { allow: ["127.0.0.0/8"] }, // the test origin is on loopback
      policy: { defaultAction: "allow", rules: [] },
      dns: { servers: [`127.0.0.1:${dot}#dns.test`], transport: "tls", caFile: pki.caFile, timeoutMs: 4000 },
    };
    gw = await startGateway(config);
  });
  after(async () => {
    await gw?.stop();
    await origin?.close();
    await tlsFront?.stop();
    await dns?.stop();
  });

  const get = (host: string) => curl(["-sS", "-i", "-x", `http://127.0.0.1:${gw.port}`, `http://${host}:${origin.port}/hello`]);

  it("resolves over TLS, the server's certificate validated for its name", async () => {
    const r = await get("origin.test");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 200 /);
    const f = await gw.waitForFlow((f) => f.host === "origin.test");
    assert.equal(f.dnsSource, "dns");
    const text = await (await fetch(`http://127.0.0.1:${gw.ports.get("admin")}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    assert.match(text, new RegExp(`^tollgate_dns_server_exchanges_total\\{server="127\\.0\\.0\\.1:${dot}",transport="tls",result="answered"\\} [1-9]`, "m"));
    assert.doesNotMatch(text, /transport="(udp|tcp)"/, "nothing in clear");
  });

  it("keeps its TLS connection to the server for the next lookups (RFC 7858 §3.4)", async () => {
    const r = await get("second.test");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 200 /);
    // HAProxy's side: one connection from the gateway, still open, for both lookups
    assert.equal(socketsOnLocalPort(dot).filter((s) => s.state === "01").length, 1);
  });

  it("a server whose certificate does not carry the configured name is not believed", async () => {
    writeFileSync(gw.configFile!, JSON.stringify({ ...config, dns: { ...config["dns"] as object, servers: [`127.0.0.1:${dot}#resolver.test`] } }));
    assert.match(await gw.reload(), /SIGHUP: config reloaded/);
    const r = await get("other.test");
    assert.match(r.stdout, /^HTTP\/1\.1 502 /);
    assert.match(r.stdout, new RegExp(`127\\.0\\.0\\.1:${dot}: \\S*(CERT|ALTNAME|altname|name)`, "i"));
  });
});
