/**
 * Policy explanation for a hypothetical connection: turns an {@linkcode ExplainQuery} (URL or
 * host, client, mode, listener, user) into the decision, the matching rule and every rule's
 * verdict. Used by `POST /policy/explain` (through `AdminState.explain`) and by
 * `tollgate policy explain`, so both say the same thing.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import { hostText, normalizeHost } from "../core/host.ts";
import { parseReportedIp } from "../core/ip.ts";
import { compilePolicy } from "../policy/compile.ts";
import type { HostLists } from "../policy/load-host-lists.ts";
import { MAX_USER_NAME, parseGroupName, POLICY_MODES } from "../policy/scope.ts";
import { groupList } from "../auth/proxy-auth.ts";
import type { Explanation, Host, Policy, PolicyQuery, UrlPolicy } from "../policy/types.ts";
import { compileUrlRules, methodError } from "../policy/url-rules.ts";
import { decideResponse, mediaRangeError, mediaRangeText } from "../policy/response-types.ts";
import { declaredMediaTypes } from "../protocol/media-type.ts";
import { isFieldValue, isToken, trimOws } from "../protocol/http-head.ts";
import { HeaderList } from "../protocol/http-headers.ts";
import { requestOverrides } from "../protocol/request-overrides.ts";
import type { ExplainQuery, ExplainResult } from "./state.ts";

/** What an explanation is computed from: the compiled policies and the listeners. */
export interface ExplainSource {
  readonly policy: Policy;
  /** Url rules (decrypted and plain-HTTP requests); without them no `url` verdict is given. */
  readonly urlPolicy?: UrlPolicy;
  /** Listeners (name and mode), to default `listener` from `mode`. */
  readonly listeners: readonly { readonly name: string; readonly mode: string }[];
  /** Local users (`proxyAuth.users`), whose groups a query for one of them gets by default. */
  readonly users?: readonly { readonly name: string; readonly groups?: readonly string[] }[];
}

/** Client address used when a query names none. */
export const DEFAULT_EXPLAIN_CLIENT = "127.0.0.1";

const DEFAULT_PORTS: Readonly<Record<string, number>> = { "http:": 80, "https:": 443, "ws:": 80, "wss:": 443 };

interface Destination {
  readonly host: Host;
  readonly port: number;
  /** Path and query of a URL query. */
  readonly path?: string;
  /** The URL is plain `http:` / `ws:`: the gateway reads its requests without decrypting. */
  readonly plain?: boolean;
}

function checkPort(port: unknown): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Invalid port ${JSON.stringify(port) ?? String(port)}: expected an integer 1-65535`);
  }
  return port;
}

function destination(query: ExplainQuery): Destination {
  if (query.url !== undefined && query.host !== undefined) throw new TypeError('Give "url" or "host", not both');
  if (query.url !== undefined) {
    let url: URL;
    try {
      url = new URL(query.url);
    } catch {
      throw new TypeError(`Invalid URL ${JSON.stringify(query.url)}`);
    }
    const defaultPort = DEFAULT_PORTS[url.protocol];
    if (defaultPort === undefined) throw new TypeError(`Unsupported URL scheme ${JSON.stringify(url.protocol.slice(0, -1))}: expected http, https, ws or wss`);
    const urlPort = url.port === "" ? undefined : Number(url.port);
    if (query.port !== undefined && urlPort !== undefined && query.port !== urlPort) {
      throw new TypeError(`Port ${query.port} contradicts the URL's port ${urlPort}`);
    }
    const port = checkPort(query.port ?? urlPort ?? defaultPort);
    const plain = url.protocol === "http:" || url.protocol === "ws:";
    return { host: normalizeHost(url.hostname), port, path: url.pathname + url.search, plain };
  }
  if (query.host !== undefined) return { host: normalizeHost(query.host), port: checkPort(query.port ?? 443) };
  throw new TypeError('Expected "url" or "host"');
}

/**
 * Explains the decision for `query` (defaults: client {@linkcode DEFAULT_EXPLAIN_CLIENT},
 * mode the named listener's or `"explicit"`, the first listener of that mode, method `GET`,
 * port 443 for a bare host or the URL scheme's port).
 *
 * @throws {TypeError} on an invalid URL, host, client address, mode, method, an unknown listener or one
 *   that carries flows of another mode
 * @throws {RangeError} on a port outside 1-65535
 *
 * @example
 * ```ts
 * const r = explainQuery({ policy: compilePolicy(config.policy), listeners: config.listeners }, { url: "https://example.com/" });
 * r.decision.action; // "allow"
 * r.rules.map((rule) => `${rule.matched ? "✓" : "✗"} ${rule.ruleId}: ${rule.reason}`);
 * ```
 */
