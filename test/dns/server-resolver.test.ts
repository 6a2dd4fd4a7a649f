import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Conn } from "../../src/core/conn.ts";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import { DnsError } from "../../src/dns/error.ts";
import { createResolver } from "../../src/dns/resolver.ts";
import { ServerResolver } from "../../src/dns/server-resolver.ts";
import { type DnsServer, parseDnsServer } from "../../src/dns/server.ts";
import { buildResponse, questionOf, serveDnsTcp, type TestResponse } from "./_dns-message.ts";

type Behaviour = ((name: string, type: number, query: Uint8Array) => TestResponse | Uint8Array | "close" | "silent") | "refuse";

/** A dial that connects to in-memory DNS servers keyed by "address:port", and counts connections. */
function network(servers: Record<string, Behaviour>) {
  const connections: string[] = [];
  // async: a refusal is a rejected promise, as from a real dial
  // deno-lint-ignore require-await
  const dial = async (server: DnsServer, signal: AbortSignal): Promise<Conn> => {
    signal.throwIfAborted();
    const key = `${server.address}:${server.port}`;
    connections.push(key);
    const behaviour = servers[key];
    if (behaviour === undefined || behaviour === "refuse") throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    const [client, server_] = memoryConnPair();
    void serveDnsTcp(server_, (query) => {
      const { name, type } = questionOf(query);
      const r = behaviour(name, type, query);
      return r === "close" || r === "silent" || r instanceof Uint8Array ? r : buildResponse(query, r);
    });
    return client;
  };
  return { dial, connections };
}

const A = (name: string, address: string, ttl = 300) => ({ name, ttl, address });
const normal: Behaviour = (name, type) =>
  name === "gone.test" ? { rcode: 3 } : type === 1 ? { answers: [A(name, "192.0.2.10", 120)] } : { answers: [A(name, "2001:db8::10", 60)] };

describe("parseDnsServer", () => {
  it("takes an address (port 53), ip:port and [ipv6]:port", () => {
    assert.deepEqual(parseDnsServer("10.0.0.53"), { address: "10.0.0.53", port: 53 });
    assert.deepEqual(parseDnsServer("10.0.0.53:5353"), { address: "10.0.0.53", port: 5353 });
    assert.deepEqual(parseDnsServer("2001:DB8::53"), { address: "2001:db8::53", port: 53 });
    assert.deepEqual(parseDnsServer("[2001:db8::53]:5353"), { address: "2001:db8::53", port: 5353 });
    for (const bad of ["dns.example", "dns.example:53", "10.0.0.53:0", "10.0.0.53:70000", "[10.0.0.53]:53", "10.0.0.256", "", "10.0.0.53:"]) {
      assert.throws(() => parseDnsServer(bad), /expected an IP address, "ip:port" or "\[ipv6\]:port"/, bad);
    }
  });

  it("takes the name on a DNS-over-TLS server's certificate after #, and a default port", () => {
    assert.deepEqual(parseDnsServer("9.9.9.9#dns.quad9.net", 853), { address: "9.9.9.9", port: 853, tlsName: "dns.quad9.net" });
    assert.deepEqual(parseDnsServer("[2620:fe::9]:8853#Dns.Quad9.Net.", 853), { address: "2620:fe::9", port: 8853, tlsName: "dns.quad9.net" });
    assert.deepEqual(parseDnsServer("1.1.1.1", 853), { address: "1.1.1.1", port: 853 });
    assert.throws(() => parseDnsServer("9.9.9.9#"), /expected a host name after "#"/);
    assert.throws(() => parseDnsServer("9.9.9.9#a b"), /expected a host name after "#"/);
    assert.throws(() => parseDnsServer("dns.quad9.net#dns.quad9.net"), /expected an IP address/);
  });
});

