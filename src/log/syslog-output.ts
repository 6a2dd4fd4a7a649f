/**
 * `log.syslog`: every flow and request record also goes to a syslog collector, as an RFC 5424
 * message over UDP, TCP or TLS — for the SIEM that keeps a security team's logs. The
 * collector's name is resolved by the gateway's resolver (static hosts first) each time a
 * connection or socket is opened; a TLS collector's certificate is validated (system roots
 * and `caFile`), and a client certificate is shown when configured.
 * @module
 */
import type { SyslogConfig } from "../config/config.ts";
import type { Conn } from "../core/conn.ts";
import type { DatagramSocket } from "../core/datagram.ts";
import { hostText } from "../core/host.ts";
import type { Runtime } from "../core/runtime.ts";
import type { SyslogMetrics } from "../metrics/syslog-metrics.ts";
import type { Host } from "../policy/types.ts";
import type { FlowOutput } from "./flow-output.ts";
import { syslogMessage, type SyslogOrigin } from "./syslog-message.ts";
import { SyslogDatagram } from "./syslog-datagram.ts";
import { SyslogStream } from "./syslog-stream.ts";
import { parseSyslogUrl } from "./syslog-url.ts";
import { readCaBundle, readSetting } from "../config/setting-file.ts";

/** How long a closing output (a reload that changes it, the gateway's shutdown) may take to send what is queued. */
export const SYSLOG_FLUSH_MS = 3000;

export interface SyslogDeps {
  readonly runtime: Pick<Runtime, "dial" | "openDatagram" | "tls">;
  /** The collector's addresses (IP literals come back as they are). */
  readonly resolve: (host: Host, signal?: AbortSignal) => Promise<readonly string[]>;
  /** Reads `caFile`, `certFile`, `keyFile` (relative to the config). */
  readonly readText: (path: string) => string;
  /** The machine's host name (the default HOSTNAME) and this process's id (PROCID). */
  readonly hostname: string;
  readonly pid: number;
  /** A line for the operator (stderr): the collector lost, and found again. */
  readonly say: (line: string) => void;
  /** Messages sent or dropped; whether the collector's connection is up (TCP, TLS). */
  readonly metrics: SyslogMetrics;
  /** How long `close()` may take to send what is queued (default {@link SYSLOG_FLUSH_MS}). */
  readonly flushMs?: number;
}

/**
 * The TLS files of `config` (PEM text), read now.
 * @throws {Error} naming the file that cannot be read (`cannot read log.syslog.caFile "ca.pem": ENOENT`),
 * or a `caFile` that holds no certificate
 */
export function readSyslogTls(config: SyslogConfig, readText: (path: string) => string): { extraCaPem: string[]; clientCertPem?: string; clientKeyPem?: string } {
  const read = (field: "certFile" | "keyFile", path: string) => readSetting(readText, `log.syslog.${field}`, path);
  return {
    extraCaPem: config.caFile ? [readCaBundle(readText, "log.syslog.caFile", config.caFile)] : [],
    ...(config.certFile && config.keyFile ? { clientCertPem: read("certFile", config.certFile), clientKeyPem: read("keyFile", config.keyFile) } : {}),
  };
}

/** `config` and the contents of its TLS files: equal keys, the same collector output (see `LogOutputs`). */
export function syslogKey(config: SyslogConfig, readText: (path: string) => string): string {
  return JSON.stringify([config, /^tls:/i.test(config.url) ? readSyslogTls(config, readText) : null]);
}

/** A flow output to the collector `config` names. Reads its TLS files now: throws when one cannot be read. */
export function syslogOutput(config: SyslogConfig, deps: SyslogDeps): FlowOutput & { close(): Promise<void> } {
  const address = parseSyslogUrl(config.url);
  const origin: SyslogOrigin = { facility: config.facility, hostname: config.hostname ?? deps.hostname, appName: config.appName, procId: String(deps.pid) };
  const where = `${address.transport}://${address.authority}`;
  let down = false;
  const count = (result: "sent" | "dropped", n: number) => deps.metrics.messages.labels(where, result).inc(n);
  // records come only to the output in force: the first one claims the collector's gauge
  const self = {};
  let claimed = false;
  const claim = () => {
    if (claimed) return;
    claimed = true;
    deps.metrics.inForce.set(where, self);
  };
  const onState = (connected: boolean, error?: string) => {
    if (deps.metrics.inForce.get(where) === self) deps.metrics.connected.labels(where).set(connected ? 1 : 0);
    if (connected && down) deps.say(`syslog ${where}: connected again`);
    else if (!connected && !down) deps.say(`syslog ${where}: ${error ?? "lost"}; messages are queued and sent once it is back`);
    down = !connected;
  };
  const firstAddress = async (signal?: AbortSignal): Promise<string> => {
    const addresses = await deps.resolve(address.host, signal);
    const first = addresses[0];
    if (first === undefined) throw new Error(`${hostText(address.host)} has no address`);
    return first;
  };

  if (address.transport === "udp") {
    const openDatagram = deps.runtime.openDatagram;
    const sender = new SyslogDatagram({
      open: async (): Promise<DatagramSocket> => {
        if (!openDatagram) throw new Error("this runtime has no UDP");
        return openDatagram(await firstAddress(), address.port);
      },
      onCount: count,
      onState: (connected, error) => {
        if (connected) deps.say(`syslog ${where}: socket open again`);
        else deps.say(`syslog ${where}: ${error ?? "no socket"}; messages are dropped until it opens`);
      },
    });
    return { write: (record) => sender.send(syslogMessage(record, origin)), close: () => sender.close() };
  }

  const tls = address.transport === "tls" ? readSyslogTls(config, deps.readText) : undefined;
  const connect = async (signal: AbortSignal): Promise<Conn> => {
    const ip = await firstAddress(signal);
    if (!tls) return deps.runtime.dial({ address: ip, port: address.port, signal });
    const session = await deps.runtime.tls.connect({
      address: ip,
      port: address.port,
      servername: hostText(address.host),
      verify: true,
      alpn: [],
      minVersion: "TLSv1.2",
      signal,
      ...tls,
    });
    return session.conn;
  };
  const stream = new SyslogStream({ connect, framing: config.framing, queueBytes: config.queueBytes, onState, onCount: count });
  return {
    write: (record) => {
      claim();
      stream.send(syslogMessage(record, origin));
    },
    close: async () => {
      if (deps.metrics.inForce.get(where) === self) {
        // a collector no longer in force is neither up nor down
        deps.metrics.inForce.delete(where);
        deps.metrics.connected.remove(where);
      }
      await stream.close(deps.flushMs ?? SYSLOG_FLUSH_MS);
    },
  };
}
