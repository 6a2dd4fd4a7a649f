/**
 * `GET /connections`: which open flows to show, in what order. Each gateway process picks
 * its own (`selectOpen`: filter, order, the first `limit`), the primary merges what every
 * process sent (`mergeOpen`), so a worker never sends more than `limit` flows however many
 * it holds.
 *
 * The query is plain data (strings and numbers), so the primary can hand it to its workers
 * as it got it; {@linkcode parseConnectionQuery} checks it once, in the primary.
 *
 * @module
 */
import type { OpenFlow } from "../flows/live-flows.ts";
import { FLOW_FILTER_PARAMS, type FlowFilterParam, parseFlowFilter } from "./flow-filter.ts";

/** Orders of the list: `age` the longest-open first, `bytes` the most bytes moved (both ways) first. */
export const CONNECTION_SORTS = ["age", "bytes"] as const;
export type ConnectionSort = (typeof CONNECTION_SORTS)[number];

/** Most connections one `GET /connections` returns. */
export const MAX_CONNECTIONS_LIMIT = 10_000;
/** Connections returned without `limit`. */
export const DEFAULT_CONNECTIONS_LIMIT = 1000;

/** What `GET /connections` asks for: the flow filter's parameters, an order and a count. */
export interface ConnectionQuery {
  /** Flow-filter parameters (see `flow-filter.ts`), as given. */
  readonly filter: Readonly<Partial<Record<FlowFilterParam, string>>>;
  readonly sort: ConnectionSort;
  readonly limit: number;
}

/** One process's (or the merged) answer: the flows shown, and how many matched in all. */
export interface OpenSelection {
  readonly connections: readonly OpenFlow[];
  readonly total: number;
}

/**
 * The query `param` describes.
 *
 * @throws {TypeError} naming the parameter when a value is not valid (the API's 400)
 */
export function parseConnectionQuery(param: (name: string) => string | undefined): ConnectionQuery {
  const filter: Partial<Record<FlowFilterParam, string>> = {};
  for (const name of FLOW_FILTER_PARAMS) {
    const value = param(name);
    if (value !== undefined) filter[name] = value;
  }
  parseFlowFilter((name) => filter[name]); // throws on a bad value
  const sort = param("sort") ?? "age";
  if (!(CONNECTION_SORTS as readonly string[]).includes(sort)) {
    throw new TypeError(`query parameter "sort" must be one of ${CONNECTION_SORTS.map((s) => `"${s}"`).join(", ")}, got ${JSON.stringify(sort)}`);
  }
  const text = param("limit");
  const limit = text === undefined ? DEFAULT_CONNECTIONS_LIMIT : /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(limit >= 1 && limit <= MAX_CONNECTIONS_LIMIT)) {
    throw new TypeError(`query parameter "limit" must be an integer 1-${MAX_CONNECTIONS_LIMIT}, got ${JSON.stringify(text)}`);
  }
  return { filter, sort: sort as ConnectionSort, limit };
}

/** `a` before `b` in `sort` order (ties: the older first, then by id). */
function compare(sort: ConnectionSort): (a: OpenFlow, b: OpenFlow) => number {
  const byAge = (a: OpenFlow, b: OpenFlow) => (a.since < b.since ? -1 : a.since > b.since ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  if (sort === "age") return byAge;
  return (a, b) => b.bytesUp + b.bytesDown - (a.bytesUp + a.bytesDown) || byAge(a, b);
}

/** The flows of one process that `query` shows: those matching, in order, the first `limit`. */
export function selectOpen(flows: readonly OpenFlow[], query: ConnectionQuery): OpenSelection {
  const match = parseFlowFilter((name) => query.filter[name]);
  const matching = match ? flows.filter(match) : [...flows];
  matching.sort(compare(query.sort));
  return { connections: matching.slice(0, query.limit), total: matching.length };
}

/** Every process's selection as one: in order, the first `limit`, the totals summed. */
export function mergeOpen(parts: readonly OpenSelection[], query: ConnectionQuery): OpenSelection {
  const all = parts.flatMap((p) => p.connections).sort(compare(query.sort));
  return { connections: all.slice(0, query.limit), total: parts.reduce((n, p) => n + p.total, 0) };
}

/**
 * `selection` cut to the flows whose JSON text fits in `maxChars` (a worker's answer must fit
 * in one protocol line); `total` still counts every match.
 */
export function fitOpen(selection: OpenSelection, maxChars: number): OpenSelection {
  let chars = 0;
  let n = 0;
  for (const flow of selection.connections) {
    chars += JSON.stringify(flow).length + 1;
    if (chars > maxChars) break;
    n++;
  }
  return n === selection.connections.length ? selection : { connections: selection.connections.slice(0, n), total: selection.total };
}

/** Syntax of an open flow's id: `<process>-<n>` (see `LiveFlows`). */
const ID = /^(\d{1,4})-(\d{1,15})$/;

/** The process (0 the primary, 1… workers) that runs open flow `id`, or undefined for no valid id. */
export function processOf(id: string): number | undefined {
  const m = ID.exec(id);
  return m ? Number(m[1]) : undefined;
}
