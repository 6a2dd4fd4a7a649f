/**
 * `tollgate __worker`: one worker process of a gateway running `workers > 1`, started by
 * the primary (see `worker-pool.ts`). It takes its config from the primary's `start`
 * message on stdin, binds the same listeners (SO_REUSEPORT, at the primary's ports), sends
 * its flow records and metrics to the primary on stdout, applies config changes the
 * primary forwards, and drains when told to, when stdin ends (the primary is gone), or on
 * SIGTERM/SIGINT. Entry-point code: it may use `node:` APIs that Bun and Deno both provide.
 *
 * @module
 */
import { readTextFile } from "./read-text.ts";
import { networkInterfaces } from "node:os";
import { resolve } from "node:path";
import process from "node:process";
import { fitOpen, selectOpen } from "../admin/open-connections.ts";
import { parseConfig } from "../config/parse.ts";
import type { Runtime } from "../core/runtime.ts";
import { type Gateway, startGateway } from "../gateway.ts";
import { encodeMessage, type FromWorker, LineSplitter, MAX_LINE_BYTES, MAX_TO_WORKER_LINE, parseToWorker, type ToWorker } from "../workers/protocol.ts";
import { SignInsViaPrimary } from "../workers/sign-ins-via-primary.ts";

/** How often the worker sends its metrics to the primary. */
const METRICS_INTERVAL_MS = 1000;

const say = (line: string) => process.stderr.write(`tollgate worker: ${line}\n`);
/** The primary stopped reading (it is gone): what the worker would send is dropped. */
let primaryGone = false;
const send = (message: FromWorker) => {
  if (!primaryGone) process.stdout.write(encodeMessage(message));
};

/** Runs the worker until it has drained; resolves to the exit code. */
export async function worker(runtime: Runtime): Promise<number> {
  // a start or config message is as long as the config
  const lines = new LineSplitter(MAX_TO_WORKER_LINE);
  type Queued = Exclude<ToWorker, { readonly t: "sign-in" }>;
  const inbox: Queued[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  // counted by the primary; its answers are taken here, at once, whatever the loop below is doing
  const signIns = new SignInsViaPrimary(send);
  process.stdin.on("data", (chunk: Uint8Array) => {
    try {
      for (const line of lines.push(chunk)) {
        const message = parseToWorker(line);
        if (message.t === "sign-in") signIns.answer(message.req, message.verdict);
        else inbox.push(message);
      }
    } catch (e) {
      say((e as Error).message);
      ended = true;
    }
    wake?.();
  });
  process.stdin.on("end", () => {
    ended = true;
    wake?.();
  });
  process.stdin.on("error", () => {
    ended = true;
    wake?.();
  });
  // a write to a primary that is gone fails (EPIPE; uncaught, Deno would end the worker and
  // cut every tunnel it holds): drop what follows and drain, as when stdin ends
  process.stdout.on("error", () => {
    primaryGone = true;
    ended = true;
    wake?.();
  });
  const next = async (): Promise<Queued | undefined> => {
    while (inbox.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
    return inbox.shift();
  };
  // a terminal's Ctrl-C and a service manager's stop reach the whole process group:
  // drain like the primary does; SIGHUP is the primary's to handle (it forwards the config)
  let signalled: (() => void) | undefined;
  const stop = new Promise<undefined>((r) => (signalled = () => r(undefined)));
  process.on("SIGTERM", () => signalled?.());
  process.on("SIGINT", () => signalled?.());
  process.on("SIGHUP", () => {});

  const start = await Promise.race([next(), stop]);
  if (!start || start.t !== "start") {
    if (start) say("no start message from the primary");
    return start ? 1 : 0;
  }
  let gateway: Gateway;
  try {
    gateway = await startGateway(parseConfig(start.raw), runtime, {
      readText: (path) => readTextFile(resolve(start.base, path)),
      localAddresses: Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)),
      alsoSelf: start.self,
      write: (_stream, line) => process.stderr.write(line),
      appendTo: () => ({ write: () => {}, close: () => {} }),
      flowSink: { write: (record, quiet) => send({ t: "flow", record, quiet: quiet ?? false }) },
      processes: { count: start.count, ports: start.ports, index: start.index },
      signIns,
    });
  } catch (e) {
    say(`worker ${start.index}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const metrics = setInterval(() => send({ t: "metrics", text: gateway.live.metrics.registry.expose() }), METRICS_INTERVAL_MS);
  send({ t: "metrics", text: gateway.live.metrics.registry.expose() });
  send({ t: "ready", pid: process.pid });

  // the primary says how long; if it vanished, the config's drain time
  let graceMs = gateway.live.config.limits.drainTimeoutMs;
  // reloads and key rotations run in turn, while the loop goes on answering the primary's
  // questions (open connections, closes): a reload reading large files does not make them wait
  let inTurn: Promise<void> = Promise.resolve();
  const later = (work: () => Promise<void>) => {
    inTurn = inTurn.then(work);
  };
  for (;;) {
    const message = await Promise.race([next(), stop]);
    if (!message || message.t === "start") break;
    if (message.t === "drain") {
      graceMs = message.graceMs;
      break;
    }
    if (message.t === "rotate-leaf-key") {
      later(async () => void (await gateway.live.rotateLeafKey?.().catch(() => {})));
      continue;
    }
    if (message.t === "connections") {
      // the answer is one line: at most half the longest line the primary reads
      send({ t: "connections", req: message.req, ...fitOpen(selectOpen(gateway.connections(), message.query), MAX_LINE_BYTES / 2) });
      continue;
    }
    if (message.t === "close-connections") {
      send({ t: "closed", req: message.req, closed: message.ids.filter((id) => gateway.closeConnection(id, message.reason)) });
      continue;
    }
    const { raw, ports } = message;
    later(async () => {
      try {
        const r = await gateway.reload(parseConfig(raw), { ports });
        send({ t: "reloaded", generation: r.generation });
      } catch (e) {
        send({ t: "reloaded", generation: gateway.live.generation, error: e instanceof Error ? e.message : String(e) });
      }
    });
  }
  await inTurn; // a reload under way finishes before the drain
  clearInterval(metrics);
  await gateway.close(graceMs);
  return 0;
}
