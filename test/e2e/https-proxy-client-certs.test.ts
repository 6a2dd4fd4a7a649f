import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { join } from "node:path";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { type ClientCert, type ClientPki, makeClientCast } from "./support/client-pki.ts";
import { curl } from "./support/curl.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";
import { tls13Connect } from "../helpers/tls13-client.ts";
import { x509 } from "../../src/pki/_x509.ts";

/**
 * An HTTPS proxy listener with `tls.clientCertificates`: clients sign in with a certificate
 * from the configured CA (mutual TLS), checked against its CRL, with real curl and openssl-made
 * certificates. The certificate names the user the policy decides for; a client without a
 * valid one is refused with a 403 that says why, or (not required) goes on to a password.
 */
describe("HTTPS proxy listener with client certificates", { timeout: 120_000 }, () => {
  let pki: TestPki;
  let clients: ClientPki;
  let alice: ClientCert;
  let bob: ClientCert;
  let dave: ClientCert;
  let carol: ClientCert;
  let mallory: ClientCert;
  let crlFile: string;
  let origin: Origin;
  let gw: GatewayProcess;

  before(async () => {
    pki = makeTestPki(["origin.test", "127.0.0.1"]);
    ({ clients, alice, bob, dave, carol, mallory, crlFile } = makeClientCast());
    const [cmd, ...args] = cliCommand();
    const hash = execFileSync(cmd!, [...args, "auth", "hash", "--iterations", "100000"], { input: "s3cret\n", encoding: "utf8" }).trim();
    origin = await startOrigin();
    const serverTls = { certificates: [{ cert: join(pki.dir, "server.pem"), key: join(pki.dir, "server.key") }] };
    gw = await startGateway({
      listeners: [
        { name: "explicit", mode: "explicit", listen: "127.0.0.1:0", tls: { ...serverTls, clientCertificates: { caFile: clients.caFile, crlFile } } },
        { name: "either", mode: "explicit", listen: "127.0.0.1:0", tls: { ...serverTls, clientCertificates: { caFile: clients.caFile, crlFile, required: false } } },
      ],
      // dave's password is never asked: his certificate signs him in, with his groups
      proxyAuth: { realm: "tollgate", users: [{ name: "alice", passwordHash: hash }, { name: "dave", passwordHash: hash, groups: ["staff"] }] },
      policy: {
        defaultAction: "deny",
        rules: [
          { id: "alice-origin", hosts: ["origin.test"], users: ["alice"], action: "allow" },
          { id: "staff-origin", hosts: ["staff.test"], groups: ["staff"], action: "allow" },
        ],
      },
      dns: { hosts: { "origin.test": ["127.0.0.1"], "staff.test": ["127.0.0.1"] } },
      addressGuard: { allow: ["127.0.0.0/8"] },
      limits: { headerTimeoutMs: 3000 },
    });
  });

  after(async () => {
    const graceful = await gw?.stop();
    await origin?.close();
    assert.equal(graceful, true);
  });

  const via = (listener: string, cert?: ClientCert) => [
    "--proxy",
    `https://127.0.0.1:${gw.ports.get(listener)}`,
    "--proxy-cacert",
    pki.caFile,
    ...(cert ? ["--proxy-cert", cert.cert, "--proxy-key", cert.key] : []),
  ];
  const status = async (args: string[], url: string) => {
    const r = await curl(["-sS", "-o", "/dev/null", "-w", "%{http_code}", ...args, url]);
    return r.stdout;
  };

  it("signs in the user the certificate names: the policy decides for alice, and logs her", async () => {
    const r = await curl(["-sS", ...via("explicit", alice), `http://origin.test:${origin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from origin");
    const f = await gw.waitForFlow((f) => f.listener === "explicit" && f.user === "alice" && f.rule === "alice-origin");
    assert.equal(f.decision, "allow");
    // a CONNECT tunnel too
    const t = await curl(["-sS", ...via("explicit", alice), "--proxytunnel", `http://origin.test:${origin.port}/hello`]);
    assert.equal(t.stdout, "hello from origin", t.stderr);
    await gw.waitForFlow((f) => f.kind === "connect" && f.user === "alice" && f.rule === "alice-origin");
  });

  it("gives a user the local user's groups, and denies a user the policy does not allow", async () => {
    assert.equal(await status(via("explicit", dave), `http://staff.test:${origin.port}/hello`), "200");
    await gw.waitForFlow((f) => f.user === "dave" && f.rule === "staff-origin");
    assert.equal(await status(via("explicit", bob), `http://origin.test:${origin.port}/hello`), "403");
    const f = await gw.waitForFlow((f) => f.user === "bob");
    assert.equal(f.decision, "deny");
  });

  it("refuses a client without a certificate, with a foreign one, or with a revoked one, and says why", async () => {
    const none = await curl(["-sS", "-i", ...via("explicit"), `http://origin.test:${origin.port}/hello`]);
    assert.match(none.stdout, /^HTTP\/1\.1 403 /);
    assert.match(none.stdout, /no client certificate/);
    await gw.waitForFlow((f) => f.rule === "client-certificate" && f.reason === "no client certificate" && f.user === null);
    assert.equal(await status(via("explicit", mallory), `http://origin.test:${origin.port}/hello`), "403");
    const foreignFlow = await gw.waitForFlow((f) => f.rule === "client-certificate" && /Someone Else's CA/.test(String(f.reason)));
    assert.equal(foreignFlow.user, null);
    assert.equal(await status(via("explicit", carol), `http://origin.test:${origin.port}/hello`), "403");
    await gw.waitForFlow((f) => f.rule === "client-certificate" && /revoked/.test(String(f.reason)) && /carol/.test(String(f.reason)));
    // CONNECT is refused the same way, before any tunnel
    const tunnel = await curl(["-sS", ...via("explicit", carol), "--proxytunnel", `http://origin.test:${origin.port}/hello`]);
    assert.notEqual(tunnel.code, 0);
    assert.match(tunnel.stderr, /403/);
  });

  it("refuses a client that presents alice's certificate without holding its key", async () => {
    const leaf = pemDer(alice.certPem);
    const impostorKey = await importKey(mallory.keyPem);
    const port = gw.ports.get("explicit")!;
    const request = new TextEncoder().encode(`GET http://origin.test:${origin.port}/hello HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n`);
    const genuine = await tls13Connect({ host: "127.0.0.1", port, servername: "origin.test", certificates: [leaf], signingKey: await importKey(alice.keyPem), send: request });
    assert.equal(genuine.outcome, "established", "the helper completes a handshake with alice's own key");
    assert.match(new TextDecoder().decode(genuine.outcome === "established" ? genuine.received : new Uint8Array()), /^HTTP\/1\.1 200 /);
    const forged = await tls13Connect({ host: "127.0.0.1", port, servername: "origin.test", certificates: [leaf], signingKey: impostorKey, send: request });
    assert.notEqual(forged.outcome, "established");
    assert.ok(forged.certificateRequested);
  });

  it("without required: no certificate goes on to the password, a bad one is still refused", async () => {
    const url = `http://origin.test:${origin.port}/hello`;
    assert.equal(await status([...via("either"), "--proxy-user", "alice:s3cret"], url), "200");
    assert.equal(await status(via("either"), url), "407");
    assert.equal(await status([...via("either", mallory), "--proxy-user", "alice:s3cret"], url), "403");
    assert.equal(await status(via("either", alice), url), "200");
  });

  it("holds a new CRL from an open connection's next request after a reload", async () => {
    const port = gw.ports.get("explicit")!;
    const socket = tls.connect({ host: "127.0.0.1", port, ca: readFileSync(pki.caFile), cert: alice.certPem, key: alice.keyPem, servername: "origin.test" });
    await new Promise<void>((resolve, reject) => (socket.once("secureConnect", resolve), socket.once("error", reject)));
    let answer = "";
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => (answer += d));
    const ask = async () => {
      const before = answer.length;
      socket.write(`GET http://origin.test:${origin.port}/hello HTTP/1.1\r\nHost: origin.test:${origin.port}\r\n\r\n`);
      const end = Date.now() + 10_000;
      while (!/\r\n\r\n/.test(answer.slice(before)) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 100)); // the body
      return answer.slice(before);
    };
    try {
      assert.match(await ask(), /^HTTP\/1\.1 200 /);
      writeFileSync(crlFile, readFileSync(clients.revoke(alice.cert)));
      const verdict = await gw.reload();
      assert.match(verdict, /SIGHUP: config reloaded/);
      const second = await ask();
      assert.match(second, /^HTTP\/1\.1 403 /);
      assert.match(second, /revoked/);
    } finally {
      socket.destroy();
    }
  });

  it("closes an open CONNECT tunnel once a reload's new CRL revokes the certificate that opened it, not on a reload that changes nothing", async () => {
    // a certificate of its own (CN=alice, so the policy lets it through): revoking it leaves
    // alice's for the other tests, whatever their order
    const tunnelCert = clients.issue("alice-tunnel", "/CN=alice");
    // the tunnel's far end: an echo server that never closes an idle connection itself (the
    // origin's keep-alive timeout would end the tunnel by "eof")
    const held = new Set<net.Socket>();
    const echo = net.createServer((s) => {
      held.add(s);
      s.on("data", (d) => s.write(d));
      s.on("end", () => s.end());
      s.on("error", () => {});
      s.on("close", () => held.delete(s));
    });
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    const echoPort = (echo.address() as net.AddressInfo).port;
    const socket = tls.connect({ host: "127.0.0.1", port: gw.ports.get("explicit")!, ca: readFileSync(pki.caFile), cert: tunnelCert.certPem, key: tunnelCert.keyPem, servername: "origin.test" });
    let got = "";
    let closed = false;
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => (got += d));
    socket.on("error", () => {}); // a reset once the gateway closed it: the close says enough
    const whenClosed = new Promise<void>((resolve) => socket.once("close", () => ((closed = true), resolve())));
    /** Writes `text` and resolves with what came back since, once it ends with `until` (or closed, or 10 s). */
    const say = async (text: string, until: string) => {
      const from = got.length;
      socket.write(text);
      for (const end = Date.now() + 10_000; !got.slice(from).endsWith(until) && !closed && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
      return got.slice(from);
    };
    const isOurs = (f: Record<string, unknown>) => f.kind === "connect" && f.port === echoPort;
    try {
      await new Promise<void>((resolve, reject) => (socket.once("secureConnect", resolve), socket.once("error", reject)));
      assert.match(await say(`CONNECT origin.test:${echoPort} HTTP/1.1\r\nHost: origin.test:${echoPort}\r\n\r\n`, "\r\n\r\n"), /^HTTP\/1\.1 200 /);
      assert.equal(await say("ping 1\n", "ping 1\n"), "ping 1\n");

      // the CA and CRL files as they were: the listener keeps its settings, nothing is checked again
      assert.match(await gw.reload(), /SIGHUP: config reloaded/);
      await new Promise((r) => setTimeout(r, 500)); // the recheck runs in the background
      assert.equal(closed, false, "a reload that changed nothing left the tunnel open");
      assert.equal(await say("ping 2\n", "ping 2\n"), "ping 2\n", "the tunnel still carries bytes");
      assert.equal(gw.flows().find(isOurs), undefined, "no flow line: the tunnel is still open");

      writeFileSync(crlFile, readFileSync(clients.revoke(tunnelCert.cert)));
      assert.match(await gw.reload(), /SIGHUP: config reloaded/);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([whenClosed, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("the revoked certificate's tunnel is still open")), 10_000)))])
        .finally(() => clearTimeout(timer));
      const f = await gw.waitForFlow(isOurs);
      assert.equal(f.end, "revoked", JSON.stringify(f));
      assert.equal(f.user, "alice");
      assert.equal(f.host, "origin.test");
      assert.equal(f.rule, "alice-origin");
      assert.equal(f.decision, "allow");
      assert.match(String(f.error), /^its client certificate is refused now: .*revoked/);
      assert.equal(f.bytesUp, 14, "both pings went through");
      // and the gateway closed its side to the echo server too
      for (const end = Date.now() + 5000; held.size > 0 && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
      assert.equal(held.size, 0, "the upstream connection is closed");
    } finally {
      socket.destroy();
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });
});

/** The DER of the first certificate in `pem`. */
function pemDer(pem: string): Uint8Array {
  return new Uint8Array(new x509.X509Certificate(pem).rawData);
}

/** An ECDSA P-256 private key (PKCS#8 PEM, as openssl writes it) for signing. */
async function importKey(pem: string): Promise<CryptoKey> {
  const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  const der = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return await crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
}
