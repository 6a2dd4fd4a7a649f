/**
 * Two throwaway network namespaces joined by a veth pair, for end-to-end tests of real
 * traffic redirection (iptables REDIRECT) without touching the host's own network: the
 * addresses exist only inside these namespaces, and deleting a namespace removes its veth
 * end and its iptables rules.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/** `ip` and `iptables` by path: /usr/sbin is not on every PATH. */
function tool(name: string): string {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])) {
    if (dir && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return name;
}

/** Path of the `ip` command (iproute2). */
export const IP = tool("ip");
/** Path of the `iptables` command. */
export const IPTABLES = tool("iptables");

function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
}

function why(e: unknown): string {
  const err = e as { stderr?: unknown; code?: unknown; message?: unknown };
  const text = typeof err.stderr === "string" && err.stderr.trim() ? err.stderr.trim() : String(err.message ?? e);
  return err.code === "ENOENT" ? `command not found (${text})` : text;
}

/**
 * Why this machine cannot run the namespace tests, or undefined if it can: tries to create
 * a namespace, bring its loopback up and list its nat table with iptables, then deletes it.
 */
export function netnsUnavailable(): string | undefined {
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "not running as root";
  const probe = `tg-probe-${process.pid}`;
  try {
    run(IP, ["netns", "add", probe]);
  } catch (e) {
    return `"ip netns add" failed: ${why(e)}`;
  }
  try {
    run(IP, ["-n", probe, "link", "set", "lo", "up"]);
    run(IP, ["netns", "exec", probe, IPTABLES, "-t", "nat", "-L", "PREROUTING", "-n"]);
    return undefined;
  } catch (e) {
    return `iptables in a namespace failed: ${why(e)}`;
  } finally {
    try {
      run(IP, ["netns", "del", probe]);
    } catch {
      // nothing to remove
    }
  }
}

/** A client namespace and a gateway namespace joined by a veth pair on a private /30. */
export interface NetnsPair {
  readonly client: string;
  readonly gateway: string;
  /** The client end's address (.1 of the /30). */
  readonly clientAddress: string;
  /** The gateway end's address (.2 of the /30). */
  readonly gatewayAddress: string;
  /** The argv prefix that runs a command inside namespace `ns`. */
  wrap(ns: string): string[];
  /** Runs `args` inside `ns` synchronously (throws with stderr on failure); returns stdout. */
  exec(ns: string, args: readonly string[]): string;
  /** Deletes both namespaces (their veth ends and iptables rules go with them). Idempotent, never throws. */
  destroy(): void;
}

/**
 * Creates `tg-c-<tag>` and `tg-g-<tag>` (deleting leftovers of the same names first), a veth
 * pair between them with 10.213.<x>.1/30 (client) and .2/30 (gateway), and brings every
 * link, loopback included, up. On failure, whatever was created is deleted before the throw.
 */
export function createNetnsPair(tag = String(process.pid)): NetnsPair {
  const client = `tg-c-${tag}`;
  const gateway = `tg-g-${tag}`;
  const x = (Number.parseInt(tag, 10) || 0) % 250 + 1;
  const clientAddress = `10.213.${x}.1`;
  const gatewayAddress = `10.213.${x}.2`;
  const vc = `tgc${tag}`.slice(0, 15);
  const vg = `tgg${tag}`.slice(0, 15);
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    for (const ns of [client, gateway]) {
      try {
        run(IP, ["netns", "del", ns]);
      } catch {
        // already gone
      }
    }
  };
  for (const ns of [client, gateway]) {
    try {
      run(IP, ["netns", "del", ns]);
    } catch {
      // no leftover
    }
  }
  try {
    run(IP, ["netns", "add", client]);
    run(IP, ["netns", "add", gateway]);
    run(IP, ["-n", client, "link", "add", vc, "type", "veth", "peer", "name", vg, "netns", gateway]);
    run(IP, ["-n", client, "addr", "add", `${clientAddress}/30`, "dev", vc]);
    run(IP, ["-n", gateway, "addr", "add", `${gatewayAddress}/30`, "dev", vg]);
    for (const [ns, dev] of [[client, vc], [gateway, vg], [client, "lo"], [gateway, "lo"]] as const) {
      run(IP, ["-n", ns, "link", "set", dev, "up"]);
    }
  } catch (e) {
    destroy();
    throw new Error(`Could not set up the namespaces: ${why(e)}`);
  }
  return {
    client,
    gateway,
    clientAddress,
    gatewayAddress,
    wrap: (ns) => [IP, "netns", "exec", ns],
    exec: (ns, args) => {
      try {
        return run(IP, ["netns", "exec", ns, ...args]);
      } catch (e) {
        throw new Error(`"${args.join(" ")}" in ${ns} failed: ${why(e)}`);
      }
    },
    destroy,
  };
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `args` inside namespace `ns` (never through a shell) with an empty proxy environment; resolves even when it fails. */
export function execIn(ns: string, args: readonly string[], timeoutMs = 30_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(IP, ["netns", "exec", ns, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
