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
import { IpScratch } from "../core/ip.ts";
import type { CompileOptions } from "./compile.ts";
import type { HostList } from "./host-list.ts";
import { MAX_OVERRIDES, type RequestOverride } from "../protocol/request-overrides.ts";
import { hostPatternMatches, hostPatternText } from "./host-pattern.ts";
import { fieldError } from "./rule.ts";
import { localText, scheduleMatches, scheduleText } from "./schedule.ts";
import { type Who, whoMatches, whoText } from "./scope.ts";
import { urlRuleReason } from "./url-rule-reason.ts";
import type { Host, PendingResponseRule, UrlDecision, UrlPolicy, UrlQuery, UrlRuleDefinition } from "./types.ts";
import { foldPathCase, type NormalizedPath, normalizeUrlPath, type PathPattern, pathPatternMatches } from "./url-path.ts";
import { type CompiledUrlRule, compileUrlRule, valueText } from "./url-rule-compile.ts";

export { methodError } from "./url-rule-compile.ts";

/** True when `rule` has no schedule or `now` lies in it. */
function _inSchedule(rule: CompiledUrlRule, now: number): boolean {
  return rule.schedule === undefined || scheduleMatches(rule.schedule, now);
}

/**
 * What a rule's host condition matched: its pattern text (and the host list it is in), null
 * without one, undefined when it did not. `ip` is the parsed address of an IP host.
 */
function _hostMatch(rule: CompiledUrlRule, host: Host, ip: Uint8Array | undefined): { readonly pattern: string; readonly list?: string } | null | undefined {
  if (rule.hosts === undefined && rule.hostLists === undefined) return null;
  const hit = rule.hosts?.find((p) => hostPatternMatches(p, host, ip));
  if (hit !== undefined) return { pattern: hostPatternText(hit) };
  if (rule.hostLists !== undefined) {
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

/**
 * What of the query `rule`'s request conditions matched (`path` is normalised; `folded` the
 * same read by `foldPathCase`, for rules with `caseSensitive: false`), undefined when one did not.
 */
function _matchRequest(rule: CompiledUrlRule, host: Host, ip: Uint8Array | undefined, path: string, folded: string, method: string, who: Who, now: number): RequestMatch | undefined {
  if (rule.methods !== undefined && !rule.methods.includes(method)) return undefined;
  if (!_inSchedule(rule, now)) return undefined;
  if (!_userMatches(rule, who)) return undefined;
  const hostHit = _hostMatch(rule, host, ip);
  if (hostHit === undefined) return undefined;
  let pathHit: PathPattern | undefined;
  if (rule.paths !== undefined) {
    const read = rule.foldCase ? folded : path;
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
  /** Some rule has `caseSensitive: false`: only then is a path folded, once per reading. */
  readonly #folds: boolean;
  readonly #scratch = new IpScratch();

  constructor(rules: readonly CompiledUrlRule[]) {
    this.#rules = rules;
    this.#timed = rules.some((r) => r.schedule !== undefined);
    this.#byMethod = rules.some((r) => r.methods !== undefined);
    this.#byPath = rules.some((r) => r.paths !== undefined);
    this.#folds = rules.some((r) => r.foldCase);
  }

  /** The address of an IP host, parsed once per walk over the rules; valid until the next walk. */
  #ip(host: Host): Uint8Array | undefined {
    return host.kind === "dns" ? undefined : this.#scratch.parse(host.address);
  }

  /** The first request rule that matches (undefined: none), and the response rules that matched ahead of it. */
  #first(host: Host, path: string, method: string, who: Who, now: number): { decided: UrlDecision | undefined; pending: PendingResponseRule[] | undefined } {
    let pending: PendingResponseRule[] | undefined; // made only when a response rule matches
    const folded = this.#folds ? foldPathCase(path) : path;
    const ip = this.#ip(host);
    for (const rule of this.#rules) {
      const match = _matchRequest(rule, host, ip, path, folded, method, who, now);
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
    const ip = this.#ip(host);
    for (const rule of this.#rules) {
      if (rule.paths === undefined) {
        const match = _matchRequest(rule, host, ip, "", "", method, who, now);
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
      if (_hostMatch(rule, host, ip) === undefined) continue;
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
  if (!Array.isArray(defs)) fieldError("urlRules", `expected an array, got ${valueText(defs)}`);
  const rules: CompiledUrlRule[] = [];
  const seen = new Map<string, number>();
  const lists = options.hostLists ?? new Map<string, HostList>();
  for (let i = 0; i < defs.length; i++) {
    const rule = compileUrlRule(defs[i], i, lists);
    const first = seen.get(rule.id);
    if (first !== undefined) fieldError(`urlRules[${i}].id`, `duplicate url rule id ${JSON.stringify(rule.id)} (first at urlRules[${first}])`);
    seen.set(rule.id, i);
    rules.push(rule);
  }
  return new CompiledUrlRules(rules);
}
