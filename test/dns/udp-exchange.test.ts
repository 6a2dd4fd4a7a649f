import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Conn } from "../../src/core/conn.ts";
import type { Datagram, DatagramSocket } from "../../src/core/datagram.ts";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import { DnsError } from "../../src/dns/error.ts";
import { createResolver } from "../../src/dns/resolver.ts";
import type { DnsServer } from "../../src/dns/server.ts";
import { ServerResolver } from "../../src/dns/server-resolver.ts";
import { buildResponse, ednsPayloadOf, questionOf, serveDnsTcp, type TestResponse } from "./_dns-message.ts";
import { within } from "../helpers/flow-harness.ts";

/** What a fake UDP server does with one query: datagrams to send back (from the server unless `from` says), or an ICMP-like refusal. */
type Reply = { data: Uint8Array; from?: { address: string; port: number } };
type UdpBehaviour = (name: string, type: number, query: Uint8Array, sent: number) => Reply[] | "refuse";

const A = (name: string, address: string, ttl = 300) => ({ name, ttl, address });
const normal = (name: string, type: number): TestResponse =>
  name === "gone.test" ? { rcode: 3 } : type === 1 ? { answers: [A(name, "192.0.2.10", 120)] } : { answers: [A(name, "2001:db8::10", 60)] };
const answer = (query: Uint8Array, r: TestResponse): Reply[] => [{ data: buildResponse(query, r) }];
const truncated = (query: Uint8Array): Reply[] => {
  const data = buildResponse(query, {});
  data[2] = data[2]! | 0x02;
  return [{ data }];
};

/**
 * In-memory UDP: one socket per open, queries handed to the server's behaviour (the name
 * lowercased: servers look names up regardless of case); records what happened.
 */
function udpNetwork(servers: Record<string, UdpBehaviour>) {
  const opened: string[] = [];
  /** `address:port name/type` of each query sent, the name lowercased. */
  const sends: string[] = [];
  /** Each query's name as it was spelled on the wire. */
  const spellings: string[] = [];
  /** The UDP payload size each query sent offered with EDNS(0), undefined for a plain query. */
  const offered: (number | undefined)[] = [];
  let openSockets = 0;
  const open = (address: string, port: number): Promise<DatagramSocket> => {
    const key = `${address}:${port}`;
    opened.push(key);
    openSockets++;
    let controller!: ReadableStreamDefaultController<Datagram>;
    let closed = false;
    const readable = new ReadableStream<Datagram>({ start: (c) => void (controller = c) });
    const behaviour = servers[key];
    return Promise.resolve({
      readable,
      close() {
        if (closed) return;
        closed = true;
        openSockets--;
        controller.close();
      },
      send(data: Uint8Array) {
        const { name: spelled, type } = questionOf(data);
        const name = spelled.toLowerCase();
        spellings.push(spelled);
        sends.push(`${key} ${name}/${type}`);
        offered.push(ednsPayloadOf(data));
        const count = sends.filter((s) => s === `${key} ${name}/${type}`).length;
        const replies = behaviour?.(name, type, data, count) ?? [];
        queueMicrotask(() => {
          if (closed) return;
          if (replies === "refuse") return controller.error(Object.assign(new Error("recvmsg ECONNREFUSED"), { code: "ECONNREFUSED" }));
          for (const r of replies) controller.enqueue({ data: r.data, address: r.from?.address ?? address, port: r.from?.port ?? port });
        });
        return Promise.resolve();
      },
    });
  };
  return { open, opened, sends, spellings, offered, openSockets: () => openSockets };
}