export function explainQuery(source: ExplainSource, query: ExplainQuery): ExplainResult {
  const { host, port, path, plain } = destination(query);
  let listener = query.listener;
  const named = listener === undefined ? undefined : source.listeners.find((l) => l.name === listener);
  if (listener !== undefined && named === undefined) {
    const known = source.listeners.map((l) => JSON.stringify(l.name)).join(", ");
    throw new TypeError(`No listener named ${JSON.stringify(listener)} (listeners: ${known || "none"})`);
  }
  // a listener carries flows of its own mode only (a redirect listener's are reverse flows)
  const carried = named === undefined ? undefined : named.mode === "redirect-https" ? "reverse" : named.mode;
  const mode = query.mode ?? carried ?? "explicit";
  if (!(POLICY_MODES as readonly string[]).includes(mode)) {
    throw new TypeError(`Invalid mode ${JSON.stringify(mode)}: expected one of ${POLICY_MODES.map((m) => JSON.stringify(m)).join(", ")}`);
  }
  if (carried !== undefined && mode !== carried) {
    throw new TypeError(`Listener ${JSON.stringify(listener)} carries ${JSON.stringify(carried)} flows, not ${JSON.stringify(mode)}: leave out "mode" or name another listener`);
  }
  listener ??= source.listeners.find((l) => l.mode === mode)?.name;
  const clientIp = query.clientIp ?? DEFAULT_EXPLAIN_CLIENT;
  if (parseReportedIp(clientIp) === undefined) throw new TypeError(`Invalid client address ${JSON.stringify(clientIp)}: expected an IP address`);
  const method = (query.method ?? "GET").toUpperCase();
  const badMethod = methodError(method);
  if (badMethod !== undefined) throw new TypeError(`Invalid method: ${badMethod}`);

  const user = query.user;
  if (user !== undefined && (user.length === 0 || user.length > MAX_USER_NAME)) throw new TypeError(`Invalid user ${JSON.stringify(user)}: expected 1-${MAX_USER_NAME} characters`);
  if (query.groups !== undefined && user === undefined) throw new TypeError('"groups" needs a "user": groups count only for a signed-in user');
  const groups = user === undefined ? undefined : groupList((query.groups ?? source.users?.find((u) => u.name === user)?.groups ?? []).map((g) => {
    try {
      return parseGroupName(g);
    } catch (e) {
      throw new TypeError(`Invalid group: ${(e as Error).message}`);
    }
  }));
  const fields = requestFields(query.headers ?? []);
  let now: number | undefined;
  if (query.at !== undefined) {
    now = Date.parse(query.at);
    if (!/^\d{4}-\d\d-\d\dT/.test(query.at) || Number.isNaN(now)) throw new TypeError(`Invalid time ${JSON.stringify(query.at)}: expected ISO 8601 like "2026-11-23T12:15:00+01:00"`);
  }
  const policyQuery: PolicyQuery = {
    host,
    port,
    clientIp,
    mode,
    ...(listener === undefined ? {} : { listener }),
    ...(user === undefined ? {} : { user, groups }),
    ...(now === undefined ? {} : { now }),
  };
  const explanation: Explanation = source.policy.explain?.(policyQuery) ?? { decision: source.policy.decide(policyQuery), rules: [] };
  const d = explanation.decision;
  let url: ExplainResult["url"];
  // url rules see decrypted requests and plain HTTP ones
  if (path !== undefined && d.action === "allow" && (plain || d.decryption === "decrypt") && source.urlPolicy !== undefined) {
    const overrides = requestOverrides(fields, method, path);
    const u = source.urlPolicy.decide({ host, path, method, overrides, ...(user === undefined ? {} : { user, groups }), ...(now === undefined ? {} : { now }) });
    if (query.responseType !== undefined) {
      const r = decideResponse(u, responseTypes(query.responseType)) ?? u;
      url = { action: r.action, ruleId: r.ruleId, reason: r.reason };
    } else {
      const pending = [...(u.byResponse ?? []), ...(u.byResponseOther ?? []).flat().filter((p, i, all) => p.action === "deny" && !u.byResponse?.some((q) => q.id === p.id) && all.findIndex((q) => q.id === p.id) === i)];
      const byResponse = pending.map((p) => ({ ruleId: p.id, action: p.action, types: p.types.map(mediaRangeText) }));
      url = {
        action: u.action,
        ruleId: u.ruleId,
        reason: u.reason,
        ...(byResponse.length > 0 ? { byResponse } : {}),
        ...(u.maxRequestBytes === undefined ? {} : { maxRequestBytes: u.maxRequestBytes }),
        ...(u.maxResponseBytes === undefined ? {} : { maxResponseBytes: u.maxResponseBytes }),
      };
    }
  }
  return {
    host: hostText(host),
    port,
    decision: { action: d.action, ruleId: d.ruleId, reason: d.reason, decryption: d.decryption, ...(d.parent ? { parent: d.parent } : {}) },
    rules: explanation.rules,
    ...(url === undefined ? {} : { url }),
    clientIp,
    mode,
    ...(listener === undefined ? {} : { listener }),
    ...(user === undefined ? {} : { user, groups }),
  };
}

