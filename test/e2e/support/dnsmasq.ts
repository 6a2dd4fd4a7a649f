/**
 * A real DNS server for end-to-end tests: dnsmasq on a free port of 127.0.0.1 (UDP and TCP),
 * answering only from a hosts file and CNAMEs of the test's own, never forwarding anywhere
 * (`--no-resolv`, no servers). Installed by scripts/setup.sh (Debian package dnsmasq-base).
 * @module
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../../helpers/temp-dir.ts";
import { startDaemon } from "./daemon.ts";
import { closedPort } from "./ports.ts";

export interface DnsmasqZone {
  /** Names and their addresses, in hosts-file order (dnsmasq may answer in another). */
  readonly hosts: Readonly<Record<string, readonly string[]>>;
  /** Aliases: CNAME name → target (a name in `hosts`). */
  readonly cnames?: Readonly<Record<string, string>>;
}

export interface Dnsmasq {
  readonly port: number;
  readonly output: string[];
  stop(): Promise<void>;
}

/** Starts dnsmasq in the foreground serving `zone`; waits until it accepts TCP (it binds UDP first). */
export async function startDnsmasq(zone: DnsmasqZone): Promise<Dnsmasq> {
  const port = await closedPort();
  const dir = tempDir("tollgate-dnsmasq-");
  const hostsFile = join(dir, "hosts");
  writeFileSync(hostsFile, Object.entries(zone.hosts).flatMap(([name, addresses]) => addresses.map((a) => `${a} ${name}`)).join("\n") + "\n");
  const args = [
    "--keep-in-foreground",
    "--log-facility=-",
    `--port=${port}`,
    "--listen-address=127.0.0.1",
    "--bind-interfaces",
    "--no-resolv", // answers only from the test's names: nothing is forwarded anywhere
    "--no-hosts",
    `--addn-hosts=${hostsFile}`,
    "--pid-file=", // no pid file in /run
    "--conf-file=/dev/null",
    ...Object.entries(zone.cnames ?? {}).map(([alias, target]) => `--cname=${alias},${target}`),
    // as root it would switch to the user nobody, who may not read the test's temp directory
    ...(process.getuid?.() === 0 ? ["--user=root"] : []),
  ];
  const daemon = await startDaemon("dnsmasq", args, [port]);
  return { port, output: daemon.output, stop: () => daemon.stop() };
}
