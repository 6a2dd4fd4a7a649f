/**
 * `tollgate serve`: loads the config, binds the admin API (if configured) and the proxy
 * listeners, reloads on config-file (or host-list file) change and SIGHUP (which also reopens the flow-log file),
 * drains on SIGTERM/SIGINT.
 * Entry-point code: it may use `node:` APIs that Bun and Deno both provide.
 */
import { statSync, unwatchFile, watchFile } from "node:fs";
import { readTextFile } from "./read-text.ts";
import { hostname, networkInterfaces } from "node:os";
import { dirname, resolve } from "node:path";
import process from "node:process";
import pkg from "../../package.json" with { type: "json" };
import { createAdminApp } from "../admin/app.ts";
import { GatewayAdminState } from "../admin/gateway-state.ts";
import type { Config } from "../config/config.ts";
import { defaultConfig } from "../config/default.ts";
import { ConfigError } from "../config/errors.ts";
import { parseJson } from "../config/json.ts";
import { parseConfig, parseConfigText } from "../config/parse.ts";
import { adminToken, adminTokenProblem } from "../admin/token-rules.ts";
import type { Listener, Runtime } from "../core/runtime.ts";
import { checkConfigFiles } from "../config-check.ts";
import { type ReloadResult, startGateway } from "../gateway.ts";
import { formatAddress } from "../log/flow-record.ts";
import { type LogFile, openLogFile } from "./log-file.ts";
import { WorkerPool } from "./worker-pool.ts";
import { SignInBroker } from "../workers/sign-in-broker.ts";

interface Loaded {
  readonly config: Config;
  readonly raw: unknown;
}

function load(file: string | undefined): Loaded {
  if (!file) return { config: parseConfig(defaultConfig), raw: defaultConfig };
  let text: string;
  try {
    text = readTextFile(file);
  } catch (e) {
    throw new Error(`cannot read config file "${file}": ${(e as { code?: string }).code ?? String(e)}`);
  }
  const config = parseConfigText(text, file);
  return { config, raw: parseJson(text) };
}

const say = (line: string) => process.stderr.write(`tollgate: ${line}\n`);

/** When `file` was last modified (undefined when it cannot be read). */
function mtimeOf(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}
/** How long the admin API waits for a worker's answer (its open connections, a close). */
const WORKER_ANSWER_MS = 2000;

/**
 * Serves until SIGTERM/SIGINT; resolves to the exit code. `self` (how to start this
 * program, argv) is needed to run worker processes (`workers` > 1).
 */
