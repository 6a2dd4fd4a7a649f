/**
 * Filters of `GET /flows` and `GET /flows/stream`: query parameters that narrow the records
 * to, say, what alice was denied, or every request to `*.example.com` from one subnet.
 * Every parameter given must match (AND); an absent one matches everything.
 *
 * | parameter | matches when |
 * |---|---|
 * | `type` | `flow` or `request` equals the record's type |
 * | `decision` | `allow`, `deny`, or `none` (no decision: an invalid request) |
 * | `user`, `listener`, `mode`, `rule` | equals the field exactly |
 * | `host` | the host matches a policy host pattern: `a.example`, `*.example`, `.example`, an IP or a CIDR |
 * | `client` | the client's address is in an IP address or CIDR |
 * | `status` | equals a status (`403`) or is in a class (`5xx`) |
 * | `parent` | a flow line's parent proxy is that name, or `direct` for none (request lines never match) |
 * | `requestId` | a request line's `requestId` (the reverse proxy's `X-Request-Id`) equals it |
 * | `backend` | a request line's `backend` (reverse proxy, `scheme://host:port`) equals it |
 * | `minDurationMs` | the record's `durationMs` is at least that many ms (slow requests, long connections) |
 *
 * @module
 */
import { tryNormalizeHost } from "../core/host.ts";
import { cidrContains, parseIp } from "../core/ip.ts";
import { hostPatternMatches, parseClientCidr, parseHostPattern } from "../policy/host-pattern.ts";
import type { FlowFilter } from "./flow-feed.ts";

export type { FlowFilter };

/** The query parameters {@linkcode parseFlowFilter} reads. */
export const FLOW_FILTER_PARAMS = ["type", "decision", "user", "listener", "mode", "rule", "host", "client", "status", "parent", "requestId", "backend", "minDurationMs"] as const;

/** One of {@linkcode FLOW_FILTER_PARAMS}. */
export type FlowFilterParam = (typeof FLOW_FILTER_PARAMS)[number];

/** Longest filter value read (a host pattern or a name is far shorter). */
const MAX_VALUE_LENGTH = 256;

function invalid(name: string, value: string, expected: string): never {
  throw new TypeError(`query parameter "${name}" must be ${expected}, got ${JSON.stringify(value)}`);
}

/** The IP part of a record's "ip:port" / "[v6]:port" client, parsed. */
function clientIp(client: string): Uint8Array | undefined {
  const text = client.startsWith("[") ? client.slice(1, client.indexOf("]")) : client.slice(0, client.lastIndexOf(":"));
  return parseIp(text);
}

function typeTest(value: string): FlowFilter {
  if (value !== "flow" && value !== "request") invalid("type", value, '"flow" or "request"');
  return (r) => r.type === value;
}

function decisionTest(value: string): FlowFilter {
  if (value === "none") return (r) => r.decision === null;
  if (value !== "allow" && value !== "deny") invalid("decision", value, '"allow", "deny" or "none"');
  return (r) => r.decision === value;
}

function hostTest(value: string): FlowFilter {
  let pattern;
  try {
    pattern = parseHostPattern(value);
  } catch (e) {
    invalid("host", value, `a host pattern (${(e as Error).message})`);
  }
  return (r) => {
    const host = r.host === null ? undefined : tryNormalizeHost(r.host);
    return host !== undefined && hostPatternMatches(pattern, host);
  };
}

function clientTest(value: string): FlowFilter {
  let cidr;
  try {
    cidr = parseClientCidr(value);
  } catch {
    invalid("client", value, "an IP address or CIDR");
  }
  return (r) => {
    const ip = clientIp(r.client);
    return ip !== undefined && cidrContains(cidr, ip);
  };
}

function statusTest(value: string): FlowFilter {
  const cls = /^([1-5])xx$/.exec(value);
  if (cls) {
    const low = Number(cls[1]) * 100;
    return (r) => r.status !== null && r.status >= low && r.status < low + 100;
  }
  if (!/^[1-5]\d\d$/.test(value)) invalid("status", value, 'a status (100-599) or a class ("4xx")');
  const status = Number(value);
  return (r) => r.status === status;
}

function parentTest(value: string): FlowFilter {
  const parent = value === "direct" ? null : value;
  return (r) => r.type === "flow" && r.parent === parent;
}

function requestIdTest(value: string): FlowFilter {
  return (r) => r.type === "request" && r.requestId === value;
}

function backendTest(value: string): FlowFilter {
  return (r) => r.type === "request" && r.backend === value;
}

function minDurationTest(value: string): FlowFilter {
  if (!/^\d{1,10}$/.test(value)) invalid("minDurationMs", value, "a whole number of milliseconds");
  const ms = Number(value);
  return (r) => r.durationMs >= ms;
}

function fieldTest(field: "user" | "listener" | "mode" | "rule"): (value: string) => FlowFilter {
  return (value) => (r) => r[field] === value;
}

const TESTS: Readonly<Record<FlowFilterParam, (value: string) => FlowFilter>> = {
  type: typeTest,
  decision: decisionTest,
  user: fieldTest("user"),
  listener: fieldTest("listener"),
  mode: fieldTest("mode"),
  rule: fieldTest("rule"),
  host: hostTest,
  client: clientTest,
  status: statusTest,
  parent: parentTest,
  requestId: requestIdTest,
  backend: backendTest,
  minDurationMs: minDurationTest,
};

/**
 * The filter the query parameters describe, or `undefined` when none is given.
 *
 * @example
 * ```ts
 * const match = parseFlowFilter((name) => url.searchParams.get(name) ?? undefined);
 * feed.recent(100, match);
 * ```
 * @throws {TypeError} naming the parameter when a value is not valid
 */
export function parseFlowFilter(param: (name: FlowFilterParam) => string | undefined): FlowFilter | undefined {
  const tests: FlowFilter[] = [];
  for (const name of FLOW_FILTER_PARAMS) {
    const value = param(name);
    if (value === undefined) continue;
    if (value.length === 0 || value.length > MAX_VALUE_LENGTH) invalid(name, value, `1-${MAX_VALUE_LENGTH} characters`);
    tests.push(TESTS[name](value));
  }
  if (tests.length === 0) return undefined;
  return (r) => tests.every((t) => t(r));
}
