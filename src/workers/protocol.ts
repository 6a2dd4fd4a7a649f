/**
 * The line protocol between the primary gateway process and its worker processes: one JSON
 * object per line, primary → worker on the worker's stdin, worker → primary on its stdout.
 * Sans-IO: {@linkcode LineSplitter} turns chunks into lines (with a hard line-size limit),
 * the `parse*` functions validate one line each and throw `SyntaxError` on anything else.
 *
 * @module
 */
import * as v from "valibot";
import type { Address } from "../core/conn.ts";
import type { FlowRecord, RequestRecord } from "../log/flow-record.ts";
import type { OpenFlow } from "../flows/live-flows.ts";
import { CONNECTION_SORTS, type ConnectionQuery, MAX_CONNECTIONS_LIMIT } from "../admin/open-connections.ts";
import { FLOW_FILTER_PARAMS } from "../admin/flow-filter.ts";
import type { SignInThrottled } from "../auth/sign-in-throttle.ts";
import { MAX_JSON_LENGTH } from "../config/json.ts";

/** The primary's answer to a worker's `sign-in`: go ahead (and say how it ended), or refused unchecked. */
export type SignInVerdict = { readonly ok: true } | SignInThrottled;

/** How a sign-in check the primary let go ahead may end (see `SignInAttempt`). */
const SIGN_IN_OUTCOMES = ["succeeded", "failed", "unasked", "uncounted"] as const;
export type SignInOutcome = typeof SIGN_IN_OUTCOMES[number];
const SIGN_IN_REFUSALS = ["address", "user", "unavailable"] as const satisfies readonly SignInThrottled["by"][];

/** Longest user name and client address a `sign-in` message carries (longer names are not counted anyway). */
export const MAX_SIGN_IN_FIELD = 256;

/** Primary → worker. */
export type ToWorker =
  /** First message: what to run. `ports` are the primary's bound ports by listener name. */
  | {
    readonly t: "start";
    readonly index: number;
    readonly count: number;
    /** The config as written (JSON value); the worker validates it again. */
    readonly raw: unknown;
    /** Directory that relative paths in the config are resolved against. */
    readonly base: string;
    readonly ports: Readonly<Record<string, number>>;
    /** Addresses the proxy must never dial besides its listeners (the admin API). */
    readonly self: readonly Address[];
  }
  /**
   * A new config (hot reload or admin policy change), already validated by the primary and
   * in force there; `ports` are the primary's bound ports by listener name (a new one too).
   */
  | { readonly t: "config"; readonly raw: unknown; readonly ports: Readonly<Record<string, number>> }
  | { readonly t: "rotate-leaf-key" }
  /** The admin API lists open connections: the worker answers `connections` with the same `req`. */
  | { readonly t: "connections"; readonly req: number; readonly query: ConnectionQuery }
  /** The admin API closes some of the worker's open flows: the worker answers `closed` with the same `req`. */
  | { readonly t: "close-connections"; readonly req: number; readonly ids: readonly string[]; readonly reason: string }
  /** Answer to the worker's `sign-in` with the same `req`. */
  | { readonly t: "sign-in"; readonly req: number; readonly verdict: SignInVerdict }
  /** Stop accepting, drain for up to `graceMs`, exit. */
  | { readonly t: "drain"; readonly graceMs: number };

/** Worker → primary. */
export type FromWorker =
  /** Listeners bound: the worker serves from now on. */
  | { readonly t: "ready"; readonly pid: number }
  /** A finished flow or request record, for the primary's flow log and live feed. */
  | { readonly t: "flow"; readonly record: FlowRecord | RequestRecord; readonly quiet: boolean }
  /** The worker's metrics in the Prometheus text format, sent periodically. */
  | { readonly t: "metrics"; readonly text: string }
  /** Outcome of a `config` message. */
  | { readonly t: "reloaded"; readonly generation: number; readonly error?: string }
  /** Answer to `connections`: the worker's open flows the query selects, and how many matched. */
  | { readonly t: "connections"; readonly req: number; readonly connections: readonly OpenFlow[]; readonly total: number }
  /** Answer to `close-connections`: the ids of those the worker had open (now closed). */
  | { readonly t: "closed"; readonly req: number; readonly closed: readonly string[] }
  /**
   * A password check is about to be made for `name` from `client`: may it, by the primary's
   * sign-in counts (which all processes share)? The primary answers `sign-in` with the same `req`.
   */
  | { readonly t: "sign-in"; readonly req: number; readonly name: string; readonly client: string }
  /** How the check the primary let go ahead (`sign-in` `req`) ended. */
  | { readonly t: "sign-in-end"; readonly req: number; readonly outcome: SignInOutcome };

/** Longest line either side accepts (a metrics snapshot is the largest message). */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;

/**
 * Longest line a worker takes from its primary: a `start` or `config` message carries the
 * whole config in force, whose file may be as long as the config parser takes (its JSON
 * again is no longer, escapes aside) and a policy the admin API replaced besides.
 */
export const MAX_TO_WORKER_LINE = 2 * MAX_JSON_LENGTH;

