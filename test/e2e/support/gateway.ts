import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runtimeName } from "../../helpers/runtime.ts";
import { tempDir } from "../../helpers/temp-dir.ts";

const root = new URL("../../../", import.meta.url).pathname;

export interface GatewayProcess {
  /** Port of the listener named by `opts.listener` (default "explicit"). */
  readonly port: number;
  /** Bound port of every listener, by name. */
  readonly ports: ReadonlyMap<string, number>;
  /** The gateway's process id (for /proc sampling). */
  readonly pid: number;
  /** The config file the gateway was started with (rewrite it to test hot reload). */
  readonly configFile: string | undefined;
  /** Sends a signal to the gateway process. */
  signal(sig: NodeJS.Signals): void;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Flow-log records written so far (parsed JSON lines of stdout). */
  flows(): Record<string, unknown>[];
  /**
   * Sends SIGHUP and waits for the gateway's verdict ("tollgate: SIGHUP: …"); resolves with
   * what it wrote to stderr from the signal on (the verdict and the reasons it gives).
   */
  reload(timeoutMs?: number): Promise<string>;
  /** Waits until a flow record matching `pred` appears (flow lines are written when a connection ends). */
  waitForFlow(pred: (f: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /**
   * SIGTERM, then wait. Resolves true when the gateway shut down gracefully: it printed
   * "shutting down" and exited 0. (A Deno *parent* reports a child that exited 0 after
   * handling SIGTERM as killed by SIGTERM; the message proves the handler ran.)
   */
  stop(): Promise<boolean>;
}

/** The `tollgate` command line on the runtime running the tests (or an explicit binary). */
export function cliCommand(binary?: string): string[] {
  if (binary) return [binary];
  const bin = join(root, "node_modules/.bin");
  if (runtimeName === "deno") {
    return [join(bin, "deno"), "run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys", join(root, "src/bin/deno.ts")];
  }
  return [join(bin, "bun"), join(root, "src/bin/bun.ts")];
}

/** The command that starts the gateway on the runtime running the tests (or an explicit binary). */
export function gatewayCommand(binary?: string): string[] {
  return [...cliCommand(binary), "serve"];
}

/** Options of {@link startGateway}. */
export interface StartGatewayOptions {
  /** A compiled binary to run instead of the test runtime's command line. */
  readonly binary?: string;
  /** The listener whose port is `GatewayProcess.port` (default "explicit", else the first). */
  readonly listener?: string;
  /**
   * An argv prefix the gateway command runs under, e.g. `["ip", "netns", "exec", "ns1"]`;
   * it must exec the command (so the process signalled by `stop()` is the gateway itself).
   */
  readonly wrap?: readonly string[];
  /** The whole command instead of the runtime's default (e.g. the README's "deno task serve"); --config is appended. */
  readonly command?: readonly string[];
}

/** Starts a gateway with `config` (written to a temp file), waits until it listens. */
export async function startGateway(config: unknown | undefined, opts: StartGatewayOptions = {}): Promise<GatewayProcess> {
  const cmd = [...(opts.wrap ?? []), ...(opts.command ?? gatewayCommand(opts.binary))];
  let configFile: string | undefined;
  if (config !== undefined) {
    const dir = tempDir("tollgate-cfg-");
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify(config, null, 2));
    cmd.push("--config", file);
    configFile = file;
  }
  const child: ChildProcess = spawn(cmd[0]!, cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"], detached: true, cwd: root, env: { ...process.env, TOLLGATE_CONFIG: "" } });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let outBuf = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (d: string) => {
    outBuf += d;
    const lines = outBuf.split("\n");
    outBuf = lines.pop() ?? "";
    stdout.push(...lines.filter((l) => l.length > 0));
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  );
  const name = opts.listener ?? "explicit";
  const ports = new Map<string, number>();
  const port = await new Promise<number>((resolve, reject) => {
    let errBuf = "";
    const timer = setTimeout(() => reject(new Error(`gateway did not start in time:\n${errBuf}`)), 20_000);
    child.stderr!.on("data", (d: string) => {
      errBuf += d;
      stderr.push(d);
      const line = /listening (.*)\n/.exec(errBuf);
      if (line) {
        for (const m of line[1]!.matchAll(/([\w.-]+)=\S*:(\d+)/g)) ports.set(m[1]!, Number(m[2]));
        clearTimeout(timer);
        const p = ports.get(name) ?? [...ports.values()][0];
        if (p === undefined) reject(new Error(`no listener in: ${line[0]}`));
        else resolve(p);
      }
    });
    // "close", not "exit": it comes after the last stderr bytes, so the message names the problem
    child.once("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening:\n${errBuf}`));
    });
  });
  const flows = () =>
    stdout.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return {
    port,
    ports,
    pid: child.pid ?? -1,
    configFile,
    // process.kill, not child.kill: Deno's child_process skips kill() once `killed` is set
    signal: (sig) => void sendSignal(child, sig),
    stdout,
    stderr,
    flows,
    async reload(timeoutMs = 10_000) {
      const seen = stderr.join("").length;
      sendSignal(child, "SIGHUP");
      const end = Date.now() + timeoutMs;
      for (;;) {
        const out = stderr.join("").slice(seen);
        if (out.split("\n").some((l) => l.startsWith("tollgate: SIGHUP:"))) return out;
        if (Date.now() > end) throw new Error(`no reload verdict:\n${stderr.join("")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async waitForFlow(pred, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const f = flows().find(pred);
        if (f) return f;
        if (Date.now() > end) throw new Error(`no matching flow record; have:\n${stdout.join("\n")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (child.exitCode === null) sendSignal(child, "SIGTERM");
      const t = setTimeout(() => sendSignal(child, "SIGKILL"), 5000);
      const { code, signal } = await exited;
      clearTimeout(t);
      const graceful = stderr.join("").includes("shutting down");
      return graceful && (code === 0 || (runtimeName === "deno" && signal === "SIGTERM"));
    },
  };
}

/**
 * A finished relay: both sides closed (FIN), or the client reset after its session was
 * complete (curl may leave a late TLS session ticket unread and close with RST).
 */
export function relayFinished(f: Record<string, unknown>): boolean {
  return f.end === "eof" || f.end === "client-reset";
}

/**
 * Signals the child's whole process group (it was spawned detached, so it leads one): a
 * wrapper such as `npm start` or `deno task` does not always pass signals on to the
 * gateway it started. By pid, because a second `child.kill()` is a no-op under Deno.
 */
function sendSignal(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      if (child.exitCode === null) process.kill(child.pid, sig);
    } catch {
      // already gone
    }
  }
}