export async function serve(file: string | undefined, runtime: Runtime, self?: readonly string[]): Promise<number> {
  // A SIGHUP before the gateway is up (logrotate, a certificate deploy hook, `systemctl
  // reload`) must not kill it, as the default action would: it is remembered, and answered
  // with a reload once the gateway serves.
  let hupWhileStarting = false;
  const onEarlyHup = () => {
    hupWhileStarting = true;
  };
  process.on("SIGHUP", onEarlyHup);
  const startFailed = (code: number) => {
    process.off("SIGHUP", onEarlyHup);
    return code;
  };
  // the file as read: an edit made while the gateway starts is picked up once it serves
  const readMtime = file ? mtimeOf(file) : undefined;
  let loaded: Loaded;
  try {
    loaded = load(file);
  } catch (e) {
    say(e instanceof Error ? e.message : String(e));
    return startFailed(e instanceof ConfigError ? 78 : 1);
  }
  const { config } = loaded;
  const tokenProblem = adminTokenProblem(config.admin, process.env.TOLLGATE_ADMIN_TOKEN);
  if (tokenProblem) {
    say(tokenProblem);
    return startFailed(78);
  }
  const token = config.admin ? adminToken(config.admin, process.env.TOLLGATE_ADMIN_TOKEN) : undefined;
  // Paths in the config (CA files…) are relative to the config file's directory.
  const base = file ? dirname(resolve(file)) : process.cwd();
  const processes = config.workers === "auto" ? Math.max(1, navigator.hardwareConcurrency || 1) : config.workers;
  if (processes > 1 && !self) {
    say(`workers: ${processes} needs permission to start worker processes` +
      (runtime.name === "deno" ? ` (Deno: --allow-run=<the deno executable>, as "deno task serve:workers" grants)` : ""));
    return startFailed(78);
  }

  // The admin API is bound first so the proxy's address guard knows it as "self":
  // a client asking the proxy for the admin address gets 403.
  let adminFetch: ((req: Request) => Response | Promise<Response>) | undefined;
  let admin: Listener | undefined;
  try {
    if (config.admin) {
      admin = await runtime.serveHttp({ hostname: config.admin.hostname, port: config.admin.port }, (req) =>
        adminFetch ? adminFetch(req) : new Response("starting\n", { status: 503 })
      );
    }
  } catch (e) {
    say(`admin API: ${e instanceof Error ? e.message : String(e)}`);
    return startFailed(1);
  }
  const readText = (path: string) => readTextFile(resolve(base, path));
  const logFiles = new Set<LogFile>();
  let gateway;
  try {
    gateway = await startGateway(config, runtime, {
      readText,
      localAddresses: Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)),
      alsoSelf: admin ? [admin.address] : [],
      identity: { hostname: hostname(), pid: process.pid },
      write: (stream, line) => (stream === "stdout" ? process.stdout : process.stderr).write(line),
      appendTo: (path) => {
        const log = openLogFile(resolve(base, path), (message) => say(`flow log "${path}": ${message}`));
        logFiles.add(log);
        return {
          write: (line) => log.write(line),
          close: () => {
            logFiles.delete(log);
            log.close();
          },
        };
      },
      ...(processes > 1 ? { processes: { count: processes } } : {}),
    });
  } catch (e) {
    await admin?.close();
    say(e instanceof Error ? e.message : String(e));
    return startFailed(1);
  }
  let pool: WorkerPool | undefined;
  let state: GatewayAdminState;
  if (processes > 1) {
    const started = gateway;
    const workers = new WorkerPool({
      count: processes - 1,
      command: self!,
      // a worker (re)started after a reload binds the listeners in force now
      startMessage: (index) => ({ t: "start", index, count: processes, raw: state.rawConfig, base, ports: state.ports(), self: admin ? [admin.address] : [] }),
      onRecord: (record, quiet) => started.ingest(record, quiet),
      say,
      // a worker that refused a reload drains as a shutdown would, while its replacement serves
      drainMs: () => started.live.config.limits.drainTimeoutMs,
      // every process draws on the primary's sign-in allowances
      signIns: new SignInBroker(() => started.live.users?.credentials.memory.throttle),
    });
    state = new GatewayAdminState(gateway, loaded.raw, {
      config: (raw, ports) => workers.broadcast({ t: "config", raw, ports }),
      rotateLeafKey: () => workers.broadcast({ t: "rotate-leaf-key" }),
      metricsTexts: () => workers.metricsTexts(),
      connections: (query) =>
        // a worker not serving (being restarted) has no connections to list
        Promise.all(workers.status().filter((w) => w.ready).map(async (w) => {
          const answer = await workers.ask(w.index, { t: "connections", query }, WORKER_ANSWER_MS);
          return { index: w.index, selection: answer?.t === "connections" ? answer : undefined };
        })),
      closeConnections: async (index, ids, reason) => {
        const answer = await workers.ask(index, { t: "close-connections", ids, reason }, WORKER_ANSWER_MS);
        return answer?.t === "closed" ? answer.closed : undefined;
      },
      status: () => {
        const all = workers.status();
        return { total: all.length, ready: all.filter((w) => w.ready).length, pids: all.map((w) => w.pid) };
      },
    });
    try {
      await workers.start();
    } catch (e) {
      say(e instanceof Error ? e.message : String(e));
      await workers.close(0);
      await gateway.close(0);
      await admin?.close();
      return startFailed(1);
    }
    pool = workers;
  } else {
    state = new GatewayAdminState(gateway, loaded.raw);
  }
  if (admin) adminFetch = createAdminApp(state, token ? { token, openBootstrap: config.admin?.openBootstrap ?? false } : {}).fetch;

  // a host list file that changes is reloaded like the config file (a feed updated by cron)
  const watchedLists = new Set<string>();
  const watchHostLists = (c: Config) => {
    const paths = new Map(Object.values(c.policy.hostLists ?? {}).map((l) => [resolve(base, l.file), l.file]));
    for (const path of watchedLists) {
      if (paths.has(path)) continue;
      unwatchFile(path);
      watchedLists.delete(path);
    }
    for (const [path, name] of paths) {
      if (watchedLists.has(path)) continue;
      watchedLists.add(path);
      watchFile(path, { interval: 1000 }, (now, prev) => {
        if (now.mtimeMs !== prev.mtimeMs) void reload(`host list file ${JSON.stringify(name)} changed`);
      });
    }
  };
  // the whole attempt in its turn: a refusal is explained and recorded before a later reload begins
  const reload = (why: string) => {
    if (!file) return say(`${why}: no config file to reload (embedded default)`);
    return state.reloadFromFile((apply) => reloadAttempt(why, file, apply));
  };
  const reloadAttempt = async (why: string, file: string, apply: (raw: unknown, config: Config) => Promise<ReloadResult>) => {
    let next: Loaded | undefined;
    try {
      next = load(file);
      const r = await apply(next.raw, next.config);
      const listening = [...r.listening].map(([n, a]) => `${n}=${formatAddress(a.address, a.port)}`);
      say(`${why}: config reloaded (generation ${r.generation})` +
        (listening.length ? `; listening ${listening.join(" ")}` : "") +
        (r.closed.length ? `; stopped listening ${r.closed.join(" ")}` : "") +
        (r.restartNeeded.length ? `; restart needed for: ${r.restartNeeded.join(", ")}` : ""));
      watchHostLists(gateway.live.config);
    } catch (e) {
      let message = e instanceof Error ? e.message : String(e);
      if (next !== undefined) {
        // the reload stops at its first bad file; name every one, as `config check` does
        const { problems } = await checkConfigFiles(next.config, { runtime, readText, adminTokenFromEnv: process.env.TOLLGATE_ADMIN_TOKEN }).catch(() => ({ problems: [] as string[] }));
        const more = problems.filter((p) => p !== message);
        if (more.length > 0) message = [message, ...more].join("\n");
      }
      state.reloadFailed(message);
      say(`${why}: reload refused, the running config stays in force:\n${message}`);
    }
  };
  const onHup = () => {
    // after logrotate renamed the flow log: write to a new file at its path
    for (const log of logFiles) log.reopen();
    void reload("SIGHUP");
  };
  process.off("SIGHUP", onEarlyHup);
  process.on("SIGHUP", onHup);
  if (hupWhileStarting) onHup();
  if (file) {
    watchFile(file, { interval: 1000 }, (now, prev) => {
      if (now.mtimeMs !== prev.mtimeMs) void reload("config file changed");
    });
    watchHostLists(config);
    if (!hupWhileStarting && mtimeOf(file) !== readMtime) void reload("config file changed while the gateway started");
  }

  // SIGTERM/SIGINT are counted from before the "listening" line: a supervisor (or a test)
  // that signals as soon as it reads that line must not find the default handler (exit)
  // still in place, nor a second signal sent right after "still accepting" go unseen.
  let signals = 0;
  let wake: (() => void) | undefined;
  const onSignal = () => {
    signals++;
    wake?.();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const signalled = (count: number) => new Promise<void>((done) => {
    if (signals >= count) done();
    else wake = () => signals >= count && done();
  });

  const parts = [...gateway.addresses].map(([n, a]) => `${n}=${a.address}:${a.port}`);
  if (admin) parts.push(`admin=${admin.address.address}:${admin.address.port}`);
  if (pool) parts.push(`workers=${processes}`);
  process.stderr.write(`tollgate ${pkg.version} (${runtime.name} ${runtime.version}) listening ${parts.join(" ")}\n`);
  // SIGTERM/SIGINT: /readyz fails at once; listeners stay open for shutdownDelayMs (load
  // balancers notice and stop sending), then drain for up to drainTimeoutMs. Another signal
  // during the delay skips the rest of it.
  await signalled(1);
  state.draining();
  const { shutdownDelayMs, drainTimeoutMs } = gateway.live.config.limits; // as the last reload left them
  if (shutdownDelayMs > 0) {
    say(`shutting down: /readyz fails now; still accepting for ${seconds(shutdownDelayMs)}`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([signalled(2), new Promise<void>((r) => (timer = setTimeout(r, shutdownDelayMs)))]);
    clearTimeout(timer);
  }
  say(`shutting down: draining connections for up to ${seconds(drainTimeoutMs)}`);
  const workersDrained = pool?.close(drainTimeoutMs);
  await gateway.close(drainTimeoutMs, workersDrained); // the flow log closes after the workers' last lines
  // A graceful HTTP server shutdown waits for open responses, and an SSE stream never ends
  // by itself: give the admin API a moment, then exit regardless.
  await Promise.race([admin?.close(), new Promise((r) => setTimeout(r, 1000))]);
  return 0;
}

/** `1500` → "1.5 s". */
function seconds(ms: number): string {
  return `${ms / 1000} s`;
}
