import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeLatin1 } from "../../src/core/bytes.ts";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import { RelayedConn } from "../../src/core/relayed-conn.ts";
import { handleReverse } from "../../src/flows/reverse.ts";
import { type ProxyHeader, ProxyHeaderReader } from "../../src/protocol/proxy-header.ts";
import { flowErrorKind } from "../../src/metrics/flow-error-kind.ts";
import { CertificateStore } from "../../src/reverse/cert-store.ts";
import type { PassthroughRouteConfig } from "../../src/reverse/config-types.ts";
import { type FlowHarness, okResponse, type ParsedHead, Peer, readResponse, within, withHarness } from "../helpers/flow-harness.ts";
import { answerEach, close, open, type PoolSpec, route, state } from "../helpers/reverse-harness.ts";

/** curl's real ClientHello: SNI example.com. */
const CURL = new Uint8Array(readFileSync(new URL("../fixtures/client-hello/curl-openssl.bin", import.meta.url)));
/** openssl s_client -noservername: no SNI. */
const NO_SNI = new Uint8Array(readFileSync(new URL("../fixtures/client-hello/openssl-noservername.bin", import.meta.url)));

const store = () =>
  new CertificateStore([{ chainPem: "CHAIN example", keyPem: "KEY example", names: ["example.com", "other.test"], source: "example.pem", notAfter: new Date(0) }], 0, "default");
const opts = { interception: {} };
const through = (extra: Partial<PassthroughRouteConfig> = {}): PassthroughRouteConfig => ({ id: "pt", hosts: ["example.com"], pool: "tls", ...extra });

/** Reads a PROXY header byte by byte with the gateway's own reader (its length varies with the client port). */
async function readProxyHeader(o: Peer): Promise<ProxyHeader> {
  const reader = new ProxyHeaderReader();
  for (;;) {
    const header = reader.push(await o.readBytes(1));
    if (header) return header;
  }
}

/**
 * A TLS backend stand-in: reads `expect` bytes (a PROXY header and/or the ClientHello), then
 * the client's next bytes, answers "server bytes: <what it read>" and closes.
 */
function backend(peer: Peer, expect: number, seen: Uint8Array[]): Promise<void> {
  return (async () => {
    seen.push(await peer.readBytes(expect));
    const next = await peer.readBytes(5);
    await peer.write(`server bytes: ${decodeLatin1(next)}`);
    await peer.end();
    await peer.readToEndOrReset();
  })();
}

