/**
 * A real syslog collector for end-to-end tests: rsyslogd in the foreground on free ports of
 * 127.0.0.1 — UDP, TCP, TLS (anonymous clients) and TLS that requires a client certificate —
 * writing every message it parses as one line of its fields to a file of the test's own.
 * Installed by scripts/setup.sh (Debian packages rsyslog and rsyslog-gnutls).
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../../helpers/temp-dir.ts";
import { startDaemon } from "./daemon.ts";
import { closedPort } from "./ports.ts";

/** One message as rsyslog parsed it (RFC 5424 fields by rsyslog's own names). */
export interface Received {
  /** Which input took it: "udp", "tcp", "tls" or "mtls". */
  readonly input: string;
  readonly facility: string;
  readonly severity: string;
  readonly hostname: string;
  readonly appName: string;
  readonly procId: string;
  readonly msgId: string;
  readonly time: string;
  readonly msg: string;
}

export interface Rsyslog {
  readonly ports: { readonly udp: number; readonly tcp: number; readonly tls: number; readonly mtls: number };
  /** Every message received so far, in order. */
  received(): Received[];
  /** Starts it again on the same ports (after `stop`), appending to the same file. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  readonly output: string[];
}

/**
 * Starts rsyslogd. `tls`: its certificate and key (PEM files) for both TLS inputs, and
 * `clientCaFile`, the CA the `mtls` input requires client certificates to chain to.
 */
export async function startRsyslog(tls: { certFile: string; keyFile: string; clientCaFile: string }): Promise<Rsyslog> {
  const dir = tempDir("tollgate-rsyslog-");
  const ports = { udp: await closedPort(), tcp: await closedPort(), tls: await closedPort(), mtls: await closedPort() };
  const out = join(dir, "received.log");
  const conf = join(dir, "rsyslog.conf");
  const driver = (auth: string) =>
    `streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="${auth}" ` +
    `streamDriver.CAFile="${tls.clientCaFile}" streamDriver.CertFile="${tls.certFile}" streamDriver.KeyFile="${tls.keyFile}"`;
  writeFileSync(conf, `
global(workDirectory="${dir}" maxMessageSize="64k")
module(load="imudp")
module(load="imtcp" maxSessions="50")
input(type="imudp" address="127.0.0.1" port="${ports.udp}" name="udp")
input(type="imtcp" address="127.0.0.1" port="${ports.tcp}" name="tcp")
input(type="imtcp" address="127.0.0.1" port="${ports.tls}" name="tls" ${driver("anon")})
input(type="imtcp" address="127.0.0.1" port="${ports.mtls}" name="mtls" ${driver("x509/certvalid")})
template(name="fields" type="list") {
  property(name="inputname") constant(value="|") property(name="syslogfacility-text") constant(value="|")
  property(name="syslogseverity-text") constant(value="|") property(name="hostname") constant(value="|")
  property(name="app-name") constant(value="|") property(name="procid") constant(value="|")
  property(name="msgid") constant(value="|") property(name="timereported" dateFormat="rfc3339") constant(value="|")
  property(name="msg") constant(value="\\n")
}
action(type="omfile" file="${out}" template="fields" flushInterval="0" asyncWriting="off")
`);
  const start = () => startDaemon("rsyslogd", ["-n", "-f", conf, "-i", join(dir, "rsyslogd.pid")], [ports.tcp, ports.tls, ports.mtls]);
  let daemon = await start();
  return {
    ports,
    get output() {
      return daemon.output;
    },
    received: () => {
      if (!existsSync(out)) return [];
      return readFileSync(out, "utf8").split("\n").filter((l) => l !== "").map((line) => {
        const f = line.split("|");
        const [input, facility, severity, hostname, appName, procId, msgId, time] = f;
        return { input: input!, facility: facility!, severity: severity!, hostname: hostname!, appName: appName!, procId: procId!, msgId: msgId!, time: time!, msg: f.slice(8).join("|").trim() };
      });
    },
    restart: async () => {
      daemon = await start();
    },
    stop: () => daemon.stop(),
  };
}
