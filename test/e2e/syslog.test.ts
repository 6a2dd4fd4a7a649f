import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Received, type Rsyslog, startRsyslog } from "./support/rsyslog.ts";

/**
 * `log.syslog` against a real collector (rsyslogd): every flow and request record reaches it
 * as an RFC 5424 message it parses — facility, severity, HOSTNAME, APP-NAME, PROCID, MSGID,
 * and the record's JSON as the message — over UDP, TCP, TLS with the collector's certificate
 * validated by name, and TLS with a client certificate. Messages sent while the collector
 * is down reach it once it is back; a collector whose certificate does not validate is
 * named on stderr and gets nothing.
 */
describe("flow log to a syslog collector", { timeout: 120_000 }, () => {
  let pki: TestPki;
  let rsyslog: Rsyslog;
  let origin: http.Server;
  let originPort: number;
  let gw: GatewayProcess;
  const config = (syslog: Record<string, unknown>) => ({
    listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
    policy: {
      defaultAction: "deny",
      rules: [
        { id: "origin", hosts: ["origin.test"], action: "allow" },
        { id: "no-blocked", hosts: ["blocked.test"], action: "deny" },
      ],
    },
    dns: { hosts: { "origin.test": ["127.0.0.1"], "syslog.test": ["127.0.0.1"] } },
    addressGuard: { allow: ["127.0.0.0/8"] },
    limits: { drainTimeoutMs: 1000 },
    log: { flows: "stdout", syslog },
    admin: { listen: "127.0.0.1:0", token: "syslog-test-admin-token" },
  });
  const metric = async (pattern: RegExp) => {
    const text = await (await fetch(`http://127.0.0.1:${gw.ports.get("admin")}/metrics`, { headers: { authorization: "Bearer syslog-test-admin-token" } })).text();
    return Number(pattern.exec(text)?.[1] ?? NaN);
  };
  const reloadWith = async (syslog: Record<string, unknown>) => {
    writeFileSync(gw.configFile!, JSON.stringify(config(syslog)));
    assert.match(await gw.reload(), /SIGHUP: config reloaded/);
  };

  before(async () => {
    pki = makeTestPki(["syslog.test"]);
    // a client certificate for the gateway, from the same test CA
    const run = (...args: string[]) => execFileSync("openssl", args, { cwd: pki.dir, stdio: "pipe" });
    writeFileSync(join(pki.dir, "client.cnf"), "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=tollgate-gateway");
    run("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.pem", "-days", "2", "-extfile", "client.cnf");
    rsyslog = await startRsyslog({ certFile: join(pki.dir, "server.pem"), keyFile: join(pki.dir, "server.key"), clientCaFile: pki.caFile });
    origin = http.createServer((_req, res) => res.end("hello\n"));
    await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
    originPort = (origin.address() as { port: number }).port;
    gw = await startGateway(config({ url: `udp://127.0.0.1:${rsyslog.ports.udp}` }));
  });

  after(async () => {
    const graceful = await gw?.stop();
    await rsyslog?.stop();
    await new Promise((r) => origin?.close(r));
    assert.equal(graceful, true);
  });

  /** A request through the proxy (allowed, or denied for blocked.test); its local port names its flow. */
  const request = async (host: string) => {
    const r = await curl(["-sS", "-o", "/dev/null", "-w", "%{http_code} %{local_port}", "-x", `http://127.0.0.1:${gw.port}`, `http://${host}:${originPort}/x`]);
    const [status, port] = r.stdout.split(" ");
    return { status: Number(status), client: `127.0.0.1:${port}` };
  };

  /** The message rsyslog received on `input` for the flow of `client`, once it is there. */
  const receivedFor = async (input: string, client: string, timeoutMs = 15_000): Promise<Received> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = rsyslog.received().find((r) => r.input === input && r.msgId === "flow" && (JSON.parse(r.msg) as { client?: string }).client === client);
      if (m) return m;
      if (Date.now() > until) throw new Error(`no flow message for ${client} on ${input}; have:\n${rsyslog.received().map((r) => JSON.stringify(r)).join("\n")}\ngateway:\n${gw.stderr.join("")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  /** The message carries the very record of the flow log, and the header a collector files it by. */
  const sameAsFlowLog = async (m: Received, client: string, severity: string) => {
    const line = await gw.waitForFlow((f) => f.client === client);
    assert.deepEqual(JSON.parse(m.msg), line);
    assert.deepEqual([m.facility, m.severity, m.hostname, m.appName, m.procId], ["local0", severity, hostname(), "tollgate", String(gw.pid)]);
    assert.equal(Date.parse(m.time), Date.parse(line.time as string), "TIMESTAMP is the record's time");
  };

  it("over UDP: an allowed request is informational, a denied one a notice", async () => {
    const ok = await request("origin.test");
    assert.equal(ok.status, 200);
    const denied = await request("blocked.test");
    assert.equal(denied.status, 403);
    await sameAsFlowLog(await receivedFor("udp", ok.client), ok.client, "info");
    await sameAsFlowLog(await receivedFor("udp", denied.client), denied.client, "notice");
    const sent = await metric(/^tollgate_syslog_messages_total\{collector="udp:\/\/127\.0\.0\.1:\d+",result="sent"\} (\d+)$/m);
    assert.ok(sent >= 2, `sent ${sent}`);
  });

  it("over TCP after a reload, and what is sent while the collector is down arrives once it is back", async () => {
    await reloadWith({ url: `tcp://127.0.0.1:${rsyslog.ports.tcp}` });
    const first = await request("origin.test");
    await sameAsFlowLog(await receivedFor("tcp", first.client), first.client, "info");
    await rsyslog.stop();
    const whileDown = [await request("origin.test"), await request("origin.test")];
    await rsyslog.restart();
    for (const r of whileDown) await sameAsFlowLog(await receivedFor("tcp", r.client, 30_000), r.client, "info");
    assert.equal(await metric(/^tollgate_syslog_connected\{collector="tcp:\/\/127\.0\.0\.1:\d+"\} (\d+)$/m), 1);
    assert.match(gw.stderr.join(""), /syslog tcp:\/\/127\.0\.0\.1:\d+: .*messages are queued/);
    assert.match(gw.stderr.join(""), /syslog tcp:\/\/127\.0\.0\.1:\d+: connected again/);
  });

  it("over TLS to the collector's name, its certificate validated, with a client certificate", async () => {
    await reloadWith({
      url: `tls://syslog.test:${rsyslog.ports.mtls}`,
      caFile: pki.caFile,
      certFile: join(pki.dir, "client.pem"),
      keyFile: join(pki.dir, "client.key"),
      framing: "newline",
    });
    const r = await request("origin.test");
    await sameAsFlowLog(await receivedFor("mtls", r.client), r.client, "info");
    const text = await (await fetch(`http://127.0.0.1:${gw.ports.get("admin")}/config`, { headers: { authorization: "Bearer syslog-test-admin-token" } })).json() as { log: { syslog: { keyFile: string } } };
    assert.equal(text.log.syslog.keyFile, "[redacted]", "GET /config shows no key path");
  });

  it("a collector whose certificate does not validate gets nothing, and stderr says why", async () => {
    const before = rsyslog.received().length;
    // the same collector, by a name its certificate does not carry and without its CA
    await reloadWith({ url: `tls://127.0.0.1:${rsyslog.ports.tls}` });
    const r = await request("origin.test");
    await gw.waitForFlow((f) => f.client === r.client);
    const until = Date.now() + 10_000;
    while (!/syslog tls:\/\/127\.0\.0\.1:\d+: .*(certificate|verify|self.signed|issuer)/i.test(gw.stderr.join("")) && Date.now() < until) {
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.match(gw.stderr.join(""), /syslog tls:\/\/127\.0\.0\.1:\d+: .*(certificate|verify|self.signed|issuer)/i);
    assert.equal(rsyslog.received().filter((m) => m.input === "tls").length, 0, "nothing was sent to it");
    assert.ok(rsyslog.received().length >= before);
    // with its CA and by its name it validates (what the old one held is dropped after its flush time)
    await reloadWith({ url: `tls://syslog.test:${rsyslog.ports.tls}`, caFile: pki.caFile });
    const next = await request("origin.test");
    await sameAsFlowLog(await receivedFor("tls", next.client), next.client, "info");
  });

  it("on shutdown, the lines of the connections the drain closes still reach the collector", async () => {
    await reloadWith({ url: `tcp://127.0.0.1:${rsyslog.ports.tcp}` });
    // a tunnel left open: the drain closes it, and its flow line is written during the shutdown
    const tunnel = net.connect(gw.port, "127.0.0.1");
    tunnel.on("error", () => {});
    await new Promise<void>((resolve) => tunnel.once("connect", resolve));
    tunnel.write(`CONNECT origin.test:${originPort} HTTP/1.1\r\nHost: origin.test:${originPort}\r\n\r\n`);
    await new Promise<void>((resolve) => tunnel.once("data", () => resolve()));
    const client = `127.0.0.1:${tunnel.localPort}`;
    assert.equal(await gw.stop(), true);
    tunnel.destroy();
    const m = await receivedFor("tcp", client);
    assert.equal((JSON.parse(m.msg) as { kind: string }).kind, "connect");
  });
});
