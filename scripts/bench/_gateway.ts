/**
 * The gateway under benchmark, started explicitly on Bun or on Deno (whatever runtime runs
 * the suite), with a raised open-file limit, flow logs off and stdout discarded.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pidListeningOn } from "./decrypt-memory.ts";
import { childEnv, exited, spawnTracked, stopProcess } from "./_procs.ts";

export type GatewayRuntime = "bun" | "deno";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const BIN = join(ROOT, "node_modules/.bin");

/** The `tollgate` command line on `runtime` (extra runtime flags, e.g. `--cpu-prof`, go first). */
export function tollgateCommand(runtime: GatewayRuntime, runtimeFlags: readonly string[] = []): string[] {
  return runtime === "bun"
    ? [join(BIN, "bun"), ...runtimeFlags, join(ROOT, "src/bin/bun.ts")]
    : [join(BIN, "deno"), "run", "-A", ...runtimeFlags, join(ROOT, "src/bin/deno.ts")];
}

export interface BenchGateway {
  readonly runtime: GatewayRuntime;
  /** The gateway process (the one that owns the listening sockets). */
  readonly pid: number;
  /** Bound port of each listener, by name. */
  readonly ports: ReadonlyMap<string, number>;
  /** What the gateway wrote to stderr up to its `listening` line. */
  readonly startupLog: string;
  port(name: string): number;
  stop(): Promise<void>;
}

/** Writes `config` to `dir/<file>` and starts the gateway with it; resolves once it listens. */
export async function startBenchGateway(runtime: GatewayRuntime, config: unknown, dir: string, runtimeFlags: readonly string[] = []): Promise<BenchGateway> {
  const file = join(dir, `gateway-${runtime}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  const [cmd, ...args] = tollgateCommand(runtime, runtimeFlags);
  const child = spawnTracked(cmd!, [...args, "serve", "--config", file], { cwd: ROOT, env: childEnv({ TOLLGATE_CONFIG: "" }) });
  child.stdout!.resume(); // flow logs are off; never let a full pipe stall the gateway
  child.stderr!.setEncoding("utf8");
  const ports = new Map<string, number>();
  const startupLog = await new Promise<string>((resolve, reject) => {
    let err = "";
    const timer = setTimeout(() => reject(new Error(`gateway (${runtime}) did not start within 30 s:\n${err}`)), 30_000);
    const onData = (d: string) => {
      err = (err + d).slice(-8192);
      const line = /listening ((?:[\w.-]+=\S+ ?)+)\n/.exec(err);
      if (!line) return;
      for (const m of line[1]!.matchAll(/([\w.-]+)=\S*:(\d+)/g)) ports.set(m[1]!, Number(m[2]));
      clearTimeout(timer);
      child.stderr!.off("data", onData);
      child.stderr!.resume();
      resolve(err);
    };
    child.stderr!.on("data", onData);
    void exited(child).then(() => {
      clearTimeout(timer);
      reject(new Error(`gateway (${runtime}) exited before listening:\n${err}`));
    });
  });
  const first = [...ports.values()][0];
  const pid = (first !== undefined ? pidListeningOn(first) : undefined) ?? child.pid;
  if (pid === undefined) throw new Error(`gateway (${runtime}): no pid`);
  return {
    runtime,
    pid,
    ports,
    startupLog,
    port(name) {
      const p = ports.get(name);
      if (p === undefined) throw new Error(`gateway (${runtime}) has no listener ${JSON.stringify(name)}`);
      return p;
    },
    stop: () => stopProcess(child),
  };
}
