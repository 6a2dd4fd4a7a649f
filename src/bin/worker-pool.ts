/**
 * The primary's side of worker processes: starts them (this program with the hidden
 * `__worker` command), talks to each over its stdin/stdout (see `workers/protocol.ts`),
 * restarts one that dies, and drains them all on shutdown. Entry-point code: it uses
 * `node:child_process`, which Bun and Deno both provide.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { FlowRecord, RequestRecord } from "../log/flow-record.ts";
import { encodeMessage, type FromWorker, LineSplitter, parseFromWorker, type ToWorker } from "../workers/protocol.ts";
import type { SignInBroker } from "../workers/sign-in-broker.ts";
import { countersOnly, mergeExpositions } from "../metrics/merge.ts";
import { exited } from "./child-exit.ts";

/** Options of {@linkcode WorkerPool}. */
export interface WorkerPoolOptions {
  /** Worker processes to run besides the primary; they are numbered 1…count. */
  readonly count: number;
  /** How to run this program (argv); `__worker` is appended. */
  readonly command: readonly string[];
  /** The `start` message for worker `index`, asked again at each restart (current config). */
  readonly startMessage: (index: number) => ToWorker;
  /** A flow or request record a worker finished. */
  readonly onRecord: (record: FlowRecord | RequestRecord, quiet: boolean) => void;
  /** Diagnostics (one line, no newline). */
  readonly say: (line: string) => void;
  /** Answers the workers' sign-in questions from the primary's counts (without it, every check may go ahead). */
  readonly signIns?: SignInBroker;
  /** Delay before the first restart of a worker that died; doubles up to 30 s while it keeps dying young. */
  readonly restartDelayMs?: number;
  /**
   * How long a worker being replaced (it refused a config the primary took) may drain its
   * connections; 30 s without it.
   */
  readonly drainMs?: () => number;
}

/** One worker as the admin API shows it. */
export interface WorkerStatus {
  readonly index: number;
  readonly pid: number | undefined;
  readonly ready: boolean;
  readonly restarts: number;
}

interface Slot {
  readonly index: number;
  child?: ChildProcess;
  pid?: number;
  ready: boolean;
  restarts: number;
  startedAt: number;
  delayMs: number;
  metrics: string;
  timer?: ReturnType<typeof setTimeout>;
  /** Configs sent to the running worker, and answered (`reloaded`); whether the last answer refused it. */
  configsSent: number;
  configsAnswered: number;
  refusedConfig: boolean;
  /** Questions sent to this worker, waiting for its answer (by `req`). */
  readonly asked: Map<number, (answer: Answer | undefined) => void>;
  /** How many configs had been broadcast when this worker was started (see `#configs`). */
  startedWith: number;
}

/** A worker's answer to a question. */
type Answer = Extract<FromWorker, { readonly t: "connections" | "closed" }>;
/** A question to a worker. */
type Question = Extract<ToWorker, { readonly t: "connections" | "close-connections" }>;
/** A question as asked: `req` is filled in by `ask`. */
type Unnumbered<Q> = Q extends unknown ? Omit<Q, "req"> : never;

/** A died-young worker (less than this after its start) has its restart delay doubled. */
const YOUNG_MS = 10_000;
const MAX_DELAY_MS = 30_000;

