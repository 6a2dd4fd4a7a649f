/**
 * A real HAProxy for PROXY protocol tests, installed by scripts/setup.sh (Debian package
 * haproxy): in TCP mode in front of the gateway, each frontend on a free loopback port
 * relaying to a loopback server line (e.g. with `send-proxy-v2`); or in HTTP mode behind
 * it, as a backend that takes PROXY headers (`accept-proxy`) and answers by itself.
 * @module
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../../helpers/temp-dir.ts";
import { startDaemon } from "./daemon.ts";
import { closedPort } from "./ports.ts";

export interface HaproxyFrontend {
  /** The server line's address and options, e.g. "127.0.0.1:3128 send-proxy-v2". */
  readonly server: string;
  /** Options after the bound address, e.g. "ssl crt /tmp/x/combined.pem" (TLS terminated here). */
  readonly bind?: string;
}

export interface Haproxy {
  /** Bound port of each frontend, in the order given. */
  readonly ports: readonly number[];
  readonly output: string[];
  stop(): Promise<void>;
}

/** Starts HAProxy in the foreground with one frontend per entry; waits until all accept. */
export function startHaproxy(frontends: readonly HaproxyFrontend[]): Promise<Haproxy> {
  return run(["mode tcp", "timeout connect 5s", "timeout client 30s", "timeout server 30s"], frontends.map((f, i) => (port) => [
    `frontend fe${i}`,
    `  bind 127.0.0.1:${port}${f.bind ? ` ${f.bind}` : ""}`,
    `  default_backend be${i}`,
    `backend be${i}`,
    `  server s${i} ${f.server}`,
  ]));
}

/** An HTTP-mode frontend that answers requests itself. */
export interface HaproxyHttpFrontend {
  /** Options after the bound address, e.g. "accept-proxy ssl crt /tmp/x/combined.pem". */
  readonly bind: string;
  /** Its rules, e.g. `http-request return status 200 lf-string "%[src]"`. */
  readonly rules: readonly string[];
}

/** Starts HAProxy in HTTP mode with one answering frontend per entry; waits until all accept. */
export function startHaproxyHttp(frontends: readonly HaproxyHttpFrontend[]): Promise<Haproxy> {
  return run(["mode http", "timeout client 30s", "timeout http-request 5s"], frontends.map((f, i) => (port) => [
    `frontend fe${i}`,
    `  bind 127.0.0.1:${port} ${f.bind}`,
    ...f.rules.map((r) => `  ${r}`),
  ]));
}

/** Writes the config (`defaults` lines, then each section given its free port) and starts HAProxy on it. */
async function run(defaults: readonly string[], sections: readonly ((port: number) => string[])[]): Promise<Haproxy> {
  const ports: number[] = [];
  for (let i = 0; i < sections.length; i++) ports.push(await closedPort());
  const lines = ["global", "  maxconn 200", "defaults", ...defaults.map((d) => `  ${d}`), ...sections.flatMap((section, i) => section(ports[i]!))];
  const file = join(tempDir("tollgate-haproxy-"), "haproxy.cfg");
  writeFileSync(file, lines.join("\n") + "\n");
  const daemon = await startDaemon("haproxy", ["-db", "-f", file], ports);
  return { ports, output: daemon.output, stop: () => daemon.stop() };
}
