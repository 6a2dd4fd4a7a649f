/**
 * `dns.servers` against a real DNS server, dnsmasq on 127.0.0.1: it takes the gateway's
 * EDNS(0) queries, so an answer of 40 addresses (truncated at 512 bytes without EDNS) comes in
 * one UDP datagram, and one of 100 (past the 1232 bytes offered) comes truncated and is asked
 * again over TCP. The exchange counters on /metrics show which transport answered.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { type Dnsmasq, startDnsmasq } from "./support/dnsmasq.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";

const TOKEN = "test-token-dnsmasq-0123456789";

/** Loopback addresses 127.0.<block>.1… of which only 127.0.0.1 accepts: the dial tries them all. */
function addresses(count: number, block: number): string[] {
  return ["127.0.0.1", ...Array.from({ length: count - 1 }, (_, i) => `127.0.${block}.${i + 1}`)];
}

describe("dns.servers against dnsmasq", { timeout: 60_000 }, () => {
  let pki: TestPki;
  let origin: Origin;
  let dns: Dnsmasq;
  let gw: GatewayProcess;
  let server: string;

  before(async () => {
    pki = makeTestPki();
    origin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
    dns = await startDnsmasq({
      hosts: { "origin.test": ["127.0.0.1"], "many.test": addresses(40, 1), "huge.test": addresses(100, 2) },
      cnames: { "alias.test": "origin.test" },
    });
    server = `127.0.0.1:${dns.port}`;
    gw = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      admin: { listen: "127.0.0.1:0", token: TOKEN },
      addressGuard: { allow: ["127.0.0.0/8"] }, // the test origin is on loopback
      policy: { defaultAction: "allow", rules: [] },
      dns: { servers: [server], timeoutMs: 4000 },
    });
  });
  after(async () => {
    await gw?.stop();
    await origin?.close();
    await dns?.stop();
  });

  /** The count of `tollgate_dns_server_exchanges_total` for this server, transport and result. */
  async function exchanges(transport: string, result: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${gw.ports.get("admin")}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const line = text.split("\n").find((l) => l.startsWith(`tollgate_dns_server_exchanges_total{server="${server}",transport="${transport}",result="${result}"}`));
    return line === undefined ? 0 : Number(line.split(" ").at(-1));
  }

  it("a name, and an alias (CNAME) to it, resolve through dnsmasq", async () => {
    const r = await curl(["-x", `http://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, `https://origin.test:${origin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from origin");
    // the test certificate names origin.test only: -k, this is about the name resolving
    const alias = await curl(["-x", `http://127.0.0.1:${gw.port}`, "-k", `https://alias.test:${origin.port}/hello`]);
    assert.equal(alias.code, 0, alias.stderr);
    const f = await gw.waitForFlow((f) => f.kind === "connect" && f.host === "alias.test");
    assert.equal(f.resolved, "127.0.0.1");
    assert.equal(f.dnsSource, "dns");
  });

  it("40 addresses come in one UDP answer (EDNS); 100 come truncated, then over TCP", async () => {
    const before = { udp: await exchanges("udp", "answered"), truncated: await exchanges("udp", "truncated"), tcp: await exchanges("tcp", "answered") };
    const many = await curl(["-x", `http://127.0.0.1:${gw.port}`, "-k", `https://many.test:${origin.port}/hello`]);
    assert.equal(many.code, 0, many.stderr);
    assert.equal(many.stdout, "hello from origin");
    assert.equal(await exchanges("udp", "answered"), before.udp + 1, "many.test: answered over UDP");
    assert.equal(await exchanges("udp", "truncated"), before.truncated);
    assert.equal(await exchanges("tcp", "answered"), before.tcp, "no TCP for many.test");
    const huge = await curl(["-x", `http://127.0.0.1:${gw.port}`, "-k", `https://huge.test:${origin.port}/hello`]);
    assert.equal(huge.code, 0, huge.stderr);
    assert.equal(await exchanges("udp", "truncated"), before.truncated + 1, "huge.test: truncated over UDP");
    assert.equal(await exchanges("tcp", "answered"), before.tcp + 1, "then answered over TCP");
    const f = await gw.waitForFlow((f) => f.kind === "connect" && f.host === "huge.test");
    assert.equal(f.resolved, "127.0.0.1");
    assert.equal(await exchanges("udp", "failed") + await exchanges("tcp", "failed"), 0);
  });
});
