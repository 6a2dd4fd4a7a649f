/**
 * One url rule definition, checked field by field and compiled: host and path patterns,
 * methods, users and groups, header edits, schedule, response types and body limits (see
 * `url-rules.ts` for how compiled rules decide).
 * @module
 */
import { type HostList, hostListNamed } from "./host-list.ts";
import { editableHeaderError, type HeaderEditsConfig, headerValueError, isNoop } from "../protocol/header-edits.ts";
import { type HostPattern, parseHostPattern } from "./host-pattern.ts";
import { fieldError, MAX_RULE_ID } from "./rule.ts";
import { messageError } from "./message.ts";
import { parseSchedule, type Schedule, scheduleErrorField } from "./schedule.ts";
import { parseGroupName, parseUserName } from "./scope.ts";
import { parseMediaRange } from "./response-types.ts";
import type { Action, MediaRange } from "./types.ts";
import { type PathPattern, parsePathPattern } from "./url-path.ts";

/** HTTP method tokens as url rules accept them: uppercase tchars, 1-32 characters. */
const METHOD_RE = /^[A-Z0-9!#$%&'*+.^_`|~-]{1,32}$/;

/** `undefined` when `method` is an uppercase HTTP method token, else the reason. */
export function methodError(method: string): string | undefined {
  if (typeof method === "string" && METHOD_RE.test(method)) return undefined;
  const got = JSON.stringify(method) ?? String(method);
  const hint = typeof method === "string" && METHOD_RE.test(method.toUpperCase()) ? ` (write ${JSON.stringify(method.toUpperCase())})` : "";
  return `expected an uppercase HTTP method like "GET", got ${got}${hint}`;
}

/** A url rule checked and ready to match. */
export interface CompiledUrlRule {
  readonly id: string;
  readonly action: Action;
  readonly log: boolean;
  readonly hosts: readonly HostPattern[] | undefined;
  readonly hostLists: readonly HostList[] | undefined;
  readonly paths: readonly PathPattern[] | undefined;
  /** `caseSensitive: false`: `paths` were folded and match the path read by `foldPathCase`. */
  readonly foldCase: boolean;
  readonly methods: readonly string[] | undefined;
  readonly users: readonly string[] | undefined;
  /** Lower case; with `users`, one condition (see `scope.ts`). */
  readonly groups: readonly string[] | undefined;
  /** Request header edits of an allow rule (undefined: none). */
  readonly requestHeaders: HeaderEditsConfig | undefined;
  /** Response header edits of an allow rule (undefined: none). */
  readonly responseHeaders: HeaderEditsConfig | undefined;
  readonly message: string | undefined;
  /** When the rule applies; undefined = always. */
  readonly schedule: Schedule | undefined;
  /** Decided by the response's type (see `response-types.ts`); undefined = by the request. */
  readonly responseTypes: readonly MediaRange[] | undefined;
  /** An allow rule's body limits, in bytes. */
  readonly maxRequestBytes: number | undefined;
  readonly maxResponseBytes: number | undefined;
}

/** A value as an error message shows it. */
export function valueText(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

function _list<T>(r: Record<string, unknown>, key: string, at: string, parse: (item: string) => T): T[] | undefined {
  const v = r[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) fieldError(`${at}.${key}`, `expected an array, got ${valueText(v)}`);
  const out: T[] = [];
  for (let i = 0; i < v.length; i++) {
    try {
      out.push(parse(v[i] as string));
    } catch (e) {
      fieldError(`${at}.${key}[${i}]`, (e as Error).message);
    }
  }
  // an empty list names nothing: never read as no condition (which would match any)
  if (out.length === 0) fieldError(`${at}.${key}`, `expected at least one entry (leave "${key}" out to match any)`);
  return out;
}

/**
 * Checks and compiles the url rule at `urlRules[index]`; `lists` are the host lists its
 * `hostLists` may name.
 * @throws {TypeError} naming the field (`urlRules[1].paths[0]: …`)
 */
export function compileUrlRule(def: unknown, index: number, lists: ReadonlyMap<string, HostList>): CompiledUrlRule {
  const at = `urlRules[${index}]`;
  if (typeof def !== "object" || def === null || Array.isArray(def)) fieldError(at, `expected a url rule object, got ${valueText(def)}`);
  const r = def as Record<string, unknown>;
  const id = r["id"];
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_RULE_ID) {
    fieldError(`${at}.id`, `expected a non-empty string of at most ${MAX_RULE_ID} characters, got ${valueText(id)}`);
  }
  if (id === "default") fieldError(`${at}.id`, `"default" is reserved for the default decision`);
  const action = r["action"];
  if (action !== "allow" && action !== "deny") fieldError(`${at}.action`, `expected "allow" or "deny", got ${valueText(action)}`);
  const log = r["log"];
  if (log !== undefined && typeof log !== "boolean") fieldError(`${at}.log`, `expected a boolean, got ${valueText(log)}`);
  const message = r["message"];
  if (message !== undefined) {
    const why = messageError(message);
    if (why !== undefined) fieldError(`${at}.message`, why);
  }
  const caseSensitive = r["caseSensitive"];
  if (caseSensitive !== undefined && typeof caseSensitive !== "boolean") fieldError(`${at}.caseSensitive`, `expected a boolean, got ${valueText(caseSensitive)}`);
  const foldCase = caseSensitive === false;
  const paths = _list(r, "paths", at, (p) => parsePathPattern(p, foldCase));
  if (foldCase && paths === undefined) fieldError(`${at}.caseSensitive`, 'applies to "paths", and the rule has none');
  const responseTypes = _list(r, "responseTypes", at, parseMediaRange);
  const requestHeaders = _edits(r["requestHeaders"], `${at}.requestHeaders`, action);
  const responseHeaders = _edits(r["responseHeaders"], `${at}.responseHeaders`, action);
  if (responseTypes !== undefined && (requestHeaders !== undefined || responseHeaders !== undefined)) {
    fieldError(`${at}.responseTypes`, "a rule decided by the response takes no requestHeaders or responseHeaders (the request went out before it applies)");
  }
  const maxRequestBytes = _limit(r, "maxRequestBytes", at, action, responseTypes !== undefined);
  const maxResponseBytes = _limit(r, "maxResponseBytes", at, action, responseTypes !== undefined);
  return {
    id,
    action,
    log: log === true,
    hosts: _list(r, "hosts", at, parseHostPattern),
    hostLists: _list(r, "hostLists", at, (name) => hostListNamed(lists, name)),
    paths,
    foldCase,
    methods: _list(r, "methods", at, (m) => {
      const error = methodError(m);
      if (error !== undefined) throw new TypeError(error);
      return m;
    }),
    users: _list(r, "users", at, parseUserName),
    groups: _list(r, "groups", at, parseGroupName),
    requestHeaders,
    responseHeaders,
    message: message as string | undefined,
    schedule: _schedule(r["schedule"], at),
    responseTypes,
    maxRequestBytes,
    maxResponseBytes,
  };
}

/** Largest body limit a rule may set: 2^53 - 1 bytes (any body a client can send fits under it). */
const MAX_LIMIT = Number.MAX_SAFE_INTEGER;

/** A body limit of an allow rule without `responseTypes`, checked. */
function _limit(r: Record<string, unknown>, key: string, at: string, action: Action, byResponse: boolean): number | undefined {
  const v = r[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_LIMIT) fieldError(`${at}.${key}`, `expected a number of bytes (an integer 0 or more), got ${valueText(v)}`);
  if (action !== "allow") fieldError(`${at}.${key}`, 'only an "allow" rule limits bodies (a denied request goes nowhere)');
  if (byResponse) fieldError(`${at}.${key}`, "a rule decided by the response takes no body limits");
  return v;
}

/** A rule's request header edits, checked (the config schema checked them already; a policy may come from elsewhere). */
function _edits(value: unknown, at: string, action: Action): HeaderEditsConfig | undefined {
  if (value === undefined) return undefined;
  const e = value as Partial<HeaderEditsConfig> | null;
  if (typeof e !== "object" || e === null || !Array.isArray(e.remove) || !Array.isArray(e.set) || !Array.isArray(e.add)) {
    fieldError(at, `expected {remove, set, add} header edits, got ${valueText(value)}`);
  }
  for (const name of [...e.remove, ...e.set.map((x) => x[0]), ...e.add.map((x) => x[0])]) {
    const error = editableHeaderError(name);
    if (error !== undefined) fieldError(at, error);
  }
  for (const [, text] of [...e.set, ...e.add]) {
    const error = headerValueError(text);
    if (error !== undefined) fieldError(at, error);
  }
  const edits = e as HeaderEditsConfig;
  if (isNoop(edits)) return undefined;
  if (action !== "allow") fieldError(at, 'only an "allow" rule can change fields (a denied request goes nowhere)');
  return edits;
}

/** A rule's schedule, checked (the config schema checked it already). */
function _schedule(value: unknown, at: string): Schedule | undefined {
  if (value === undefined) return undefined;
  try {
    return parseSchedule(value);
  } catch (e) {
    const [field, text] = scheduleErrorField((e as Error).message);
    fieldError(field === undefined ? `${at}.schedule` : `${at}.schedule.${field}`, text);
  }
}
