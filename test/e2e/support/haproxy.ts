/**
 * A real HAProxy in TCP mode in front of the gateway, for PROXY protocol tests: each
 * frontend on a free loopback port relays to a loopback server line (e.g. with
 * `send-proxy-v2`). Installed by scripts/setup.sh (Debian package haproxy).
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { tempDir } from "../../helpers/temp-dir.ts";
import { closedPort } from "./ports.ts";

export interface HaproxyFrontend {
  /** The server line's address and options, e.g. "127.0.0.1:3128 send-proxy-v2". */
  readonly server: string;
}

export interface Haproxy {
  /** Bound port of each frontend, in the order given. */
  readonly ports: readonly number[];
  readonly output: string[];
  stop(): Promise<void>;
}

/** The haproxy binary (Debian puts it in /usr/sbin, which a non-root PATH may lack). */
export function haproxyBinary(): string {
  for (const p of ["/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"]) if (existsSync(p)) return p;
  try {
    return execFileSync("sh", ["-c", "command -v haproxy"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("haproxy is not installed: run scripts/setup.sh");
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/** Starts HAProxy in the foreground with one frontend per entry; waits until all accept. */
export async function startHaproxy(frontends: readonly HaproxyFrontend[]): Promise<Haproxy> {
  const ports: number[] = [];
  for (let i = 0; i < frontends.length; i++) ports.push(await closedPort());
  const lines = [
    "global",
    "  maxconn 200",
    "defaults",
    "  mode tcp",
    "  timeout connect 5s",
    "  timeout client 30s",
    "  timeout server 30s",
    ...frontends.flatMap((f, i) => [
      `frontend fe${i}`,
      `  bind 127.0.0.1:${ports[i]}`,
      `  default_backend be${i}`,
      `backend be${i}`,
      `  server s${i} ${f.server}`,
    ]),
  ];
  const file = join(tempDir("tollgate-haproxy-"), "haproxy.cfg");
  writeFileSync(file, lines.join("\n") + "\n");
  const output: string[] = [];
  const child: ChildProcess = spawn(haproxyBinary(), ["-db", "-f", file], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (d: Buffer) => output.push(String(d)));
  child.stderr?.on("data", (d: Buffer) => output.push(String(d)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited ${child.exitCode}: ${output.join("")}`);
    const ready = await Promise.all(ports.map(accepts));
    if (ready.every(Boolean)) break;
    if (Date.now() > until) {
      await stop();
      throw new Error(`haproxy did not listen within 10 s: ${output.join("")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { ports, output, stop };
}
