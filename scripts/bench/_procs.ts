/**
 * Child processes of the benchmark suite: every process is registered so that all of them
 * are killed at the end, on Ctrl-C and on error; every wait is bounded in time.
 * Linux only (/proc for CPU time).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";

const live = new Set<ChildProcess>();

/** Open-file limit asked for the processes the suite starts (capped at the hard limit). */
export const NOFILE = 65536;

/** Environment for children: no proxy variables (curl and Node would pick them up). */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(https?|all|no)_proxy$/i.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

/**
 * Spawns `cmd args` through `bash -c 'ulimit -n …; exec "$@"'` (the pid is the command's
 * own once bash has exec'd) and registers it for clean-up.
 */
export function spawnTracked(cmd: string, args: readonly string[], opts: { stdin?: "pipe" | "ignore"; cwd?: string; env?: Record<string, string> } = {}): ChildProcess {
  const script = `ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`;
  const child = spawn("bash", ["-c", script, "bench", cmd, ...args], {
    stdio: [opts.stdin ?? "ignore", "pipe", "pipe"],
    cwd: opts.cwd,
    env: opts.env ?? childEnv(),
  });
  live.add(child);
  child.once("exit", () => live.delete(child));
  return child;
}

/** Resolves when `child` has exited. */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await done;
  clearTimeout(timer);
}

/**
 * Closes `child`'s stdin (a load.mjs `idle` run then lets its connections go and exits) and
 * waits for it to exit; stops it after `graceMs` if it does not.
 */
export async function endInputAndWait(child: ChildProcess, graceMs = 10_000): Promise<void> {
  child.stdin?.end();
  const done = exited(child);
  const t = setTimeout(() => void stopProcess(child), graceMs);
  await done;
  clearTimeout(t);
}

/** Kills every registered process still running (synchronously: SIGKILL). */
export function killAll(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
}

/**
 * Runs a benchmark script's `main` and exits: with the code `main` returns (default 0), or 1
 * after printing the error `main` threw (named `what`); every registered process is killed
 * first either way.
 */
export async function runScript(what: string, main: () => Promise<number | void>): Promise<never> {
  let code: number;
  try {
    code = (await main()) ?? 0;
  } catch (e) {
    process.stderr.write(`${what} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    code = 1;
  }
  killAll();
  process.exit(code);
}

/** Kills all children on exit, Ctrl-C and SIGTERM (exit code 130 / 143). */
export function installCleanup(onSignal: () => void = () => {}): void {
  process.on("exit", killAll);
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping all benchmark processes\n`);
      killAll();
      onSignal();
      process.exit(code);
    });
  }
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end, killing it after `timeoutMs` (then code is -1). */
export function runBounded(cmd: string, args: readonly string[], timeoutMs: number, opts: { cwd?: string } = {}): Promise<RunResult> {
  const child = spawnTracked(cmd, args, opts);
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (d: string) => (stdout += d));
  child.stderr!.on("data", (d: string) => (stderr = (stderr + d).slice(-8192)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  return new Promise((resolve) => {
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? -1 : code ?? -1, stdout, stderr: timedOut ? `${stderr}\n(killed after ${timeoutMs} ms)` : stderr });
    });
  });
}

/** Resolves with the first stdout line of `child` (rejects on exit or after `timeoutMs`). */
export function firstLine(child: ChildProcess, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    let err = "";
    child.stdout!.setEncoding("utf8");
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => (err = (err + d).slice(-4096)));
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms\n${err}`)), timeoutMs);
    const onData = (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      resolve(buf.slice(0, nl));
    };
    child.stdout!.on("data", onData);
    void exited(child).then(() => {
      clearTimeout(timer);
      reject(new Error(`${what}: exited before answering\n${err}`));
    });
  });
}

/** CPU time (user + system) consumed so far by process `pid`, in clock ticks (1/100 s). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** Clock ticks per second of /proc/PID/stat (USER_HZ: 100 on Linux). */
export const TICKS_PER_SECOND = 100;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
