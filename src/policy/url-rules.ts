/**
 * Url rules: ordered per-request rules for the requests the gateway reads (decrypted ones,
 * plain HTTP ones).
 *
 * Semantics: the FIRST rule (in definition order) whose host AND path AND method (AND who:
 * a user named or a member of a group named, AND schedule) conditions all match decides; an absent or empty condition matches anything
 * (a host condition is `hosts` and `hostLists` together: either may match). No match
 * allows (ruleId "default", not logged). Hosts use the policy host-pattern syntax; paths are
 * matched against the normalised path (see `url-path.ts`: unreserved escapes decoded,
 * dot-segments resolved, query ignored, case kept, `//` and `%2F` kept). The request
 * method is uppercased before matching, so `delete` cannot dodge a rule on `DELETE`.
 *
 * Fail-safe reading of paths:
 * - a path with `%2F`, `%5C`, `\` or `;` is also read leniently (those as `/`); the
 *   request is denied when either reading is denied;
 * - a path that cannot be normalised (malformed `%` escape, non-ASCII, not starting with
 *   `/`) is denied by the first rule that could match it: rules are walked in order, a
 *   rule without `paths` decides as usual, a deny rule with `paths` denies (its paths
 *   cannot be ruled out), an allow rule with `paths` is skipped (it cannot be confirmed).
 *
 * @example
 * ```ts
 * const rules = compileUrlRules([{ id: "no-admin", paths: ["/admin"], methods: ["GET"], action: "deny" }]);
 * rules.decide({ host: normalizeHost("app.example"), path: "/admin?x=1", method: "GET" }).reason;
 * // 'url rule "no-admin" matched path "/admin" and method GET'
 * ```
 * @module
 */

import { hostText } from "../core/host.ts";
import { parseIp } from "../core/ip.ts";
import type { CompileOptions } from "./compile.ts";
import { type HostList, hostListNamed } from "./host-list.ts";
import { editableHeaderError, type HeaderEditsConfig, headerValueError, isNoop } from "../protocol/header-edits.ts";
import { MAX_OVERRIDES, type RequestOverride } from "../protocol/request-overrides.ts";
import { type HostPattern, hostPatternMatches, hostPatternText, parseHostPattern } from "./host-pattern.ts";
import { fieldError, MAX_RULE_ID } from "./rule.ts";
import { messageError } from "./message.ts";
import { localText, parseSchedule, type Schedule, scheduleErrorField, scheduleMatches, scheduleText } from "./schedule.ts";
import { parseGroupName, parseUserName, type Who, whoMatches, whoText } from "./scope.ts";
import { parseMediaRange } from "./response-types.ts";
import { urlRuleReason } from "./url-rule-reason.ts";
import type { Action, Host, MediaRange, PendingResponseRule, UrlDecision, UrlPolicy, UrlQuery, UrlRuleDefinition } from "./types.ts";
import { foldPathCase, type NormalizedPath, normalizeUrlPath, type PathPattern, parsePathPattern, pathPatternMatches } from "./url-path.ts";

/** HTTP method tokens as url rules accept them: uppercase tchars, 1-32 characters. */
const METHOD_RE = /^[A-Z0-9!#$%&'*+.^_`|~-]{1,32}$/;

/** `undefined` when `method` is an uppercase HTTP method token, else the reason. */
export function methodError(method: string): string | undefined {
  if (typeof method === "string" && METHOD_RE.test(method)) return undefined;
  const got = JSON.stringify(method) ?? String(method);
  const hint = typeof method === "string" && METHOD_RE.test(method.toUpperCase()) ? ` (write ${JSON.stringify(method.toUpperCase())})` : "";
  return `expected an uppercase HTTP method like "GET", got ${got}${hint}`;
}

interface CompiledUrlRule {
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

function _show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

function _list<T>(r: Record<string, unknown>, key: string, at: string, parse: (item: string) => T): T[] | undefined {
  const v = r[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) fieldError(`${at}.${key}`, `expected an array, got ${_show(v)}`);
  const out: T[] = [];
  for (let i = 0; i < v.length; i++) {
    try {
      out.push(parse(v[i] as string));
    } catch (e) {
      fieldError(`${at}.${key}[${i}]`, (e as Error).message);
    }
  }
  return out.length === 0 ? undefined : out;
}

function _compile(def: unknown, index: number, lists: ReadonlyMap<string, HostList>): CompiledUrlRule {
  const at = `urlRules[${index}]`;
  if (typeof def !== "object" || def === null || Array.isArray(def)) fieldError(at, `expected a url rule object, got ${_show(def)}`);
  const r = def as Record<string, unknown>;
  const id = r["id"];
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_RULE_ID) {
    fieldError(`${at}.id`, `expected a non-empty string of at most ${MAX_RULE_ID} characters, got ${_show(id)}`);
  }
  if (id === "default") fieldError(`${at}.id`, `"default" is reserved for the default decision`);
  const action = r["action"];
  if (action !== "allow" && action !== "deny") fieldError(`${at}.action`, `expected "allow" or "deny", got ${_show(action)}`);
  const log = r["log"];
  if (log !== undefined && typeof log !== "boolean") fieldError(`${at}.log`, `expected a boolean, got ${_show(log)}`);
  const message = r["message"];
  if (message !== undefined) {
    const why = messageError(message);
    if (why !== undefined) fieldError(`${at}.message`, why);
  }
  const caseSensitive = r["caseSensitive"];
  if (caseSensitive !== undefined && typeof caseSensitive !== "boolean") fieldError(`${at}.caseSensitive`, `expected a boolean, got ${_show(caseSensitive)}`);
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
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_LIMIT) fieldError(`${at}.${key}`, `expected a number of bytes (an integer 0 or more), got ${_show(v)}`);
  if (action !== "allow") fieldError(`${at}.${key}`, 'only an "allow" rule limits bodies (a denied request goes nowhere)');
  if (byResponse) fieldError(`${at}.${key}`, "a rule decided by the response takes no body limits");
  return v;
}

