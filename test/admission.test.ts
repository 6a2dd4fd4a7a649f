import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Admission } from "../src/admission.ts";
import { parseConfig } from "../src/config/parse.ts";
import type { Conn } from "../src/core/conn.ts";
import { memoryConnPair } from "../src/core/memory-conn.ts";
import { Drain } from "../src/flows/drain.ts";
import { createGatewayMetrics } from "../src/metrics/gateway-metrics.ts";
import { Registry } from "../src/metrics/registry.ts";
import { Peer, withHarness } from "./helpers/flow-harness.ts";

const listener = parseConfig({ listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:3128" }] }).listeners[0]!;

/**
 * An acceptor with `limits` whose served connections are held until the test lets them go
 * (`held`); `connect(address)` says "served" or the status of the refusal it got.
 */
function heldAcceptor(h: { ctx: Parameters<Admission["acceptor"]>[1] }, limits: ConstructorParameters<typeof Admission>[0]["limits"]) {
  const admission = new Admission({ limits, metrics: createGatewayMetrics(new Registry()), active: new Map() });
  const held: (() => void)[] = [];
  const accept = admission.acceptor(listener, h.ctx, () => new Promise<void>((done) => held.push(done)));
  let port = 40000;
  const connect = async (address: string): Promise<string> => {
    const [server, client] = memoryConnPair({ remote: { address, port: port++ } });
    const before = held.length;
    accept(server);
    if (held.length > before) return "served";
    const peer = new Peer(client);
    const head = await peer.readHead();
    await peer.readToEndOrReset();
    return String(head.status);
  };
  return { admission, held, connect };
}

describe("Admission", () => {
  it("holds each client address (IPv6: its /64) to its rate of new connections: 429 with Retry-After past the burst, logged", async () => {
    await withHarness({}, async (h) => {
      const metrics = createGatewayMetrics(new Registry());
      const admission = new Admission({
        limits: { maxConnections: 100, maxConnectionsPerClient: 100, connectionRatePerClient: 1, connectionBurstPerClient: 2 },
        metrics,
        active: new Map(),
      });
      const served: Conn[] = [];
      const accept = admission.acceptor(listener, { ...h.ctx, mode: "explicit", listenerName: "explicit" }, (conn) => {
        served.push(conn);
        return Promise.resolve();
      });
      /** A new connection from `address`: what it was answered (empty when it was served). */
      const connect = async (address: string): Promise<string> => {
        const [server, client] = memoryConnPair({ remote: { address, port: 40000 + served.length } });
        const before = served.length;
        accept(server);
        if (served.length > before) {
          client.close();
          return "";
        }
        const peer = new Peer(client);
        const head = await peer.readHead();
        await peer.readToEndOrReset();
        return `${head.status} ${head.get("retry-after")}`;
      };
      assert.deepEqual([await connect("192.0.2.7"), await connect("192.0.2.7"), await connect("192.0.2.7")], ["", "", "429 1"]);
      assert.equal(await connect("192.0.2.8"), "", "another address has its own");
      assert.deepEqual([await connect("2001:db8:1:2::1"), await connect("2001:db8:1:2::2"), await connect("2001:db8:1:2:ffff::9")], ["", "", "429 1"]);
      const refused = h.records.filter((r) => r.rule === "limit");
      assert.equal(refused.length, 2);
      assert.equal(refused[0]?.status, 429);
      assert.equal(refused[0]?.decision, "deny");
      assert.match(refused[0]?.reason ?? "", /too many new connections from 192\.0\.2\.7 \(limit 1 a second, 2 at once\)/);
      assert.match(refused[1]?.reason ?? "", /from 2001:db8:1:2::\/64/);
      assert.match(metrics.registry.expose(), /^tollgate_errors_total\{kind="limit"\} 2$/m);
    });
  });

  it("update() holds the next connections to new limits; open connections stay, unchanged rate buckets stay", async () => {
    await withHarness({}, async (h) => {
      const limits = { maxConnections: 100, maxConnectionsPerClient: 3, connectionRatePerClient: 1, connectionBurstPerClient: 3 };
      const { admission, held, connect } = heldAcceptor(h, limits);
      assert.deepEqual([await connect("192.0.2.7"), await connect("192.0.2.7")], ["served", "served"]);

      admission.update({ ...limits, maxConnectionsPerClient: 1 });
      assert.equal(admission.open.size, 2, "the open connections are not closed");
      assert.equal(await connect("192.0.2.7"), "503", "the lower per-client limit holds the next one");
      assert.match(h.records.at(-1)?.reason ?? "", /too many connections from 192\.0\.2\.7 \(limit 1\)/);

      admission.update({ ...limits, maxConnectionsPerClient: 10 });
      assert.equal(await connect("192.0.2.7"), "429", "the same rate keeps its buckets: 192.0.2.7 used up its burst of 3");

      admission.update({ ...limits, maxConnectionsPerClient: 10, connectionBurstPerClient: 5 });
      assert.equal(await connect("192.0.2.7"), "served", "a new rate starts with full buckets");

      admission.update({ ...limits, maxConnectionsPerClient: 10, maxConnections: 3, connectionRatePerClient: 0 });
      assert.equal(await connect("192.0.2.9"), "503", "the lower process-wide limit holds the next one");
      for (const done of held) done();
    });
  });

  it("holds each served connection in the listener's drain until its flow ends, so a dropped listener can close it", async () => {
    const drain = new Drain().child();
    await withHarness({ drain }, async (h) => {
      const admission = new Admission({
        limits: { maxConnections: 10, maxConnectionsPerClient: 10, connectionRatePerClient: 0, connectionBurstPerClient: 1 },
        metrics: createGatewayMetrics(new Registry()),
        active: new Map(),
      });
      const flows: (() => void)[] = [];
      const accept = admission.acceptor(listener, h.ctx, () => new Promise<void>((done) => flows.push(done)));
      const raw: Conn[] = [];
      const clients = [0, 1].map((i) => {
        const [server, client] = memoryConnPair({ remote: { address: "192.0.2.7", port: 40000 + i } });
        accept(server);
        raw.push(client, server);
        return new Peer(client);
      });
      assert.equal(drain.open, 2);
      flows[0]!();
      await new Promise((r) => setTimeout(r, 0));
      assert.equal(drain.open, 1, "the ended flow's connection is let go");
      drain.closeOpen();
      assert.equal((await clients[1]!.readToEndOrReset()).data.byteLength, 0, "the one still open is closed");
      flows[1]!();
      for (const c of raw) c.close();
    });
  });

  it("holds each client to maxConnectionsPerClient, an IPv6 client across the addresses of its /64; a closed one frees its place", async () => {
    await withHarness({}, async (h) => {
      const limits = { maxConnections: 100, maxConnectionsPerClient: 2, connectionRatePerClient: 0, connectionBurstPerClient: 200 };
      const { held, connect } = heldAcceptor(h, limits);
      try {
        const answers: string[] = [];
        for (let i = 1; i <= 3; i++) answers.push(await connect(`2001:db8:1:2::${i}`));
        answers.push(await connect("2001:db8:1:3::1"), await connect("192.0.2.1"), await connect("192.0.2.2"));
        assert.deepEqual(answers, ["served", "served", "503", "served", "served", "served"], "another /64, other IPv4 addresses are served");
        assert.match(h.records.at(-1)?.reason ?? "", /too many connections from 2001:db8:1:2::\/64 \(limit 2\)/);
        held.shift()!(); // the first from 2001:db8:1:2::/64 ends
        await new Promise((r) => setTimeout(r, 10));
        assert.equal(await connect("2001:db8:1:2::9"), "served");
      } finally {
        for (const done of held) done();
      }
    });
  });

  it("a rate of 0 is no limit", async () => {
    await withHarness({}, (h) => {
      const admission = new Admission({
        limits: { maxConnections: 1000, maxConnectionsPerClient: 1000, connectionRatePerClient: 0, connectionBurstPerClient: 1 },
        metrics: createGatewayMetrics(new Registry()),
        active: new Map(),
      });
      let served = 0;
      const accept = admission.acceptor(listener, h.ctx, () => (served++, Promise.resolve()));
      for (let i = 0; i < 50; i++) {
        const [server, client] = memoryConnPair({ remote: { address: "192.0.2.7", port: 40000 + i } });
        accept(server);
        client.close();
      }
      assert.equal(served, 50);
      return Promise.resolve();
    });
  });

  it("past maxConnections, an HTTP listener's client gets a 503; a TLS, HTTPS proxy or SOCKS client is closed, not sent HTTP", async () => {
    await withHarness({}, async (h) => {
      const admission = new Admission({
        limits: { maxConnections: 1, maxConnectionsPerClient: 10, connectionRatePerClient: 0, connectionBurstPerClient: 1 },
        metrics: createGatewayMetrics(new Registry()),
        active: new Map(),
      });
      const held: (() => void)[] = [];
      const first = admission.acceptor(listener, h.ctx, () => new Promise<void>((done) => held.push(done)));
      const [server0, client0] = memoryConnPair({ remote: { address: "192.0.2.7", port: 40000 } });
      first(server0);
      let port = 40001;
      const overloaded = async (ctx: typeof h.ctx): Promise<string> => {
        const accept = admission.acceptor(listener, ctx, () => Promise.resolve());
        const [server, client] = memoryConnPair({ remote: { address: "192.0.2.8", port: port++ } });
        accept(server);
        const got = await new Peer(client).readToEndOrReset();
        return new TextDecoder().decode(got.data).split("\r\n")[0] ?? "";
      };
      assert.match(await overloaded({ ...h.ctx, mode: "explicit" }), /^HTTP\/1\.1 503 /);
      assert.equal(await overloaded({ ...h.ctx, mode: "explicit", tlsFirst: true }), "");
      assert.equal(await overloaded({ ...h.ctx, mode: "socks5" }), "");
      assert.equal(await overloaded({ ...h.ctx, mode: "transparent" }), "");
      for (const done of held) done();
      client0.close();
    });
  });
});