const address = v.object({ address: v.string(), port: v.number() });
const req = v.pipe(v.number(), v.integer(), v.minValue(0));
const connectionQuery = v.object({
  filter: v.record(v.picklist(FLOW_FILTER_PARAMS), v.string()),
  sort: v.picklist(CONNECTION_SORTS),
  limit: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_CONNECTIONS_LIMIT)),
});
const ports = v.record(v.string(), v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65_535)));
const toWorkerSchema = v.variant("t", [
  v.object({
    t: v.literal("start"),
    index: v.pipe(v.number(), v.integer(), v.minValue(0)),
    count: v.pipe(v.number(), v.integer(), v.minValue(1)),
    raw: v.unknown(),
    base: v.string(),
    ports,
    self: v.array(address),
  }),
  v.object({ t: v.literal("config"), raw: v.unknown(), ports }),
  v.object({ t: v.literal("rotate-leaf-key") }),
  v.object({ t: v.literal("connections"), req, query: connectionQuery }),
  v.object({ t: v.literal("close-connections"), req, ids: v.pipe(v.array(v.string()), v.maxLength(MAX_CONNECTIONS_LIMIT)), reason: v.string() }),
  v.object({
    t: v.literal("sign-in"),
    req,
    verdict: v.variant("ok", [
      v.object({ ok: v.literal(true) }),
      v.object({ ok: v.literal(false), by: v.picklist(SIGN_IN_REFUSALS), reason: v.string(), retryAfterMs: v.pipe(v.number(), v.minValue(0)) }),
    ]),
  }),
  v.object({ t: v.literal("drain"), graceMs: v.pipe(v.number(), v.minValue(0)) }),
]);
const signInField = v.pipe(v.string(), v.maxLength(MAX_SIGN_IN_FIELD));
const record = v.custom<FlowRecord | RequestRecord>(
  (x) => typeof x === "object" && x !== null && ((x as { type?: unknown }).type === "flow" || (x as { type?: unknown }).type === "request"),
  "expected a flow or request record",
);
const openFlow = v.custom<OpenFlow>(
  (x) => typeof x === "object" && x !== null && (x as { type?: unknown }).type === "flow" && typeof (x as { id?: unknown }).id === "string",
  "expected an open flow record",
);
const fromWorkerSchema = v.variant("t", [
  v.object({ t: v.literal("ready"), pid: v.pipe(v.number(), v.integer()) }),
  v.object({ t: v.literal("flow"), record, quiet: v.boolean() }),
  v.object({ t: v.literal("metrics"), text: v.string() }),
  v.object({ t: v.literal("reloaded"), generation: v.number(), error: v.optional(v.string()) }),
  v.object({ t: v.literal("connections"), req, connections: v.array(openFlow), total: v.pipe(v.number(), v.integer(), v.minValue(0)) }),
  v.object({ t: v.literal("closed"), req, closed: v.pipe(v.array(v.string()), v.maxLength(MAX_CONNECTIONS_LIMIT)) }),
  v.object({ t: v.literal("sign-in"), req, name: signInField, client: signInField }),
  v.object({ t: v.literal("sign-in-end"), req, outcome: v.picklist(SIGN_IN_OUTCOMES) }),
]);

function parseLine<S extends v.GenericSchema>(schema: S, line: string, who: string): v.InferOutput<S> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new SyntaxError(`Malformed ${who} message: not JSON: ${JSON.stringify(line.slice(0, 80))}`);
  }
  const r = v.safeParse(schema, value);
  if (!r.success) throw new SyntaxError(`Malformed ${who} message: ${r.issues[0].message}`);
  return r.output;
}

/** One primary → worker line, validated. */
export function parseToWorker(line: string): ToWorker {
  return parseLine(toWorkerSchema, line, "primary");
}

/** One worker → primary line, validated. */
export function parseFromWorker(line: string): FromWorker {
  return parseLine(fromWorkerSchema, line, "worker");
}

/** A message as one line, newline included. */
export function encodeMessage(message: ToWorker | FromWorker): string {
  return JSON.stringify(message) + "\n";
}

/**
 * Splits a byte stream into lines (UTF-8, `\n`-terminated; a trailing `\r` is kept). A line
 * longer than `maxLine` characters throws `RangeError`: the channel is then unusable.
 */
export class LineSplitter {
  readonly #decoder = new TextDecoder();
  readonly #max: number;
  #pending = "";

  constructor(maxLine = MAX_LINE_BYTES) {
    this.#max = maxLine;
  }

  /** The complete lines `chunk` finishes, in order. */
  push(chunk: Uint8Array | string): string[] {
    const text = typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true });
    this.#pending += text;
    // a long line arriving in many chunks is not re-split at every chunk
    if (!text.includes("\n")) {
      if (this.#pending.length > this.#max) throw new RangeError(`Line longer than ${this.#max} characters`);
      return [];
    }
    const lines = this.#pending.split("\n");
    this.#pending = lines.pop() ?? "";
    // UTF-16 units: for ASCII (JSON of records and metrics) the same as bytes
    if (this.#pending.length > this.#max || lines.some((l) => l.length > this.#max)) {
      throw new RangeError(`Line longer than ${this.#max} characters`);
    }
    return lines;
  }

  /** Bytes received after the last newline. */
  get pending(): string {
    return this.#pending;
  }
}
