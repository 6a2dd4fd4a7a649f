/**
 * Open connections rechecked after a reload (SIGHUP), through a real gateway process: a
 * tunnel the new policy denies is closed and logged "revoked"; one it still allows runs
 * on; with `recheckOpenConnections: false` a reload leaves open tunnels alone. Only
 * 127.0.0.1: the tunnels go to a plain TCP server of the test's own.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import net from "node:net";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { openTunnel } from "./support/tunnel.ts";

const TOKEN = "test-token-recheck-0123456789";

describe("open connections rechecked on reload (real gateway)", { timeout: 60_000 }, () => {
  let server: net.Server;
  const held = new Set<net.Socket>();
  let gw: GatewayProcess;
  let port: number;

  const config = (deny: readonly string[], recheck = true) => ({
    listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
    admin: { listen: "127.0.0.1:0", token: TOKEN },
    addressGuard: { allow: ["127.0.0.0/8"] },
    dns: { hosts: { "social.test": ["127.0.0.1"], "docs.test": ["127.0.0.1"] } },
    policy: {
      defaultAction: "allow",
      recheckOpenConnections: recheck,
      rules: deny.length > 0 ? [{ id: "no-social", hosts: deny, action: "deny" }] : [],
    },
  });

  before(async () => {
    // a destination that accepts and holds connections (the tunnels carry nothing)
    server = net.createServer((s) => {
      held.add(s);
      s.resume(); // read (and drop) what comes, so the client's FIN is seen
      s.on("end", () => s.end());
      s.on("error", () => {});
      s.on("close", () => held.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as net.AddressInfo).port;
    gw = await startGateway(config([]));
  });

  after(async () => {
    await gw?.stop();
    for (const s of held) s.destroy();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it("a tunnel the new policy denies is closed and logged revoked; another runs on", async () => {
    const social = await openTunnel(gw.port, "social.test", port);
    const docs = await openTunnel(gw.port, "docs.test", port);
    try {
      writeFileSync(gw.configFile!, JSON.stringify(config(["social.test"])));
      assert.match(await gw.reload(), /config reloaded/);
      const started = Date.now();
      await Promise.race([social.closed, new Promise((_, reject) => setTimeout(() => reject(new Error("the denied tunnel is still open")), 5000))]);
      const f = await gw.waitForFlow((f) => f.host === "social.test");
      assert.equal(f.end, "revoked");
      assert.equal(f.decision, "allow");
      assert.match(String(f.error), /^the policy denies it now: rule "no-social" matched host/);
      assert.ok(Date.now() - started < 5000);
      const metrics = await (await fetch(`http://127.0.0.1:${gw.ports.get("admin")}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      assert.match(metrics, /^tollgate_connections_revoked_total\{listener="explicit",mode="explicit"\} 1$/m);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(docs.isOpen(), true, "a tunnel still allowed runs on");
      // the tunnel still carries bytes
      docs.socket.write("ping");
    } finally {
      social.socket.destroy();
      docs.socket.destroy();
    }

    const f = await gw.waitForFlow((f) => f.host === "docs.test");
    assert.notEqual(f.end, "revoked");
    assert.equal(f.bytesUp, 4);
  });

  it('with "recheckOpenConnections": false a reload leaves open tunnels alone', async () => {
    writeFileSync(gw.configFile!, JSON.stringify(config([], false)));
    assert.match(await gw.reload(), /config reloaded/);
    const docs = await openTunnel(gw.port, "docs.test", port);
    try {
      writeFileSync(gw.configFile!, JSON.stringify(config(["docs.test"], false)));
      assert.match(await gw.reload(), /config reloaded/);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(docs.isOpen(), true);
      // …but a new one is denied
      await assert.rejects(openTunnel(gw.port, "docs.test", port), /403/);
    } finally {
      docs.socket.destroy();
    }
  });
});
