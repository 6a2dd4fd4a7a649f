/**
 * `dns.servers` end to end: a gateway process resolves through a DNS server of the test's
 * own (DNS over TCP on 127.0.0.1), never the system's resolver, and keeps answers for their
 * TTL. Names used here exist only in that server.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { closedPort } from "./support/ports.ts";
import { buildResponse, questionOf, type TestResponse } from "../dns/_dns-message.ts";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";

/** A DNS-over-TCP server on 127.0.0.1 answering from `zone`; counts the questions it got. */
async function startDnsServer(zone: (name: string, type: number) => TestResponse) {
  const asked: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buffered = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const query = new Uint8Array(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        buffered = buffered.subarray(2 + query.length);
        const { name, type } = questionOf(query);
        asked.push(`${name}/${type === 1 ? "A" : "AAAA"}`);
        const reply = buildResponse(query, zone(name, type));
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
  return {
    port: (server.address() as net.AddressInfo).port,
    asked,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
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
    assert.deepEqual(dns.asked.sort(), ["origin.test/A", "origin.test/AAAA"], "asked once: the second request came from the cache");
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
});
