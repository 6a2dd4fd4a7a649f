/**
 * Reproduction for 01-proxy-status-error-types.patch. Place at test/e2e/proxy-status.test.ts.
 * Without the patch every upstream failure answers `Proxy-Status: …; error=proxy_internal_response`
 * (502) although RFC 9209 §2.3 has precise types a client or operator can act on.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";

describe("Proxy-Status names the upstream failure (RFC 9209 §2.3)", { timeout: 60_000 }, () => {
  let gw: GatewayProcess;
  let closedPort: number;

  before(async () => {
    // a port nobody listens on: listen, note it, close
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    closedPort = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    gw = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      policy: { defaultAction: "deny", rules: [{ id: "any", hosts: ["refused.test", ".invalid"], action: "allow" }] },
      dns: { hosts: { "refused.test": ["127.0.0.1"] } },
      addressGuard: { allow: ["127.0.0.0/8"] },
    });
  });

  after(async () => {
    await gw?.stop();
  });

  it("a name that does not resolve: dns_error", async () => {
    const r = await curl(["-i", "-x", `http://127.0.0.1:${gw.port}`, "http://no-such-host.invalid/"]);
    assert.match(r.stdout, /^HTTP\/1\.1 502 /);
    assert.match(r.stdout, /\r\nProxy-Status: tollgate; error=dns_error; /);
  });

  it("connection refused: connection_refused (CONNECT and plain HTTP)", async () => {
    const r = await curl(["-i", "-x", `http://127.0.0.1:${gw.port}`, `http://refused.test:${closedPort}/`]);
    assert.match(r.stdout, /^HTTP\/1\.1 502 /);
    assert.match(r.stdout, /\r\nProxy-Status: tollgate; error=connection_refused; /);
    const c = await curl(["-v", "-x", `http://127.0.0.1:${gw.port}`, `https://refused.test:${closedPort}/`]);
    assert.match(c.stderr, /Proxy-Status: tollgate; error=connection_refused; /);
  });
});
