/**
 * `dns.servers` end to end: a gateway process resolves through a DNS server of the test's
 * own (UDP and TCP on one port of 127.0.0.1), never the system's resolver, and keeps answers
 * for their TTL. Names used here exist only in that server.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import net from "node:net";
import { closedPort } from "./support/ports.ts";
import { buildResponse, ednsPayloadOf, questionOf, type TestResponse } from "../dns/_dns-message.ts";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";

/** Largest answer over UDP without EDNS (RFC 1035 §4.2.1): longer ones are sent truncated (TC). */
const UDP_LIMIT = 512;

function truncatedReply(query: Uint8Array): Uint8Array {
  const reply = buildResponse(query, {});
  reply[2] = reply[2]! | 0x02;
  return reply;
}

/**
 * A DNS server on 127.0.0.1 answering from `zone` over UDP and TCP on the same port; records
 * each question as "name/A udp" or "name/AAAA tcp".
 */
async function startDnsServer(zone: (name: string, type: number) => TestResponse) {
  const asked: string[] = [];
  /** Each question's name as spelled on the wire (DNS 0x20 mixes its case over UDP). */
  const spellings: string[] = [];
  const question = (query: Uint8Array, transport: string) => {
    const { name: spelled, type } = questionOf(query);
    const name = spelled.toLowerCase(); // looked up regardless of case, echoed as asked
    spellings.push(spelled);
    asked.push(`${name}/${type === 1 ? "A" : "AAAA"} ${transport}`);
    return buildResponse(query, zone(name, type));
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buffered = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const query = new Uint8Array(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        buffered = buffered.subarray(2 + query.length);
        const reply = question(query, "tcp");
        const framed = Buffer.alloc(2 + reply.length);
        framed.writeUInt16BE(reply.length, 0);
        framed.set(reply, 2);
        socket.write(framed);
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const udp = dgram.createSocket("udp4");
  udp.on("message", (msg: Uint8Array, rinfo: { address: string; port: number }) => {
    const query = new Uint8Array(msg);
    const reply = question(query, "udp");
    // an EDNS query may offer more (the gateway offers 1232 bytes)
    const limit = Math.max(UDP_LIMIT, ednsPayloadOf(query) ?? 0);
    udp.send(reply.length > limit ? truncatedReply(query) : reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind(port, "127.0.0.1", () => resolve());
  });
  return {
    port,
    asked,
    spellings,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        udp.close();
        server.close(() => resolve());
      }),
  };
}

describe("dns.servers end to end", { timeout: 60_000 }, () => {
  let pki: TestPki;
  let origin: Origin;
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  let gw: GatewayProcess;

  before(async () => {
    pki = makeTestPki();
    origin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
    dns = await startDnsServer((name, type) => {
      if (name === "origin.test") return type === 1 ? { answers: [{ name, ttl: 60, cname: "real.internal.test" }, { name: "real.internal.test", ttl: 60, address: "127.0.0.1" }] } : {};
      // 40 A records (about 700 bytes): too long for UDP without EDNS, not with it
      if (name === "many.test" || name === "tcp-only.test") return type === 1 ? { answers: Array.from({ length: 40 }, (_, i) => ({ name, ttl: 60, address: `127.0.0.${i + 1}` })) } : {};
      // 100 A records (about 1,700 bytes): too long for the 1232 bytes offered, so asked again over TCP
      if (name === "huge.test") return type === 1 ? { answers: Array.from({ length: 100 }, (_, i) => ({ name, ttl: 60, address: `127.0.0.${i + 1}` })) } : {};
      return { rcode: 3 };
    });
    gw = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      addressGuard: { allow: ["127.0.0.0/8"] }, // the test origin is on loopback
      policy: { defaultAction: "allow", rules: [] },
      dns: { servers: [`127.0.0.1:${await closedPort()}`, `127.0.0.1:${dns.port}`], timeoutMs: 4000 },
    });
  });
  after(async () => {
    await gw?.stop();
    await origin?.close();
    await dns?.close();
  });

  it("resolves through the configured server (after one that cannot be reached), and caches for the TTL", async () => {
    const url = `https://origin.test:${origin.port}/hello`;
    for (let i = 0; i < 2; i++) {
      const r = await curl(["-x", `http://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, url]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "hello from origin");
    }
    const f = await gw.waitForFlow((f) => f.kind === "connect" && f.host === "origin.test");
    assert.equal(f.resolved, "127.0.0.1");
    assert.equal(f.dnsSource, "dns");
    assert.deepEqual(dns.asked.filter((q) => q.startsWith("origin.test/")).sort(), ["origin.test/A udp", "origin.test/AAAA udp"], "asked once, over UDP: the second request came from the cache");
    const spelled = dns.spellings.filter((n) => n.toLowerCase() === "origin.test");
    assert.equal(spelled.length, 2);
    assert.ok(spelled.some((n) => n !== "origin.test"), `the name went out in mixed case (DNS 0x20): ${spelled.join(", ")}`);
    await gw.waitForFlow((f) => f.kind === "connect" && f.host === "origin.test" && f.dnsSource === "cache");
  });

  it("a name the server does not know is a 502 naming it", async () => {
    const r = await curl(["-i", "-x", `http://127.0.0.1:${gw.port}`, "http://nowhere.test/"]);
    assert.match(r.stdout, /^HTTP\/1\.1 502 /);
    assert.match(r.stdout, /nowhere\.test/);
    const f = await gw.waitForFlow((f) => f.host === "nowhere.test");
    assert.equal(f.status, 502);
    assert.match(String(f.error), /not found/);
  });

  // the test certificate names origin.test only: -k, this is about the name resolving
  it("an answer past 512 bytes comes over UDP (EDNS); one past the 1232 offered comes back truncated and is asked again over TCP", async () => {
    for (const [name, transports] of [["many.test", ["A udp", "AAAA udp"]], ["huge.test", ["A tcp", "A udp", "AAAA udp"]]] as const) {
      const r = await curl(["-x", `http://127.0.0.1:${gw.port}`, "-k", `https://${name}:${origin.port}/hello`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "hello from origin");
      const f = await gw.waitForFlow((f) => f.kind === "connect" && f.host === name);
      assert.equal(f.resolved, "127.0.0.1");
      assert.equal(f.dnsSource, "dns");
      assert.deepEqual(dns.asked.filter((q) => q.startsWith(`${name}/`)).sort(), transports.map((t) => `${name}/${t}`));
    }
  });

  it('transport "tcp" asks over TCP only', async () => {
    const tcpGw = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      addressGuard: { allow: ["127.0.0.0/8"] },
      policy: { defaultAction: "allow", rules: [] },
      dns: { servers: [`127.0.0.1:${dns.port}`], transport: "tcp" },
    });
    try {
      const r = await curl(["-x", `http://127.0.0.1:${tcpGw.port}`, "-k", `https://tcp-only.test:${origin.port}/hello`]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(dns.asked.filter((q) => q.startsWith("tcp-only.test/")).sort(), ["tcp-only.test/A tcp", "tcp-only.test/AAAA tcp"]);
    } finally {
      await tcpGw.stop();
    }
  });
});