/** In-memory TCP DNS servers (for answers truncated over UDP). */
function tcpNetwork(servers: Record<string, (name: string, type: number) => TestResponse>) {
  const connections: string[] = [];
  const dial = (server: DnsServer, signal: AbortSignal): Promise<Conn> => {
    signal.throwIfAborted();
    const key = `${server.address}:${server.port}`;
    connections.push(key);
    const zone = servers[key];
    if (!zone) return Promise.reject(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
    const [client, server_] = memoryConnPair();
    void serveDnsTcp(server_, (query) => {
      const { name, type } = questionOf(query);
      return buildResponse(query, zone(name, type));
    });
    return Promise.resolve(client);
  };
  return { dial, connections };
}

const noTcp = tcpNetwork({});
const S1 = { address: "10.0.0.1", port: 53 };
const S2 = { address: "10.0.0.2", port: 53 };

describe("ServerResolver over UDP", () => {
  it("asks A and AAAA on one fresh socket per lookup, and closes it", async () => {
    const udp = udpNetwork({ "10.0.0.1:53": (name, type, q) => answer(q, normal(name, type)) });
    const r = new ServerResolver([S1], noTcp.dial, 1000, { open: udp.open, retransmitMs: 500 });
    assert.deepEqual(await r.resolve("Www.Example.TEST."), { addresses: ["192.0.2.10", "2001:db8::10"], source: "dns", ttlSeconds: 60 });
    await r.resolve("b.test");
    assert.deepEqual(udp.opened, ["10.0.0.1:53", "10.0.0.1:53"]);
    assert.deepEqual(udp.sends, ["10.0.0.1:53 www.example.test/1", "10.0.0.1:53 www.example.test/28", "10.0.0.1:53 b.test/1", "10.0.0.1:53 b.test/28"]);
    assert.equal(udp.openSockets(), 0);
    assert.deepEqual(noTcp.connections, []);
  });

  it("ignores forgeries (another source, another ID, another question, garbage) and takes the real answer after them", async () => {
    const udp = udpNetwork({
      "10.0.0.1:53": (name, type, q) => {
        const forged = buildResponse(q, { answers: [A(name, type === 1 ? "203.0.113.66" : "2001:db8::66")] });
        const wrongId = buildResponse(q, { answers: [A(name, "203.0.113.67")] });
        wrongId[0] = wrongId[0]! ^ 0xff;
        const otherQuestion = buildResponse(q, { answers: [A(name, "203.0.113.68")] });
        otherQuestion[13] = "x".charCodeAt(0); // the first letter of the question's name
        return [
          { data: forged, from: { address: "10.0.0.66", port: 53 } },
          { data: forged, from: { address: "10.0.0.1", port: 5353 } },
          { data: wrongId },
          { data: otherQuestion },
          { data: new Uint8Array([1, 2, 3]) },
          ...answer(q, normal(name, type)),
        ];
      },
    });
    const r = new ServerResolver([S1], noTcp.dial, 1000, { open: udp.open, retransmitMs: 500 });
    assert.deepEqual((await r.resolve("a.test")).addresses, ["192.0.2.10", "2001:db8::10"]);
  });

  it("sends a query again when its answer was lost", async () => {
    const udp = udpNetwork({ "10.0.0.1:53": (name, type, q, sent) => (sent < 3 ? [] : answer(q, normal(name, type))) });
    const r = new ServerResolver([S1], noTcp.dial, 2000, { open: udp.open, retransmitMs: 30 });
    const started = Date.now();
    assert.deepEqual((await r.resolve("a.test")).addresses, ["192.0.2.10", "2001:db8::10"]);
    assert.ok(Date.now() - started < 1500);
    assert.equal(udp.sends.filter((s) => s.endsWith("/1")).length, 3, "the A query went out three times");
  });

  it("asks over TCP, on the same server, only what came back truncated", async () => {
    const udp = udpNetwork({ "10.0.0.1:53": (name, type, q) => (type === 1 ? truncated(q) : answer(q, normal(name, type))) });
    const tcp = tcpNetwork({ "10.0.0.1:53": (name, type) => (type === 1 ? { answers: Array.from({ length: 40 }, (_, i) => A(name, `192.0.2.${i + 1}`, 90)) } : { rcode: 2 }) });
    const r = new ServerResolver([S1], tcp.dial, 1000, { open: udp.open, retransmitMs: 500 });
    const got = await r.resolve("big.test");
    assert.equal(got.addresses.length, 41);
    assert.equal(got.addresses.at(-1), "2001:db8::10", "AAAA from UDP, A from TCP");
    assert.equal(got.ttlSeconds, 60);
    assert.deepEqual(tcp.connections, ["10.0.0.1:53"]);
  });

  it("spells each question's name in a random mix of cases (DNS 0x20), the same when it is sent again", async () => {
    const udp = udpNetwork({ "10.0.0.1:53": (name, type, q, sent) => (type === 1 && sent < 2 ? [] : answer(q, normal(name, type))) });
    const r = new ServerResolver([S1], noTcp.dial, 2000, { open: udp.open, retransmitMs: 30 });
    for (let i = 0; i < 4; i++) assert.deepEqual((await r.resolve("www.example.test")).addresses, ["192.0.2.10", "2001:db8::10"]);
    assert.ok(udp.spellings.every((s) => s.toLowerCase() === "www.example.test"));
    // 2 of 9 sends (the first A query went twice) being spelled the same by chance: 2^-14 each
    assert.ok(new Set(udp.spellings).size >= 5, `spellings vary: ${udp.spellings.join(", ")}`);
    assert.equal(udp.spellings[0], udp.spellings[2], "a query sent again keeps its spelling (its answer may echo either send)");
  });

  it("an answer that echoes the name in other cases is not taken: the question is asked again over TCP", async () => {
    // a server that lowercases questions (rare), or a forger who guessed port and ID but not the case
    const recased = (q: Uint8Array, address: string): Reply[] => {
      const lower = q.slice();
      for (let i = 12; lower[i] !== 0; i++) if (lower[i]! >= 0x41 && lower[i]! <= 0x5a) lower[i] = lower[i]! | 0x20;
      return [{ data: buildResponse(lower, { answers: [A("a.test", address)] }) }];
    };
    const udp = udpNetwork({ "10.0.0.1:53": (name, type, q) => (type === 1 ? recased(q, "203.0.113.66") : answer(q, normal(name, type))) });
    const tcp = tcpNetwork({ "10.0.0.1:53": (name, type) => (type === 1 ? { answers: [A(name, "192.0.2.77")] } : { rcode: 2 }) });
    const seen: string[] = [];
    const r = new ServerResolver([S1], tcp.dial, 1000, { open: udp.open, retransmitMs: 500 }, (_server, transport, result) => seen.push(`${transport} ${result}`));
    // the spelling is random: a name whose letters all came out lowercase would match; retry until one did not
    for (let tries = 0; ; tries++) {
      assert.ok(tries < 20, "a mixed spelling within 20 lookups");
      seen.length = 0;
      const got = await r.resolve("a.test");
      if (udp.spellings.at(-2) === "a.test") continue;
      assert.deepEqual(got.addresses, ["192.0.2.77", "2001:db8::10"], "A from TCP, never the recased UDP answer");
      break;
    }
    assert.deepEqual(seen, ["udp case-mismatch", "tcp answered"]);
    assert.ok(tcp.connections.length >= 1);
  });

  it("tells its observer of each exchange: server, transport, and answered, truncated or failed", async () => {
    const udp = udpNetwork({
      "10.0.0.1:53": () => "refuse",
      "10.0.0.2:53": (name, type, q) => (type === 1 ? truncated(q) : answer(q, normal(name, type))),
    });
    const tcp = tcpNetwork({ "10.0.0.2:53": (name, type) => normal(name, type) });
    const seen: string[] = [];
    const r = new ServerResolver([S1, S2], tcp.dial, 1000, { open: udp.open, retransmitMs: 500 }, (server, transport, result) => {
      seen.push(`${server.address} ${transport} ${result}`);
    });
    await r.resolve("a.test");
    assert.deepEqual(seen, ["10.0.0.1 udp failed", "10.0.0.2 udp truncated", "10.0.0.2 tcp answered"]);
    seen.length = 0;
    await new ServerResolver([S2], tcp.dial, 1000, undefined, (server, transport, result) => seen.push(`${server.address} ${transport} ${result}`)).resolve("b.test");
    assert.deepEqual(seen, ["10.0.0.2 tcp answered"]);
    seen.length = 0;
    // DNS over TLS: the dial opens TLS, the exchange is the same, the observer told "tls"
    await new ServerResolver([S2], tcp.dial, 1000, undefined, (server, transport, result) => seen.push(`${server.address} ${transport} ${result}`), { stream: "tls" }).resolve("c.test");
    assert.deepEqual(seen, ["10.0.0.2 tls answered"]);
  });

  it("offers EDNS(0) answers of 1232 bytes: a 40-address answer comes over UDP, with no TCP", async () => {
    // as a real server does: an answer longer than the query offers comes back truncated
    const udp = udpNetwork({
      "10.0.0.1:53": (name, type, q) => {
        const data = buildResponse(q, type === 1 ? { answers: Array.from({ length: 40 }, (_, i) => A(name, `192.0.2.${i + 1}`, 90)) } : {});
        return data.length > (ednsPayloadOf(q) ?? 512) ? truncated(q) : [{ data }];
      },
    });
    const tcp = tcpNetwork({ "10.0.0.1:53": () => ({ rcode: 2 }) });
    const r = new ServerResolver([S1], tcp.dial, 1000, { open: udp.open, retransmitMs: 500 });
    const got = await r.resolve("big.test");
    assert.equal(got.addresses.length, 40);
    assert.deepEqual(udp.offered, [1232, 1232]);
    assert.deepEqual(tcp.connections, []);
  });

  it("a server that does not know EDNS (FORMERR, NOTIMP) is asked again without it", async () => {
    for (const rcode of [1, 4]) {
      const udp = udpNetwork({
        "10.0.0.1:53": (name, type, q) => answer(q, ednsPayloadOf(q) === undefined ? normal(name, type) : { rcode, edns: false }),
      });
      const r = new ServerResolver([S1], noTcp.dial, 1000, { open: udp.open, retransmitMs: 500 });
      assert.deepEqual((await r.resolve("old.test")).addresses, ["192.0.2.10", "2001:db8::10"]);
      assert.deepEqual(udp.sends, ["10.0.0.1:53 old.test/1", "10.0.0.1:53 old.test/28", "10.0.0.1:53 old.test/1", "10.0.0.1:53 old.test/28"]);
      assert.deepEqual(udp.offered, [1232, 1232, undefined, undefined]);
      assert.equal(udp.opened.length, 1, "on the same socket");
    }
  });

  it("a bare FORMERR or NOTIMP (a header with no question) to an EDNS query asks again without EDNS, once", async () => {
    const bare = (q: Uint8Array, rcode: number): Reply[] => {
      const data = new Uint8Array(12);
      data.set(q.subarray(0, 2));
      data[2] = 0x80;
      data[3] = rcode;
      return [{ data }];
    };
    for (const rcode of [1, 4]) {
      const udp = udpNetwork({
        "10.0.0.1:53": (name, type, q) => (ednsPayloadOf(q) === undefined ? answer(q, normal(name, type)) : bare(q, rcode)),
      });
      const r = new ServerResolver([S1], noTcp.dial, 1000, { open: udp.open, retransmitMs: 500 });
      assert.deepEqual((await r.resolve("old.test")).addresses, ["192.0.2.10", "2001:db8::10"]);
      assert.deepEqual(udp.offered, [1232, 1232, undefined, undefined]);
    }
    // asked plainly, a bare FORMERR again is no answer: the server is passed over
    const udp = udpNetwork({
      "10.0.0.1:53": (_name, _type, q) => bare(q, 1),
      "10.0.0.2:53": (name, type, q) => answer(q, normal(name, type)),
    });
    const r = new ServerResolver([S1, S2], noTcp.dial, 300, { open: udp.open, retransmitMs: 1000 });
    assert.deepEqual((await r.resolve("a.test")).addresses, ["192.0.2.10", "2001:db8::10"]);
    assert.deepEqual(udp.sends.filter((q) => q.startsWith("10.0.0.1:53 a.test/1")).length, 2, "with EDNS, then without");
  });

  it("a referral from a server that does not recurse is no answer: the next server is asked", async () => {
    const referral: TestResponse = { flags: { ra: false }, authority: [{ name: "test", ttl: 3600, cname: "ns.test" }] };
    const udp = udpNetwork({
      "10.0.0.1:53": (_name, _type, q) => answer(q, referral),
      "10.0.0.2:53": (name, type, q) => answer(q, normal(name, type)),
    });
    const r = new ServerResolver([S1, S2], noTcp.dial, 1000, { open: udp.open, retransmitMs: 500 });
    assert.deepEqual((await r.resolve("a.test")).addresses, ["192.0.2.10", "2001:db8::10"]);
    assert.deepEqual(udp.opened, ["10.0.0.1:53", "10.0.0.2:53"]);
    const alone = new ServerResolver([S1], noTcp.dial, 1000, { open: udp.open, retransmitMs: 500 });
    await assert.rejects(alone.resolve("a.test"), (e: unknown) => {
      assert.ok(e instanceof DnsError && e.code === "error", "a failure, not no such name");
      assert.match(e.message, /10\.0\.0\.1:53: a referral, not an answer \(the server does not recurse\)$/);
      return true;
    });
  });

  it("a server that answers FORMERR without EDNS too is passed over, once asked plainly", async () => {
    const udp = udpNetwork({
      "10.0.0.1:53": (_name, _type, q) => answer(q, { rcode: 1, edns: false }),
      "10.0.0.2:53": (name, type, q) => answer(q, normal(name, type)),
    });
    const r = new ServerResolver([S1, S2], noTcp.dial, 1000, { open: udp.open, retransmitMs: 500 });
    assert.deepEqual((await r.resolve("a.test")).addresses, ["192.0.2.10", "2001:db8::10"]);
    assert.equal(udp.sends.filter((q) => q.startsWith("10.0.0.1:53 a.test/1")).length, 2, "with EDNS, then without");
  });

  it("a server whose port is closed (ECONNREFUSED) is passed over at once; SERVFAIL too", async () => {
    const udp = udpNetwork({
      "10.0.0.1:53": () => "refuse",
      "10.0.0.2:53": (_name, _type, q) => answer(q, { rcode: 2 }),
      "10.0.0.3:53": (name, type, q) => answer(q, normal(name, type)),
    });
    const r = new ServerResolver([S1, S2, { address: "10.0.0.3", port: 53 }], noTcp.dial, 5000, { open: udp.open, retransmitMs: 1000 });
    const started = Date.now();
    assert.deepEqual((await r.resolve("a.test")).addresses, ["192.0.2.10", "2001:db8::10"]);
    assert.ok(Date.now() - started < 1000, "no waiting for the attempt timeout");
    assert.deepEqual(udp.opened, ["10.0.0.1:53", "10.0.0.2:53", "10.0.0.3:53"]);
  });

  it("no such name is an answer: notfound, the next server is not asked", async () => {
    const udp = udpNetwork({ "10.0.0.1:53": (name, type, q) => answer(q, normal(name, type)), "10.0.0.2:53": (name, type, q) => answer(q, normal(name, type)) });
    const r = new ServerResolver([S1, S2], noTcp.dial, 1000, { open: udp.open, retransmitMs: 500 });
    await assert.rejects(r.resolve("gone.test"), (e) => e instanceof DnsError && e.code === "notfound");
    assert.deepEqual(udp.opened, ["10.0.0.1:53"]);
  });

  it("when only forgeries arrive, the failure says what was ignored", async () => {
    const udp = udpNetwork({
      "10.0.0.1:53": (name, _type, q, sent) => (sent === 1 ? [{ data: buildResponse(q, { answers: [A(name, "203.0.113.66")] }), from: { address: "10.0.0.9", port: 53 } }] : []),
      "10.0.0.2:53": () => [],
    });
    const r = new ServerResolver([S1, S2], noTcp.dial, 150, { open: udp.open, retransmitMs: 50 });
    await assert.rejects(r.resolve("a.test"), (e: unknown) => {
      assert.ok(e instanceof DnsError && e.code === "timeout", "every server silent: a timeout");
      assert.match(e.message, /10\.0\.0\.1:53: no answer within 150 ms \(ignored 2 datagrams, the last: a datagram from 10\.0\.0\.9:53, not the server\); 10\.0\.0\.2:53: no answer within 150 ms$/);
      return true;
    });
    assert.equal(udp.openSockets(), 0, "every socket closed");
  });

  it("stops at once when its signal aborts, and closes the socket", async () => {
    const udp = udpNetwork({ "10.0.0.1:53": () => [] });
    const r = new ServerResolver([S1], noTcp.dial, 10_000, { open: udp.open, retransmitMs: 1000 });
    const ac = new AbortController();
    const pending = r.resolve("a.test", ac.signal);
    setTimeout(() => ac.abort(new Error("stop")), 20);
    await assert.rejects(pending, /stop/);
    assert.equal(udp.openSockets(), 0);
  });

  it("a lookup aborted while its socket opens stops, and closes the socket", async () => {
    const udp = udpNetwork({ "10.0.0.1:53": () => [] });
    const ac = new AbortController();
    const slowOpen = async (address: string, port: number) => {
      ac.abort(new Error("stop"));
      return await udp.open(address, port);
    };
    const r = new ServerResolver([S1], noTcp.dial, 10_000, { open: slowOpen, retransmitMs: 1000 });
    await assert.rejects(within(r.resolve("a.test", ac.signal), 1000), /stop/);
    assert.equal(udp.openSockets(), 0);
  });

  it("createResolver: transport udp asks over UDP, tcp only over TCP; udp without a UDP runtime is refused", async () => {
    const base = { hosts: {}, cacheSize: 0, ttlSeconds: 30, negativeTtlSeconds: 5, timeoutMs: 1000, servers: [S1] } as const;
    const noLookup = () => Promise.reject(new Error("the system lookup must not be used"));
    const udp = udpNetwork({ "10.0.0.1:53": (name, type, q) => answer(q, normal(name, type)) });
    const tcp = tcpNetwork({ "10.0.0.1:53": normal });
    await createResolver({ ...base, transport: "udp" }, noLookup, { dial: tcp.dial, openDatagram: udp.open }).resolve("a.test");
    assert.deepEqual([udp.opened.length, tcp.connections.length], [1, 0]);
    await createResolver({ ...base, transport: "tcp" }, noLookup, { dial: tcp.dial, openDatagram: udp.open }).resolve("a.test");
    assert.deepEqual([udp.opened.length, tcp.connections.length], [1, 1]);
    assert.throws(() => createResolver({ ...base, transport: "udp" }, noLookup, { dial: tcp.dial }), /no UDP/);
  });

  it("a server that drops AAAA questions: the A answer is taken a grace period later, not failed", async () => {
    const udp = udpNetwork({ "10.0.0.1:53": (name, type, q) => (type === 28 ? [] : answer(q, normal(name, type))) });
    const r = new ServerResolver([S1], noTcp.dial, 2000, { open: udp.open, retransmitMs: 500 }, undefined, { oneFamilyGraceMs: 100 });
    const started = Date.now();
    assert.deepEqual(await r.resolve("a.test"), { addresses: ["192.0.2.10"], source: "dns", ttlSeconds: 120 });
    const took = Date.now() - started;
    assert.ok(took >= 90 && took < 1000, `the grace, not the attempt's 2000 ms (took ${took} ms)`);
    assert.equal(udp.openSockets(), 0);
  });

  it("an AAAA answer truncated while TCP is refused: the A answer over UDP stands", async () => {
    const udp = udpNetwork({ "10.0.0.1:53": (name, type, q) => (type === 28 ? truncated(q) : answer(q, normal(name, type))) });
    const r = new ServerResolver([S1], noTcp.dial, 1000, { open: udp.open, retransmitMs: 500 });
    assert.deepEqual((await r.resolve("a.test")).addresses, ["192.0.2.10"]);
  });

  it("a refusal of EDNS that arrives twice (for the query and its resend) does not fail the plain question asked after the first", async () => {
    const udp = udpNetwork({
      "10.0.0.1:53": (name, type, q) =>
        ednsPayloadOf(q) === undefined
          ? answer(q, normal(name, type))
          : [...answer(q, { rcode: 1, edns: false }), ...answer(q, { rcode: 1, edns: false })], // the second: to a resend
    });
    const r = new ServerResolver([S1], noTcp.dial, 1000, { open: udp.open, retransmitMs: 500 });
    assert.deepEqual((await r.resolve("old.test")).addresses, ["192.0.2.10", "2001:db8::10"]);
    assert.deepEqual(udp.offered, [1232, 1232, undefined, undefined]);
  });

  it("a truncated answer with the name in other cases (a server that does not keep case) goes to TCP, as an untruncated one does", async () => {
    const lowered = (q: Uint8Array) => {
      const reply = truncated(q);
      for (const r of reply) for (let i = 12; i < r.data.length && r.data[i] !== 0; i++) if (r.data[i]! >= 0x41 && r.data[i]! <= 0x5a) r.data[i]! |= 0x20;
      return reply;
    };
    const udp = udpNetwork({ "10.0.0.1:53": (_name, _type, q) => lowered(q) });
    const tcp = tcpNetwork({ "10.0.0.1:53": normal });
    const r = new ServerResolver([S1], tcp.dial, 1000, { open: udp.open, retransmitMs: 500 });
    assert.deepEqual((await r.resolve("a.test")).addresses, ["192.0.2.10", "2001:db8::10"]);
    assert.deepEqual(tcp.connections, ["10.0.0.1:53"]);
  });

  it("a truncation flag on a datagram that does not repeat the question moves nothing to TCP", async () => {
    const forged = (q: Uint8Array) => {
      const data = new Uint8Array(12);
      data.set(q.subarray(0, 2)); // the ID, guessed
      data[2] = 0x02; // TC, and not even marked a response
      return { data };
    };
    const udp = udpNetwork({ "10.0.0.1:53": (name, type, q, sent) => (sent === 1 ? [forged(q), ...answer(q, normal(name, type))] : []) });
    const tcp = tcpNetwork({ "10.0.0.1:53": normal });
    const r = new ServerResolver([S1], tcp.dial, 1000, { open: udp.open, retransmitMs: 500 });
    assert.deepEqual((await r.resolve("a.test")).addresses, ["192.0.2.10", "2001:db8::10"]);
    assert.deepEqual(tcp.connections, [], "the forged flag was ignored");
  });

  it("createResolver: a silent server fails within timeoutMs with a timeout naming it, not a bare one", async () => {
    const base = { hosts: {}, cacheSize: 0, ttlSeconds: 30, negativeTtlSeconds: 5, timeoutMs: 600, servers: [S1, S2], transport: "udp" } as const;
    const udp = udpNetwork({ "10.0.0.1:53": () => [], "10.0.0.2:53": () => [] });
    const resolver = createResolver(base, () => Promise.reject(new Error("no system lookup")), { dial: noTcp.dial, openDatagram: udp.open });
    const started = Date.now();
    await assert.rejects(resolver.resolve("a.test"), (e: unknown) => {
      assert.ok(e instanceof DnsError && e.code === "timeout");
      assert.match(e.message, /^Lookup of "a\.test" timed out: 10\.0\.0\.1:53: no answer within 500 ms; 10\.0\.0\.2:53: no answer within \d+ ms$/);
      return true;
    });
    assert.ok(Date.now() - started < 900, "within timeoutMs, not past it");
  });
});