/** Worker processes sharing the primary's listeners. */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #slots: Slot[];
  #closing = false;
  #req = 0;
  /** Configs broadcast so far, and the last one: a worker that was starting then gets it once ready. */
  #configs = 0;
  #lastConfig: Extract<ToWorker, { readonly t: "config" }> | undefined;
  /** The counters and histograms of workers that exited, as they last reported them (summed). */
  #retired = "";
  /** Workers replaced while they drain (they refused a config), each with its latest metrics. */
  readonly #retiring = new Map<ChildProcess, { metrics: string }>();

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    const delayMs = options.restartDelayMs ?? 1000;
    this.#slots = Array.from({ length: options.count }, (_, i) => ({ index: i + 1, ready: false, restarts: 0, startedAt: 0, delayMs, metrics: "", configsSent: 0, configsAnswered: 0, refusedConfig: false, asked: new Map(), startedWith: 0 }));
  }

  /** Starts every worker; resolves when all serve, rejects if one exits first. */
  async start(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => this.#spawn(slot, true)));
  }

  /**
   * Sends `message` to every running worker. A config also reaches a worker that is starting
   * (being restarted) when it says it is ready, if it was started with an older one.
   */
  broadcast(message: ToWorker): void {
    if (message.t === "config") {
      this.#configs++;
      this.#lastConfig = message;
    }
    for (const slot of this.#slots) {
      if (!slot.ready) continue;
      if (message.t === "config") slot.configsSent++;
      this.#send(slot, message);
    }
  }

  /**
   * The latest metrics exposition of each worker that sent one, and what workers that
   * exited had counted (counters and histograms only), so the gateway's totals never go
   * down when one dies and its restart counts from zero.
   */
  metricsTexts(): string[] {
    const live = this.#slots.filter((s) => s.ready && s.metrics !== "").map((s) => s.metrics);
    for (const { metrics } of this.#retiring.values()) if (metrics !== "") live.push(metrics);
    return this.#retired === "" ? live : [...live, this.#retired];
  }

  /**
   * Asks worker `index` `question` (its `req` filled in) and resolves to the answer; to
   * undefined when the worker is not serving, or did not answer within `timeoutMs` or before
   * it exited.
   */
  ask(index: number, question: Unnumbered<Question>, timeoutMs: number): Promise<Answer | undefined> {
    const slot = this.#slots[index - 1];
    if (!slot?.ready) return Promise.resolve(undefined);
    const req = ++this.#req;
    return new Promise((resolve) => {
      const timer = setTimeout(() => answered(undefined), timeoutMs);
      const answered = (answer: Answer | undefined) => {
        clearTimeout(timer);
        slot.asked.delete(req);
        resolve(answer);
      };
      slot.asked.set(req, answered);
      this.#send(slot, { ...question, req } as Question);
    });
  }

  status(): WorkerStatus[] {
    return this.#slots.map((s) => ({ index: s.index, pid: s.pid, ready: s.ready, restarts: s.restarts }));
  }

  /**
   * Tells every worker to drain for up to `graceMs`; kills those still running 2 s after that.
   * Resolves once every worker's output is read to its end (its last flow lines delivered),
   * which comes after its exit.
   */
  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    const exits = this.#slots.map((slot) => {
      clearTimeout(slot.timer);
      const child = slot.child;
      if (!child || child.pid === undefined) return Promise.resolve(); // none, or one that could not be started
      this.#send(slot, { t: "drain", graceMs });
      return exited(child, graceMs);
    });
    // those being replaced drain already: they end within their own time
    for (const child of this.#retiring.keys()) exits.push(exited(child, graceMs));
    await Promise.all(exits);
  }

  /**
   * Worker `slot` refused a config the primary runs: it drains its connections (its listeners
   * close at once, so new ones go to the others) and a new worker takes its place with the
   * config in force, rather than half the gateway serving another policy.
   */
  #replace(slot: Slot): void {
    const old = slot.child;
    if (!old || this.#closing) return;
    const graceMs = this.#options.drainMs?.() ?? 30_000;
    this.#send(slot, { t: "drain", graceMs });
    this.#retiring.set(old, { metrics: slot.metrics });
    const kill = setTimeout(() => old.kill("SIGKILL"), graceMs + 2000);
    old.once("exit", () => clearTimeout(kill));
    // its questions and sign-ins under way get no answer from it now
    for (const answered of [...slot.asked.values()]) answered(undefined);
    this.#options.signIns?.gone(slot.index);
    slot.restarts++;
    // a replacement that cannot start is tried again by the usual restarts
    this.#spawn(slot).catch(() => {});
  }

  /** Adds the counters and histograms of `metrics`, the last of worker `name` that ended, to #retired. */
  #keepCounts(name: string, metrics: string): void {
    if (metrics === "") return;
    try {
      this.#retired = mergeExpositions([this.#retired, countersOnly(metrics)]);
    } catch (e) {
      this.#options.say(`${name}: its last metrics cannot be kept: ${(e as Error).message}`);
    }
  }

  #send(slot: Slot, message: ToWorker): void {
    const stdin = slot.child?.stdin;
    if (!stdin || stdin.destroyed) return;
    stdin.write(encodeMessage(message));
  }

  /**
   * Starts `slot`'s worker; resolves once it is ready, rejects if it exits first. A worker
   * that exits (before it was ready or after) is started again after its delay, unless this
   * is the `initial` start (`start()` reports it) or the pool is closing.
   */
  #spawn(slot: Slot, initial = false): Promise<void> {
    const [command, ...args] = this.#options.command;
    const child = spawn(command!, [...args, "__worker"], { stdio: ["pipe", "pipe", "inherit"] });
    slot.child = child;
    slot.pid = child.pid;
    slot.ready = false;
    slot.metrics = "";
    slot.startedAt = Date.now();
    // started with the config in force now
    slot.configsSent = slot.configsAnswered = 0;
    slot.refusedConfig = false;
    slot.startedWith = this.#configs;
    const name = `worker ${slot.index}`;
    // a failed write (the worker just died) is reported by "exit"
    child.stdin!.on("error", () => {});
    this.#send(slot, this.#options.startMessage(slot.index));
    const lines = new LineSplitter();
    /** Answers check `req` of this worker, being replaced, with a refusal (it runs a config the primary left). */
    const refuseSignIn = (req: number) => {
      const verdict = { ok: false, by: "unavailable", reason: `not checked: ${name} is being replaced`, retryAfterMs: 1000 } as const;
      if (!child.stdin?.destroyed) child.stdin?.write(encodeMessage({ t: "sign-in", req, verdict }));
    };
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      child.stdout!.on("data", (chunk: Uint8Array) => {
        let got: string[];
        try {
          got = lines.push(chunk);
        } catch (e) {
          this.#options.say(`${name}: ${(e as Error).message}; stopping it`);
          child.kill("SIGKILL");
          return;
        }
        for (const line of got) {
          let message: FromWorker;
          try {
            message = parseFromWorker(line);
          } catch (e) {
            this.#options.say(`${name}: ${(e as Error).message}`);
            continue;
          }
          if (message.t === "ready") {
            slot.ready = true;
            slot.pid = message.pid;
            // a reload broadcast while it was starting skipped it: the config in force now
            if (slot.startedWith < this.#configs && this.#lastConfig) {
              slot.startedWith = this.#configs;
              slot.configsSent++;
              this.#send(slot, this.#lastConfig);
            }
            if (!settled) resolve();
            settled = true;
          } else if (message.t === "flow") {
            this.#options.onRecord(message.record, message.quiet);
          } else if (message.t === "metrics") {
            // from a worker that has exited, its counts are in #retired already
            if (slot.child === child) slot.metrics = message.text;
            else {
              const retiring = gone ? undefined : this.#retiring.get(child);
              if (retiring) retiring.metrics = message.text;
            }
          } else if (message.t === "connections" || message.t === "closed") {
            slot.asked.get(message.req)?.(message);
          } else if (message.t === "sign-in" || message.t === "sign-in-end") {
            // from a worker that has exited (a descendant may still hold its output): nothing
            // would end a check begun now, and its numbers are the next worker's; one being
            // replaced is told no (its sign-ins would be judged by a config it refused)
            if (slot.child !== child) {
              if (message.t === "sign-in" && !gone && this.#retiring.has(child)) refuseSignIn(message.req);
              continue;
            }
            if (message.t === "sign-in-end") {
              this.#options.signIns?.end(slot.index, message.req, message.outcome);
              continue;
            }
            const { req } = message;
            const behind = slot.configsAnswered < slot.configsSent || slot.refusedConfig;
            const asked = this.#options.signIns?.attempt(slot.index, req, message.name, message.client, behind) ?? Promise.resolve({ ok: true } as const);
            // to this worker only if it is still the one that asked; one replaced meanwhile is told no
            void asked.then((verdict) => {
              if (slot.child === child) this.#send(slot, { t: "sign-in", req, verdict });
              else if (!gone && this.#retiring.has(child)) refuseSignIn(req);
            });
          } else if (slot.child === child) {
            slot.configsAnswered++;
            slot.refusedConfig = message.error !== undefined;
            if (message.error === undefined) continue;
            this.#options.say(`${name}: reload refused: ${message.error}; replacing it with a worker on the config in force`);
            this.#replace(slot);
          }
        }
      });
      let gone = false;
      /** The worker ended (`what`: "exited with code 3", "could not be started: …"): restart it, unless… */
      const ended = (what: string) => {
        if (gone) return;
        gone = true;
        const retiring = this.#retiring.get(child);
        if (retiring) {
          // replaced: its slot has a newer worker
          this.#retiring.delete(child);
          this.#keepCounts(name, retiring.metrics);
          return;
        }
        slot.ready = false;
        slot.child = undefined;
        this.#keepCounts(name, slot.metrics);
        slot.metrics = "";
        for (const answered of [...slot.asked.values()]) answered(undefined);
        this.#options.signIns?.gone(slot.index);
        const early = !settled;
        if (early) {
          settled = true;
          reject(new Error(`${name} ${what} before it was ready`));
        }
        // the first start's failure is start()'s to report; a restart that fails is tried again
        if (this.#closing || (early && initial)) return;
        slot.delayMs = Date.now() - slot.startedAt < YOUNG_MS ? Math.min(slot.delayMs * 2, MAX_DELAY_MS) : this.#options.restartDelayMs ?? 1000;
        const who = slot.pid === undefined ? name : `${name} (pid ${slot.pid})`;
        this.#options.say(`${who} ${what}${early ? " before it was ready" : ""}; restarting it in ${slot.delayMs} ms`);
        slot.timer = setTimeout(() => {
          if (this.#closing) return;
          slot.restarts++;
          // its failure was said by ended(), which schedules the next try
          this.#spawn(slot).catch(() => {});
        }, slot.delayMs);
      };
      child.once("error", (e) => {
        // a program that could not be started (ENOENT, EACCES, EMFILE) has no pid and never emits "exit"
        if (child.pid === undefined) ended(`could not be started: ${e.message}`);
        else this.#options.say(`${name}: ${e.message}`);
      });
      child.once("exit", (code, signal) => ended(`exited with ${signal ? `signal ${signal}` : `code ${code}`}`));
    });
  }
}