/** A rule's request header edits, checked (the config schema checked them already; a policy may come from elsewhere). */
function _edits(value: unknown, at: string, action: Action): HeaderEditsConfig | undefined {
  if (value === undefined) return undefined;
  const e = value as Partial<HeaderEditsConfig> | null;
  if (typeof e !== "object" || e === null || !Array.isArray(e.remove) || !Array.isArray(e.set) || !Array.isArray(e.add)) {
    fieldError(at, `expected {remove, set, add} header edits, got ${_show(value)}`);
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

/** True when `rule` has no schedule or `now` lies in it. */
function _inSchedule(rule: CompiledUrlRule, now: number): boolean {
  return rule.schedule === undefined || scheduleMatches(rule.schedule, now);
}

/**
 * What a rule's host condition matched: its pattern text (and the host list it is in), null
 * without one, undefined when it did not.
 */
function _hostMatch(rule: CompiledUrlRule, host: Host): { readonly pattern: string; readonly list?: string } | null | undefined {
  if (rule.hosts === undefined && rule.hostLists === undefined) return null;
  const hit = rule.hosts?.find((p) => hostPatternMatches(p, host));
  if (hit !== undefined) return { pattern: hostPatternText(hit) };
  if (rule.hostLists !== undefined) {
    const ip = host.kind === "dns" ? undefined : parseIp(host.address);
    for (const list of rule.hostLists) if (list.matches(host, ip)) return { pattern: list.matchText, list: list.name };
  }
  return undefined;
}

function _quotedWithPattern(what: string, value: string, pattern: string): string {
  const shown = `${what} ${JSON.stringify(value)}`;
  return value === pattern ? shown : `${shown} (pattern ${JSON.stringify(pattern)})`;
}

/** True when `rule` has no who condition, or `who` passes it. */
function _userMatches(rule: CompiledUrlRule, who: Who): boolean {
  return whoMatches(rule.users, rule.groups, who);
}

/** What of a request a rule matched, for its reason. */
interface RequestMatch {
  readonly parts: readonly string[];
  readonly during: string;
}

/** What of the query `rule`'s request conditions matched (`path` is normalised), undefined when one did not. */
function _matchRequest(rule: CompiledUrlRule, host: Host, path: string, method: string, who: Who, now: number): RequestMatch | undefined {
  if (rule.methods !== undefined && !rule.methods.includes(method)) return undefined;
  if (!_inSchedule(rule, now)) return undefined;
  if (!_userMatches(rule, who)) return undefined;
  const hostHit = _hostMatch(rule, host);
  if (hostHit === undefined) return undefined;
  let pathHit: PathPattern | undefined;
  if (rule.paths !== undefined) {
    const read = rule.foldCase ? foldPathCase(path) : path;
    pathHit = rule.paths.find((p) => pathPatternMatches(p, read));
    if (pathHit === undefined) return undefined;
  }
  const parts: string[] = [];
  if (hostHit !== null) {
    parts.push(hostHit.list === undefined
      ? _quotedWithPattern("host", hostText(host), hostHit.pattern)
      : `host ${JSON.stringify(hostText(host))} (pattern ${JSON.stringify(hostHit.pattern)} in host list ${JSON.stringify(hostHit.list)})`);
  }
  if (pathHit !== undefined) parts.push(_quotedWithPattern("path", path, pathHit.source));
  if (rule.methods !== undefined) parts.push(`method ${method}`);
  if (rule.users !== undefined || rule.groups !== undefined) parts.push(whoText(rule.users, rule.groups, who));
  return { parts, during: _during(rule, now) };
}

function _during(rule: CompiledUrlRule, now: number): string {
  return rule.schedule === undefined ? "" : ` during ${scheduleText(rule.schedule)} (now ${localText(rule.schedule, now)})`;
}

/** A rule with `responseTypes` that matched a request, waiting for the response. */
function _pending(rule: CompiledUrlRule, match: RequestMatch, note = ""): PendingResponseRule {
  return {
    id: rule.id,
    action: rule.action,
    log: rule.log,
    ...(rule.message !== undefined ? { message: rule.message } : {}),
    types: rule.responseTypes ?? [],
    matched: match.parts,
    during: match.during,
    note,
  };
}

/** The decision of a request rule that matched. */
function _decision(rule: CompiledUrlRule, match: RequestMatch): UrlDecision {
  const reason = urlRuleReason(rule.id, match.parts, match.during);
  return {
    action: rule.action,
    ruleId: rule.id,
    reason,
    log: rule.log,
    ...(rule.requestHeaders ? { requestHeaders: rule.requestHeaders } : {}),
    ...(rule.responseHeaders ? { responseHeaders: rule.responseHeaders } : {}),
    ...(rule.message !== undefined ? { message: rule.message } : {}),
    ...(rule.maxRequestBytes !== undefined ? { maxRequestBytes: rule.maxRequestBytes } : {}),
    ...(rule.maxResponseBytes !== undefined ? { maxResponseBytes: rule.maxResponseBytes } : {}),
  };
}

class CompiledUrlRules implements UrlPolicy {
  readonly #rules: readonly CompiledUrlRule[];
  /** Some rule has a schedule: only then is the clock read. */
  readonly #timed: boolean;
  /** Some rule has methods, or paths: only then can another method, or path, decide otherwise. */
  readonly #byMethod: boolean;
  readonly #byPath: boolean;

  constructor(rules: readonly CompiledUrlRule[]) {
    this.#rules = rules;
    this.#timed = rules.some((r) => r.schedule !== undefined);
    this.#byMethod = rules.some((r) => r.methods !== undefined);
    this.#byPath = rules.some((r) => r.paths !== undefined);
  }

  /** The first request rule that matches (undefined: none), and the response rules that matched ahead of it. */
  #first(host: Host, path: string, method: string, who: Who, now: number): { decided: UrlDecision | undefined; pending: PendingResponseRule[] | undefined } {
    let pending: PendingResponseRule[] | undefined; // made only when a response rule matches
    for (const rule of this.#rules) {
      const match = _matchRequest(rule, host, path, method, who, now);
      if (match === undefined) continue;
      if (rule.responseTypes !== undefined) (pending ??= []).push(_pending(rule, match));
      else return { decided: _decision(rule, match), pending };
    }
    return { decided: undefined, pending };
  }

  /** Decision for a path that cannot be normalised (see the module doc). */
  #unreadable(host: Host, target: string, method: string, who: Who, why: string, now: number): UrlDecision {
    const shown = JSON.stringify(target.length > 64 ? `${target.slice(0, 64)}…` : target);
    const pending: PendingResponseRule[] = [];
    for (const rule of this.#rules) {
      if (rule.paths === undefined) {
        const match = _matchRequest(rule, host, "", method, who, now);
        if (match === undefined) continue;
        const note = ` (path ${shown} cannot be normalised: ${why})`;
        if (rule.responseTypes !== undefined) {
          pending.push(_pending(rule, match, note));
          continue;
        }
        const decided = _decision(rule, match);
        return _withPending({ ...decided, reason: decided.reason + note }, pending);
      }
      if (rule.action !== "deny") continue;
      if (rule.methods !== undefined && !rule.methods.includes(method)) continue;
      if (!_inSchedule(rule, now)) continue;
      if (!_userMatches(rule, who)) continue;
      if (_hostMatch(rule, host) === undefined) continue;
      if (rule.responseTypes !== undefined) {
        // its paths cannot be ruled out: it denies the response if the type matches
        pending.push(_pending(rule, { parts: [], during: _during(rule, now) }, ` (it may match path ${shown}, which cannot be normalised: ${why})`));
        continue;
      }
      return {
        action: "deny",
        ruleId: rule.id,
        reason: `url rule ${JSON.stringify(rule.id)} may match path ${shown}, which cannot be normalised (${why}); denied`,
        log: rule.log,
      };
    }
    return _withPending({ action: "allow", ruleId: "default", reason: `no url rule can match path ${shown} (${why}); default allow`, log: false }, pending);
  }

  /** The decision for one reading of a request: its path normalised, and read leniently too. */
  #reading(query: UrlQuery, target: string, method: string, now: number): UrlDecision {
    let normal: NormalizedPath;
    try {
      normal = normalizeUrlPath(target);
    } catch (e) {
      return this.#unreadable(query.host, target, method, query, (e as Error).message, now);
    }
    const strict = this.#first(query.host, normal.path, method, query, now);
    const decided = _withPending(strict.decided ?? DEFAULT, strict.pending);
    if (normal.lenient === undefined || decided.action === "deny") return decided;
    const lenient = this.#first(query.host, normal.lenient, method, query, now);
    const leniently = ` (path ${JSON.stringify(normal.path)} read leniently)`;
    if (lenient.decided?.action === "deny") return { ...lenient.decided, reason: lenient.decided.reason + leniently };
    // a response the lenient reading denies is denied (see `decideResponse`)
    if (lenient.pending === undefined || !lenient.pending.some((p) => p.action === "deny")) return decided;
    return { ...decided, byResponseOther: [lenient.pending.map((p) => ({ ...p, note: p.note + leniently }))] };
  }

  decide(query: UrlQuery): UrlDecision {
    const method = query.method.toUpperCase();
    const now = this.#timed ? (query.now ?? Date.now()) : 0;
    const decided = this.#reading(query, query.path, method, now);
    const o = query.overrides;
    if (o === undefined || decided.action === "deny" || this.#rules.length === 0 || (o.methods.length === 0 && o.paths.length === 0)) return decided;
    if (o.tooMany !== undefined) {
      const fields = o.tooMany === "methods" ? "X-HTTP-Method-Override and the like" : "X-Original-URL and the like";
      return {
        action: "deny",
        ruleId: OVERRIDES_RULE,
        reason: `the request names more than ${MAX_OVERRIDES} ${o.tooMany} in override fields (${fields}), more than url rules judge; denied`,
        log: true,
      };
    }
    // a reading can decide otherwise only in what some rule looks at: with no rule on
    // methods, another method decides as the request line's; likewise paths
    const methods = this.#byMethod ? o.methods : [];
    const paths = this.#byPath ? o.paths : [];
    const readings: { method: string; path: string; how: string }[] = [];
    const show = (x: RequestOverride) => `${x.field}: ${JSON.stringify(x.value)}`;
    for (const m of methods) readings.push({ method: m.value, path: query.path, how: show(m) });
    for (const p of paths) {
      readings.push({ method, path: p.value, how: show(p) });
      for (const m of methods) readings.push({ method: m.value, path: p.value, how: `${show(p)} and ${show(m)}` });
    }
    let others = decided.byResponseOther === undefined ? undefined : [...decided.byResponseOther];
    for (const r of readings) {
      const d = this.#reading(query, r.path, r.method, now);
      const note = ` (the request read with ${r.how})`;
      if (d.action === "deny") return { ...d, reason: d.reason + note };
      for (const list of [d.byResponse ?? [], ...(d.byResponseOther ?? [])]) {
        if (list.some((p) => p.action === "deny")) (others ??= []).push(list.map((p) => ({ ...p, note: p.note + note })));
      }
    }
    return others === undefined ? decided : { ...decided, byResponseOther: others };
  }
}