/**
 * Compiles `config`'s policy (with its host lists, read by `loadHostLists`) and url rules
 * as the gateway does and explains `query` (see {@linkcode explainQuery}).
 */
export function explainConfig(config: Config, query: ExplainQuery, hostLists: HostLists = new Map()): ExplainResult {
  return explainQuery(
    {
      policy: compilePolicy(config.policy, { hostLists }),
      urlPolicy: compileUrlRules(config.policy.urlRules, { hostLists }),
      listeners: config.listeners,
      ...(config.proxyAuth ? { users: config.proxyAuth.users } : {}),
    },
    query,
  );
}

/** Most request fields a query may give. */
const MAX_EXPLAIN_FIELDS = 100;

/**
 * `["X-HTTP-Method-Override: DELETE"]` as a request's fields.
 *
 * @throws {TypeError} naming a line that is not `Name: value`
 */
function requestFields(lines: readonly string[]): HeaderList {
  if (lines.length > MAX_EXPLAIN_FIELDS) throw new TypeError(`Too many headers: at most ${MAX_EXPLAIN_FIELDS}`);
  return new HeaderList(lines.map((line): [string, string] => {
    const colon = line.indexOf(":");
    const name = line.slice(0, Math.max(colon, 0));
    const value = trimOws(line.slice(colon + 1));
    if (!isToken(name) || !isFieldValue(value)) throw new TypeError(`Invalid header ${JSON.stringify(line)}: expected "Name: value" like "X-HTTP-Method-Override: DELETE"`);
    return [name, value];
  }));
}

/** A Content-Type value as a query gives it (`"video/mp4"`, parameters allowed), as the gateway reads it. */
function responseTypes(text: string): string[] {
  const semi = text.indexOf(";");
  const type = (semi < 0 ? text : text.slice(0, semi)).trim();
  if (mediaRangeError(type) !== undefined || type.includes("*")) {
    throw new TypeError(`Invalid response type ${JSON.stringify(text)}: expected a media type like "video/mp4"`);
  }
  return declaredMediaTypes([text]);
}

const QUERY_FIELDS: Readonly<Record<keyof ExplainQuery, "string" | "number" | "strings">> = {
  url: "string",
  host: "string",
  port: "number",
  clientIp: "string",
  method: "string",
  mode: "string",
  listener: "string",
  user: "string",
  groups: "strings",
  at: "string",
  responseType: "string",
  headers: "strings",
};

/**
 * Checks the shape of a `POST /policy/explain` body: an object with only the
 * {@linkcode ExplainQuery} fields, each of its type, and `url` or `host`.
 *
 * @throws {TypeError} naming the offending field
 */
export function parseExplainBody(body: unknown): ExplainQuery {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new TypeError("Expected a JSON object like {\"url\": \"https://example.com/\"}");
  const query: Record<string, string | number | string[]> = {};
  for (const [key, value] of Object.entries(body)) {
    const type = Object.hasOwn(QUERY_FIELDS, key) ? QUERY_FIELDS[key as keyof ExplainQuery] : undefined;
    if (type === undefined) throw new TypeError(`Unknown field ${JSON.stringify(key)} (expected ${Object.keys(QUERY_FIELDS).join(", ")})`);
    if (value === null || value === undefined) continue;
    if (type === "strings") {
      if (!Array.isArray(value) || value.length > 1000 || !value.every((x) => typeof x === "string")) throw new TypeError(`Field ${JSON.stringify(key)} must be an array of strings, got ${JSON.stringify(value)}`);
      query[key] = value as string[];
      continue;
    }
    if (type === "string" ? typeof value !== "string" : typeof value !== "number") throw new TypeError(`Field ${JSON.stringify(key)} must be a ${type}, got ${JSON.stringify(value)}`);
    query[key] = value as string | number;
  }
  if (query["url"] === undefined && query["host"] === undefined) throw new TypeError('Expected "url" or "host"');
  return query as ExplainQuery;
}