describe("reverse flow: passthrough routes (TLS not terminated)", () => {
  it("relays the very same ClientHello and everything after it to the backend; no TLS accept, no certificate", async () => {
    await withHarness(opts, async (h) => {
      const seen: Uint8Array[] = [];
      h.origin("10.0.0.1", 443, (o) => backend(o, CURL.byteLength, seen));
      const s = state([route("web", ["*"], "web")], { tls: { backends: ["https://10.0.0.1"] }, web: { backends: ["http://10.0.0.2"] } }, [], { store: store(), passthrough: [through()] });
      const { c, done } = open(h, s);
      await c.writeSplit(CURL, [100, 7]);
      await c.write("hello");
      assert.equal(decodeLatin1(await c.readToEnd()), "server bytes: hello");
      await c.end();
      await within(done, 3000, "the passthrough flow");
      assert.deepEqual(seen[0], CURL);
      assert.equal(h.tls.accepts.length, 0, "the gateway did not terminate the TLS");
      assert.deepEqual(h.dials.map((d) => `${d.address}:${d.port}`), ["10.0.0.1:443"]);
      const r = h.record();
      assert.equal(r.kind, "tls");
      assert.equal(r.decision, "allow");
      assert.equal(r.rule, "pt");
      assert.equal(r.decryption, "passthrough");
      assert.equal(r.resolved, "10.0.0.1");
      assert.equal(r.reason, 'passthrough route "pt" to pool "tls" (backend https://10.0.0.1:443)');
      assert.equal(r.bytesUp, CURL.byteLength + 5);
      assert.equal(r.bytesDown, "server bytes: hello".length);
      assert.equal(h.requestRecords.length, 0);
    });
  });

  it("other names are still terminated with the listener's certificates", async () => {
    await withHarness(opts, async (h) => {
      h.origin("10.0.0.2", 80, async (o) => {
        await o.readHead();
        await o.write(okResponse("terminated"));
      });
      const s = state([route("web", ["*"], "web")], { tls: { backends: ["https://10.0.0.1"] }, web: { backends: ["http://10.0.0.2"] } }, [], {
        store: store(),
        passthrough: [through({ hosts: ["git.example.com", "*.apps.example.com"] })],
      });
      const { c, done } = open(h, s);
      await c.write(CURL);
      await c.write("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
      assert.equal((await readResponse(c)).body, "terminated");
      await close(c, done);
      assert.equal(h.tls.accepts.length, 1);
      assert.equal(h.record().decryption, null);
    });
  });

  for (const version of ["v1", "v2"] as const) {
    it(`a pool with proxyProtocol ${version}: the backend gets a PROXY header naming the client first, then the ClientHello`, async () => {
      await withHarness(opts, async (h) => {
        const seen: Uint8Array[] = [];
        h.origin("10.0.0.1", 443, async (o) => {
          const header = await readProxyHeader(o);
          await backend(o, CURL.byteLength, seen);
          assert.equal(header.version, version === "v1" ? 1 : 2);
          assert.equal(header.command, "proxy");
          assert.equal(header.source?.address, "127.0.0.1");
          assert.equal(header.destination?.port, 8443);
          const authority = header.tlvs.find((t) => t.type === 0x02);
          assert.equal(authority && decodeLatin1(authority.value), version === "v2" ? "example.com" : undefined);
        });
        const pools: Record<string, PoolSpec> = { tls: { backends: ["https://10.0.0.1"], proxyProtocol: version } };
        const { c, done } = open(h, state([], pools, [], { store: store(), passthrough: [through()] }));
        await c.write(CURL);
        await c.write("hello");
        assert.equal(decodeLatin1(await c.readToEnd()), "server bytes: hello");
        await c.end();
        await within(done, 3000, "the passthrough flow");
        assert.deepEqual(seen, [CURL], "the ClientHello right after the header");
        assert.equal(h.originErrors.length, 0, String(h.originErrors[0]));
      });
    });
  }

  it("behind a load balancer, the header passes on the client and the destination the balancer's header named", async () => {
    await withHarness(opts, async (h) => {
      const headers: ProxyHeader[] = [];
      h.origin("10.0.0.1", 443, async (o) => {
        headers.push(await readProxyHeader(o));
        await backend(o, CURL.byteLength, []);
      });
      const [proxySide, clientSide] = memoryConnPair({ remote: { address: "10.1.0.5", port: 40001 }, local: { address: "10.1.0.9", port: 8443 } });
      const relayed = new RelayedConn(proxySide, { address: "198.51.100.7", port: 4444 }, undefined, { address: "203.0.113.10", port: 443 });
      const s = state([], { tls: { backends: ["https://10.0.0.1"], proxyProtocol: "v1" } }, [], { store: store(), passthrough: [through()] });
      const done = handleReverse(relayed, { ...h.ctx, mode: "reverse", listenerName: "web" }, () => s);
      const c = new Peer(clientSide);
      await c.write(CURL);
      await c.write("hello");
      assert.equal(decodeLatin1(await c.readToEnd()), "server bytes: hello");
      await c.end();
      await within(done, 3000);
      assert.deepEqual(headers[0]?.source, { address: "198.51.100.7", port: 4444 });
      assert.deepEqual(headers[0]?.destination, { address: "203.0.113.10", port: 443 });
    });
  });

  it("a client outside the route's clients gets an access_denied alert; nothing is dialled", async () => {
    await withHarness(opts, async (h) => {
      const s = state([], { tls: { backends: ["https://10.0.0.1"] } }, [], { store: store(), passthrough: [through({ clients: ["10.0.0.0/8"] })] });
      const { c, done } = open(h, s);
      await c.write(CURL);
      const { data } = await c.readToEndOrReset();
      assert.deepEqual([...data], [21, 3, 3, 0, 2, 2, 49]);
      await within(done, 3000);
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.equal(r.decision, "deny");
      assert.equal(r.rule, "pt");
      assert.match(r.reason ?? "", /client 127\.0\.0\.1 is not in the clients of passthrough route "pt"/);
    });
  });

  it("fails over to the next backend when one refuses, and ejects it", async () => {
    await withHarness(opts, async (h) => {
      const seen: Uint8Array[] = [];
      h.origin("10.0.0.2", 443, (o) => backend(o, CURL.byteLength, seen));
      const logs: string[] = [];
      const s = state([], { tls: { backends: ["https://10.0.0.1", "https://10.0.0.2"] } }, logs, { store: store(), passthrough: [through()] });
      const { c, done } = open(h, s);
      await c.write(CURL);
      await c.write("hello");
      assert.equal(decodeLatin1(await c.readToEnd()), "server bytes: hello");
      await c.end();
      await within(done, 3000);
      assert.deepEqual(h.dials.map((d) => d.address), ["10.0.0.1", "10.0.0.2"]);
      assert.match(logs.join("\n"), /backend https:\/\/10\.0\.0\.1:443 of pool "tls" ejected/);
      assert.equal(h.record().resolved, "10.0.0.2");
    });
  });

  it("no backend reachable: an internal_error alert and the failures in the flow line", async () => {
    await withHarness(opts, async (h) => {
      const s = state([], { tls: { backends: ["https://10.0.0.1"] } }, [], { store: store(), passthrough: [through()] });
      const { c, done } = open(h, s);
      await c.write(CURL);
      const { data } = await c.readToEndOrReset();
      assert.deepEqual([...data], [21, 3, 3, 0, 2, 2, 80]);
      await within(done, 3000);
      const r = h.record();
      assert.equal(r.end, "error");
      assert.match(r.error ?? "", /No backend of pool "tls" could be reached: .*ECONNREFUSED/);
      assert.equal(flowErrorKind(r), "connect");
    });
  });

  it("most specific host first; a route for other listeners does not apply; \"*\" takes a ClientHello without SNI", async () => {
    await withHarness(opts, async (h) => {
      const seen: Uint8Array[] = [];
      h.origin("10.0.0.3", 443, (o) => backend(o, NO_SNI.byteLength, seen));
      h.origin("10.0.0.2", 443, (o) => backend(o, CURL.byteLength, seen));
      const pools: Record<string, PoolSpec> = {
        any: { backends: ["https://10.0.0.3"] },
        exact: { backends: ["https://10.0.0.2"] },
        elsewhere: { backends: ["https://10.0.0.9"] },
      };
      const passthrough = [
        through({ id: "any", hosts: ["*"], pool: "any" }),
        through({ id: "other-listener", hosts: ["example.com"], pool: "elsewhere", listeners: ["internal"] }),
        through({ id: "exact", hosts: ["example.com"], pool: "exact" }),
      ];
      for (const hello of [CURL, NO_SNI]) {
        const { c, done } = open(h, state([], pools, [], { store: store(), passthrough }));
        await c.write(hello);
        await c.write("hello");
        assert.equal(decodeLatin1(await c.readToEnd()), "server bytes: hello");
        await c.end();
        await within(done, 3000);
      }
      assert.deepEqual(h.records.map((r) => r.rule), ["exact", "any"]);
      assert.deepEqual(seen, [CURL, NO_SNI]);
    });
  });
});

describe("reverse flow: PROXY protocol to HTTP backends", () => {
  /** A backend that reads a PROXY header per connection, then answers requests with the header's client. */
  function proxyAware(h: FlowHarness, heads: ParsedHead[], connections: string[]): void {
    h.origin("10.0.0.1", 80, async (o) => {
      const header = await readProxyHeader(o);
      const client = `${header.source?.address}:${header.source?.port}`;
      connections.push(client);
      await answerEach(o, () => okResponse(`for ${client}`), heads);
    });
  }

  it("each client connection gets its own backend connection, named in its header; keep-alive stays on it; none is shared", async () => {
    await withHarness({}, async (h) => {
      const heads: ParsedHead[] = [];
      const connections: string[] = [];
      proxyAware(h, heads, connections);
      // a pool that would share idle connections at once: with PROXY headers it must not
      const s = state([route("r", ["*"], "P")], { P: { backends: ["http://10.0.0.1"], proxyProtocol: "v1", maxIdlePerBackend: 8, clientHoldMs: 0 } });
      const first = open(h, s);
      await first.c.write("GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\n");
      const one = await readResponse(first.c);
      await first.c.write("GET /2 HTTP/1.1\r\nHost: a.test\r\n\r\n");
      const two = await readResponse(first.c);
      await close(first.c, first.done);
      const second = open(h, s);
      await second.c.write("GET /3 HTTP/1.1\r\nHost: a.test\r\n\r\n");
      const three = await readResponse(second.c);
      await close(second.c, second.done);
      assert.equal(connections.length, 2, "one backend connection per client connection");
      assert.notEqual(connections[0], connections[1]);
      assert.equal(one.body, `for ${connections[0]}`);
      assert.equal(two.body, `for ${connections[0]}`);
      assert.equal(three.body, `for ${connections[1]}`);
      assert.equal(heads.length, 3);
      assert.equal(s.pools.get("P")?.idle?.stats().idle, 0);
    });
  });
});