/** `d` with the response rules that matched ahead of it, when it allows (a denied request goes nowhere). */
function _withPending(d: UrlDecision, pending: readonly PendingResponseRule[] | undefined): UrlDecision {
  return d.action === "allow" && pending !== undefined && pending.length > 0 ? { ...d, byResponse: pending } : d;
}

/** The rule id of a request denied for naming too many methods or paths in override fields. */
export const OVERRIDES_RULE = "override-fields";

const DEFAULT: UrlDecision = Object.freeze({ action: "allow", ruleId: "default", reason: "no url rule matched; default allow", log: false });

/**
 * Validate and compile url rules; `options.hostLists` are the lists their `hostLists` may name.
 *
 * @throws {TypeError} naming the field, e.g. `urlRules[1].paths[0]: expected a path starting with "/", got "admin"`
 * or `urlRules[2].id: duplicate url rule id "x" (first at urlRules[0])`
 */
export function compileUrlRules(defs: readonly UrlRuleDefinition[], options: CompileOptions = {}): UrlPolicy {
  if (!Array.isArray(defs)) fieldError("urlRules", `expected an array, got ${_show(defs)}`);
  const rules: CompiledUrlRule[] = [];
  const seen = new Map<string, number>();
  const lists = options.hostLists ?? new Map<string, HostList>();
  for (let i = 0; i < defs.length; i++) {
    const rule = _compile(defs[i], i, lists);
    const first = seen.get(rule.id);
    if (first !== undefined) fieldError(`urlRules[${i}].id`, `duplicate url rule id ${JSON.stringify(rule.id)} (first at urlRules[${first}])`);
    seen.set(rule.id, i);
    rules.push(rule);
  }
  return new CompiledUrlRules(rules);
}
