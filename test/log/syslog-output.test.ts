import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { SyslogConfig } from "../../src/config/config.ts";
import type { Conn } from "../../src/core/conn.ts";
import type { Datagram } from "../../src/core/datagram.ts";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import type { TlsConnectOptions } from "../../src/core/tls.ts";
import { syslogOutput, type SyslogDeps } from "../../src/log/syslog-output.ts";
import { Registry } from "../../src/metrics/registry.ts";
import { createSyslogMetrics } from "../../src/metrics/syslog-metrics.ts";
import { flowRecord } from "../metrics/_record.ts";

const config = (url: string, more: Partial<SyslogConfig> = {}): SyslogConfig => ({ url, facility: "local0", appName: "tollgate", framing: "newline", queueBytes: 1 << 20, ...more });

/** Deps whose dial and TLS hand out in-memory connections (the far ends in `far`), and what they were asked. */
function deps(files: Record<string, string> = {}) {
  const registry = new Registry();
  const far: Conn[] = [];
  const asked: string[] = [];
  const said: string[] = [];
  const datagrams: string[] = [];
  const connect = (): Conn => {
    const [near, other] = memoryConnPair();
    far.push(other);
    return near;
  };
  const d: SyslogDeps = {
    runtime: {
      dial: (o) => (asked.push(`dial ${o.address}:${o.port}`), Promise.resolve(connect())),
      tls: {
        accept: () => Promise.reject(new Error("unused")),
        connect: (o: TlsConnectOptions) => {
          asked.push(`tls ${o.address}:${o.port} ${o.servername} verify=${o.verify} ca=${o.extraCaPem?.join()} cert=${o.clientCertPem} key=${o.clientKeyPem}`);
          return Promise.resolve({ conn: connect(), alpn: null, version: "TLSv1.3", servername: o.servername, peerCertificateDer: null });
        },
      },
      openDatagram: (address, port) => {
        asked.push(`udp ${address}:${port}`);
        return Promise.resolve({ send: (b) => (datagrams.push(new TextDecoder().decode(b)), Promise.resolve()), readable: new ReadableStream<Datagram>(), close: () => {} });
      },
    },
    resolve: (host) => Promise.resolve(host.kind === "dns" ? (host.name === "siem.test" ? ["192.0.2.9"] : []) : [host.address]),
    readText: (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error("nope"), { code: "ENOENT" });
      return text;
    },
    hostname: "gw1",
    pid: 42,
    say: (line) => said.push(line),
    metrics: createSyslogMetrics(registry),
    flushMs: 100,
  };
  const read = async (conn: Conn) => new TextDecoder().decode((await conn.readable.getReader().read()).value);
  return { d, far, asked, said, datagrams, read, exposed: () => registry.expose() };
}

/** Stands for a CA bundle: one CERTIFICATE block (the transport here is a fake). */
const CA_PEM = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n";

describe("syslogOutput", () => {
  it("udp: one datagram per record, to the collector's address", async () => {
    const t = deps();
    const out = syslogOutput(config("udp://127.0.0.1:5514"), t.d);
    out.write(flowRecord());
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(t.asked, ["udp 127.0.0.1:5514"]);
    assert.match(t.datagrams[0]!, /^<134>1 \S+ gw1 tollgate 42 flow - \{"type":"flow"/);
    assert.match(t.exposed(), /^tollgate_syslog_messages_total\{collector="udp:\/\/127\.0\.0\.1:5514",result="sent"\} 1$/m);
    await out.close();
  });

  it("tls: to the resolved address, the name in the URL as SNI and for validation, with the configured files", async () => {
    const t = deps({ "ca.pem": CA_PEM, "gw.pem": "CERT", "gw.key": "KEY" });
    const out = syslogOutput(config("tls://siem.test", { caFile: "ca.pem", certFile: "gw.pem", keyFile: "gw.key" }), t.d);
    out.write(flowRecord());
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(t.asked, [`tls 192.0.2.9:6514 siem.test verify=true ca=${CA_PEM} cert=CERT key=KEY`]);
    assert.match(await t.read(t.far[0]!), /^<134>1 .* flow - \{.*\}\n$/);
    assert.match(t.exposed(), /^tollgate_syslog_connected\{collector="tls:\/\/siem\.test:6514"\} 1$/m);
    const closing = out.close();
    t.far[0]!.close();
    await closing;
    assert.doesNotMatch(t.exposed(), /tollgate_syslog_connected\{/, "a collector no longer in force has no gauge");
    assert.throws(() => syslogOutput(config("tls://siem.test", { caFile: "missing.pem" }), t.d), /^Error: cannot read log\.syslog\.caFile "missing\.pem": ENOENT$/);
  });

  it("a name without addresses is a connection failure, said once", async () => {
    const t = deps();
    const out = syslogOutput(config("tcp://nowhere.test"), t.d);
    out.write(flowRecord());
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(t.said, ["syslog tcp://nowhere.test:514: nowhere.test has no address; messages are queued and sent once it is back"]);
    assert.match(t.exposed(), /^tollgate_syslog_connected\{collector="tcp:\/\/nowhere\.test:514"\} 0$/m);
    await out.close();
  });

  it("the output a reload replaced does not take the gauge from the one in force at the same collector", async () => {
    const t = deps();
    const old = syslogOutput(config("tcp://127.0.0.1:514"), t.d);
    old.write(flowRecord());
    await new Promise((r) => setTimeout(r, 20));
    const next = syslogOutput(config("tcp://127.0.0.1:514", { framing: "octet-counting" }), t.d);
    next.write(flowRecord());
    await new Promise((r) => setTimeout(r, 20));
    const closing = old.close();
    t.far[0]!.close();
    await closing;
    assert.match(t.exposed(), /^tollgate_syslog_connected\{collector="tcp:\/\/127\.0\.0\.1:514"\} 1$/m);
    const closingNext = next.close();
    t.far[1]!.close();
    await closingNext;
  });
});
