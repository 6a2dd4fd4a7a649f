/**
 * Real peers the end-to-end tests run as child processes (HAProxy, dnsmasq): finding a
 * Debian binary, starting it in the foreground, waiting until it accepts on its loopback
 * ports, and stopping it.
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";

/** A peer process: what it printed, and how to stop it (SIGTERM, then SIGKILL after 3 s). */
export interface Daemon {
  readonly output: string[];
  stop(): Promise<void>;
}

/** The path of `name` (Debian puts daemons in /usr/sbin, which a non-root PATH may lack). */
export function daemonBinary(name: string): string {
  for (const dir of ["/usr/sbin", "/usr/bin", "/usr/local/sbin"]) if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  try {
    return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(`${name} is not installed: run scripts/setup.sh`);
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

/** Starts `name` with `args`; resolves once every one of `ports` accepts TCP on 127.0.0.1 (within 10 s). */
export async function startDaemon(name: string, args: readonly string[], ports: readonly number[]): Promise<Daemon> {
  const output: string[] = [];
  const child: ChildProcess = spawn(daemonBinary(name), args, { stdio: ["ignore", "pipe", "pipe"] });
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
    if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}: ${output.join("")}`);
    const ready = await Promise.all(ports.map(accepts));
    if (ready.every(Boolean)) break;
    if (Date.now() > until) {
      await stop();
      throw new Error(`${name} did not listen within 10 s: ${output.join("")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { output, stop };
}