describe("ServerResolver", () => {
  it("asks A and AAAA on one connection; IPv4 first; the TTL is the smallest", async () => {
    const net = network({ "10.0.0.53:53": normal });
    const r = new ServerResolver([{ address: "10.0.0.53", port: 53 }], net.dial, 1000);
    assert.deepEqual(await r.resolve("Www.Example.TEST."), { addresses: ["192.0.2.10", "2001:db8::10"], source: "dns", ttlSeconds: 60 });
    assert.deepEqual(net.connections, ["10.0.0.53:53"]);
  });

  it("no such name (or no address) is an answer: notfound, and the next server is not asked", async () => {
    const net = network({ "10.0.0.1:53": normal, "10.0.0.2:53": normal });
    const r = new ServerResolver([{ address: "10.0.0.1", port: 53 }, { address: "10.0.0.2", port: 53 }], net.dial, 1000);
    await assert.rejects(r.resolve("gone.test"), (e) => e instanceof DnsError && e.code === "notfound");
    const empty = network({ "10.0.0.1:53": () => ({}) });
    await assert.rejects(new ServerResolver([{ address: "10.0.0.1", port: 53 }], empty.dial, 1000).resolve("a.test"), (e) => e instanceof DnsError && e.code === "notfound");
    assert.deepEqual(net.connections, ["10.0.0.1:53"]);
  });

  it("passes over a server that refuses, fails (SERVFAIL), is silent or answers garbage", async () => {
    const net = network({
      "10.0.0.1:53": "refuse",
      "10.0.0.2:53": () => ({ rcode: 2 }),
      "10.0.0.3:53": () => "silent",
      "10.0.0.4:53": (_name, _type, query) => {
        const wrongId = buildResponse(query, { answers: [A("a.test", "192.0.2.66")] });
        wrongId[0] = wrongId[0]! ^ 0xff;
        return wrongId;
      },
      "10.0.0.5:53": normal,
    });
    const servers = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"].map((address) => ({ address, port: 53 }));
    const started = Date.now();
    const r = new ServerResolver(servers, net.dial, 200);
    assert.deepEqual((await r.resolve("a.test")).addresses, ["192.0.2.10", "2001:db8::10"]);
    assert.ok(Date.now() - started < 2000);
    assert.deepEqual(net.connections, ["10.0.0.1:53", "10.0.0.2:53", "10.0.0.3:53", "10.0.0.4:53", "10.0.0.5:53"]);
  });

  it("addresses of one family are the answer when the other question fails; with none, the next server is asked", async () => {
    const net = network({
      // a server authoritative for its names alone: AAAA it cannot answer is REFUSED
      "10.0.0.1:53": (name, type) => (type === 1 ? { answers: [A(name, name === "v4.test" ? "192.0.2.4" : "192.0.2.5")] } : { rcode: 5 }),
      "10.0.0.2:53": (name, type) => (type === 28 ? { answers: [A(name, "2001:db8::6")] } : { rcode: 2 }),
    });
    const r = new ServerResolver([{ address: "10.0.0.1", port: 53 }, { address: "10.0.0.2", port: 53 }], net.dial, 1000);
    assert.deepEqual(await r.resolve("v4.test"), { addresses: ["192.0.2.4"], source: "dns", ttlSeconds: 300 });
    assert.deepEqual(net.connections, ["10.0.0.1:53"]);
    const failing = network({ "10.0.0.1:53": (_name, type) => (type === 1 ? {} : { rcode: 2 }), "10.0.0.2:53": normal });
    const r2 = new ServerResolver([{ address: "10.0.0.1", port: 53 }, { address: "10.0.0.2", port: 53 }], failing.dial, 1000);
    assert.deepEqual((await r2.resolve("a.test")).addresses, ["192.0.2.10", "2001:db8::10"], "no address and a failure: the next server");
  });

  it("a server that drops AAAA: its A answer, or its no such name, stands after the grace and counts as answered", async () => {
    const net = network({
      // A answered (with addresses, or no such name); AAAA questions dropped
      "10.0.0.1:53": (name, type) => (type !== 1 ? "silent" : name === "gone.test" ? { rcode: 3 } : { answers: [A(name, "192.0.2.4")] }),
      "10.0.0.2:53": normal,
    });
    const seen: string[] = [];
    const servers = [{ address: "10.0.0.1", port: 53 }, { address: "10.0.0.2", port: 53 }];
    const r = new ServerResolver(servers, net.dial, 2000, undefined, (s, t, result) => seen.push(`${s.address} ${t} ${result}`), { oneFamilyGraceMs: 50 });
    assert.deepEqual((await r.resolve("v4.test")).addresses, ["192.0.2.4"]);
    const started = performance.now();
    await assert.rejects(r.resolve("gone.test"), (e: unknown) => e instanceof DnsError && e.code === "notfound");
    assert.ok(performance.now() - started < 1000, "within the grace, not the server's whole share");
    assert.deepEqual(net.connections, ["10.0.0.1:53", "10.0.0.1:53"], "no such name is an answer: the next server is not asked");
    assert.deepEqual(seen, ["10.0.0.1 tcp answered", "10.0.0.1 tcp answered"], "not failed: alerts on a server's failed rate stay quiet");
  });

  it("a failure (SERVFAIL) for one question while the other goes unanswered is named by its response code", async () => {
    const net = network({ "10.0.0.1:53": (_name, type) => (type === 1 ? { rcode: 2 } : "silent") });
    const r = new ServerResolver([{ address: "10.0.0.1", port: 53 }], net.dial, 100);
    await assert.rejects(r.resolve("a.test"), (e: unknown) => e instanceof DnsError && e.code === "error" && /10\.0\.0\.1:53: response code 2$/.test(e.message));
  });

  it("a frame too short to be a DNS message is a failure of that server", async () => {
    const net = network({ "10.0.0.1:53": () => new Uint8Array([1, 2, 3]), "10.0.0.2:53": normal });
    const r = new ServerResolver([{ address: "10.0.0.1", port: 53 }, { address: "10.0.0.2", port: 53 }], net.dial, 1000);
    assert.equal((await r.resolve("a.test")).addresses[0], "192.0.2.10");
    const only = new ServerResolver([{ address: "10.0.0.1", port: 53 }], net.dial, 1000);
    await assert.rejects(only.resolve("a.test"), /10\.0\.0\.1:53: bad DNS message length 3/);
  });

  it("when every server fails, the error names each and why", async () => {
    const net = network({ "10.0.0.1:53": "refuse", "10.0.0.2:5353": () => ({ rcode: 5 }), "10.0.0.3:53": () => "silent" });
    const r = new ServerResolver([{ address: "10.0.0.1", port: 53 }, { address: "10.0.0.2", port: 5353 }, { address: "10.0.0.3", port: 53 }], net.dial, 100);
    await assert.rejects(r.resolve("a.test"), (e: unknown) => {
      assert.ok(e instanceof DnsError && e.code === "error");
      assert.match(e.message, /10\.0\.0\.1:53: ECONNREFUSED; 10\.0\.0\.2:5353: response code 5; 10\.0\.0\.3:53: no answer within 100 ms/);
      return true;
    });
  });

  it("asks again on a new connection when a server closes after one answer", async () => {
    let answered = 0;
    const net = network({ "10.0.0.1:53": (name, type, query) => (answered++ % 2 === 1 ? "close" : normal(name, type, query)) });
    const r = new ServerResolver([{ address: "10.0.0.1", port: 53 }], net.dial, 1000);
    assert.deepEqual((await r.resolve("a.test")).addresses, ["192.0.2.10", "2001:db8::10"]);
    assert.deepEqual(net.connections, ["10.0.0.1:53", "10.0.0.1:53"]);
  });

  it("stops at once when its signal aborts", async () => {
    const net = network({ "10.0.0.1:53": () => "silent" });
    const r = new ServerResolver([{ address: "10.0.0.1", port: 53 }], net.dial, 10_000);
    const ac = new AbortController();
    const pending = r.resolve("a.test", ac.signal);
    setTimeout(() => ac.abort(new Error("stop")), 20);
    await assert.rejects(pending, /stop/);
  });

  it("createResolver with servers: the cache keeps an answer no longer than its TTL", async () => {
    let now = 0;
    let asked = 0;
    const net = network({ "10.0.0.1:53": (name, type) => (asked++, type === 1 ? { answers: [A(name, "192.0.2.5", 2)] } : {}) });
    const resolver = createResolver(
      { hosts: {}, cacheSize: 10, ttlSeconds: 30, negativeTtlSeconds: 5, timeoutMs: 1000, servers: [{ address: "10.0.0.1", port: 53 }], transport: "tcp" },
      () => Promise.reject(new Error("the system lookup must not be used")),
      { dial: net.dial, now: () => now },
    );
    assert.equal((await resolver.resolve("a.test")).source, "dns");
    now = 1900;
    assert.equal((await resolver.resolve("a.test")).source, "cache");
    now = 2100;
    assert.equal((await resolver.resolve("a.test")).source, "dns", "the record's 2 s TTL, not the configured 30 s");
    assert.equal(asked, 4);
  });
});
