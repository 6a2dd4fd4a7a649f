/**
 * The policy engine: `compilePolicy` validates a {@link PolicyDefinition} and indexes it.
 *
 * Semantics: rules are ordered; the FIRST rule (in definition order) whose host AND port
 * AND client AND listener AND mode conditions all match wins. An absent or empty condition
 * matches anything; a rule with `listeners` (`modes`) matches only queries whose
 * `listener` (`mode`) is one of them, so a query without one matches no scoped rule.
 * No match gives the default action (ruleId "default"). A rule's host condition matches
 * when any of its `hosts` patterns or `hostRegex` expressions does.
 *
 * Cost: compiling is linear in the number of patterns. A lookup probes one Map per label
 * of the host name (an IP: its exact-address table and one CIDR table per prefix length
 * present) and scans the `*` and regex lists only below the best rule found so far, so
 * exact, suffix, IP and CIDR rules cost the same at 10 or 10^6 rules. Listener and
 * mode scopes are checked with the other non-host conditions; a policy without scoped
 * rules does not look at them at all.
 *
 * The definition is treated as immutable after compiling (`explain` re-reads it).
 *
 * @example
 * ```ts
 * const policy = compilePolicy({
 *   defaultAction: "deny",
 *   rules: [{ id: "corp", hosts: ["*.corp.example"], ports: [443], action: "allow" }],
 * });
 * policy.decide({ host: normalizeHost("git.corp.example"), port: 443, clientIp: "10.0.0.7" }).reason;
 * // 'rule "corp" matched host pattern "*.corp.example" and port 443'
 *
 * const scoped = compilePolicy({
 *   defaultAction: "deny",
 *   rules: [{ id: "t", hosts: ["x.example"], listeners: ["tproxy"], action: "allow" }],
 * });
 * scoped.decide({ host: normalizeHost("x.example"), port: 443, clientIp: "10.0.0.7", listener: "tproxy", mode: "transparent" }).reason;
 * // 'rule "t" matched host pattern "x.example" on listener "tproxy"'
 * ```
 * @module
 */

import { type Cidr, cidrContains, IpScratch, parseReportedIp } from "../core/ip.ts";
import { conditionsText, explainRule } from "./explain.ts";
import { HostIndex } from "./host-index.ts";
import type { HostList } from "./host-list.ts";
import { NameTable, randomSeed } from "./name-table.ts";
import { compileRule, fieldError, isParentName, portsMatch, RuleSet } from "./rule.ts";
import { scheduleMatches } from "./schedule.ts";
import { modeBit, scopeMatches, type Who } from "./scope.ts";
import type {
  Action,
  Decision,
  Explanation,
  Policy,
  PolicyDefinition,
  PolicyQuery,
  RuleDefinition,
  RuleExplanation,
} from "./types.ts";
import { DIRECT } from "./types.ts";

class CompiledPolicy implements Policy {
  readonly #defs: readonly RuleDefinition[];
  readonly #lists: ReadonlyMap<string, HostList>;
  readonly #rules: RuleSet;
  readonly #index: HostIndex;
  readonly #default: Decision;
  readonly #ok: (rule: number) => boolean;
  // per-query scratch (decide is synchronous); the addresses are parsed into buffers reused
  // from query to query, which nothing keeps past the query (the client's until its text changes)
  readonly #hostScratch = new IpScratch();
  readonly #clientScratch = new IpScratch();
  #port = 0;
  #clientText = "";
  #clientBytes: Uint8Array | undefined;
  #clientKnown = false;
  #listener: string | undefined;
  #modeBit = 0;
  #who: Who = {};
  #now = 0;
  readonly #scoped: boolean;

  readonly #parents: readonly (string | undefined)[];
  readonly #timed: boolean;

  constructor(
    defs: readonly RuleDefinition[],
    lists: ReadonlyMap<string, HostList>,
    rules: RuleSet,
    index: HostIndex,
    action: Action,
    log: boolean,
    defaultParent: string | undefined,
  ) {
    this.#defs = defs;
    this.#lists = lists;
    this.#rules = rules;
    this.#index = index;
    const parentOf = (name: string | undefined) => (name === undefined || name === DIRECT ? undefined : name);
    const byDefault = parentOf(defaultParent);
    this.#parents = defs.map((d) => (d.parent === undefined ? byDefault : parentOf(d.parent)));
    this.#default = Object.freeze({
      action,
      ruleId: "default",
      reason: `no rule matched; default ${action}`,
      log,
      decryption: "exception",
      upstreamTls: "verify",
      ...(byDefault !== undefined && action === "allow" ? { parent: byDefault } : {}),
    });
    const ports = rules.ports;
    const clients = rules.clients;
    const ok = (i: number): boolean => {
      const p = ports[i];
      if (p !== undefined && !portsMatch(p, this.#port)) return false;
      const cs = clients[i];
      if (cs === undefined) return true;
      const client = this.#client();
      if (client === undefined) return false;
      for (let k = 0; k < cs.length; k++) if (cidrContains(cs[k] as Cidr, client)) return true;
      return false;
    };
    const scopes = rules.scopes;
    this.#scoped = scopes !== undefined;
    // without scoped rules the check is exactly the unscoped one
    const scoped = scopes === undefined ? ok : (i: number): boolean => {
      const s = scopes[i];
      if (s !== undefined && !scopeMatches(s, this.#listener, this.#modeBit, this.#who)) return false;
      return ok(i);
    };
    // and without schedules, no clock is read
    const schedules = rules.schedules;
    this.#ok = schedules === undefined ? scoped : (i: number): boolean => {
      const s = schedules[i];
      if (s !== undefined && !scheduleMatches(s, this.#now)) return false;
      return scoped(i);
    };
    this.#timed = schedules !== undefined;
  }

  #client(): Uint8Array | undefined {
    if (!this.#clientKnown) {
      this.#clientBytes = parseReportedIp(this.#clientText, this.#clientScratch);
      this.#clientKnown = true;
    }
    return this.#clientBytes;
  }

  #begin(query: PolicyQuery): Uint8Array | undefined {
    this.#port = query.port;
    if (query.clientIp !== this.#clientText) {
      this.#clientText = query.clientIp;
      this.#clientKnown = false;
    }
    if (this.#timed) this.#now = query.now ?? Date.now();
    if (this.#scoped) {
      this.#listener = query.listener;
      this.#modeBit = modeBit(query.mode);
      this.#who = query;
    }
    const host = query.host;
    return host.kind === "dns" ? undefined : this.#hostScratch.parse(host.address);
  }

  decide(query: PolicyQuery): Decision {
    const hostIp = this.#begin(query);
    const index = this.#index;
    const i = index.find(query.host, hostIp, this.#rules.length, this.#ok);
    if (i < 0) return this.#default;
    const rule = this.#rules.get(i);
    let how: string;
    switch (index.matchKind) {
      case "any":
        how = rule.anyHost ? "any host" : `host pattern "*"`;
        break;
      case "regex":
        how = `host regex ${JSON.stringify(index.matchText)}`;
        break;
      case "list":
        how = `host pattern ${JSON.stringify(index.matchText)} in host list ${JSON.stringify(index.matchList)}`;
        break;
      case "subdomains":
        how = `host pattern "*.${index.matchText}"`;
        break;
      case "domain":
        how = `host pattern ".${index.matchText}"`;
        break;
      case "cidr":
        how = `host pattern "${index.cidrMatchText}"`;
        break;
      default:
        how = `host pattern "${index.matchText}"`;
    }
    const client = rule.clients === undefined ? undefined : this.#client();
    const allowAddresses = this.#defs[i]?.allowAddresses;
    const parent = rule.action === "allow" ? this.#parents[i] : undefined;
    const message = this.#defs[i]?.message;
    const tunnelUninspectable = rule.action === "allow" && rule.decryption === "decrypt" && this.#defs[i]?.uninspectable === "tunnel";
    const decision: Decision = {
      action: rule.action,
      ruleId: rule.id,
      reason: `rule ${JSON.stringify(rule.id)} matched ${how}${conditionsText(rule, query.port, client, query.listener, query.mode, query, this.#now)}`,
      log: rule.log,
      decryption: rule.decryption,
      upstreamTls: rule.upstreamTls,
      ...(parent !== undefined ? { parent } : {}),
      ...(message !== undefined ? { message } : {}),
      ...(tunnelUninspectable ? { uninspectable: "tunnel" as const } : {}),
    };
    return allowAddresses && allowAddresses.length > 0 ? { ...decision, allowAddresses } : decision;
  }

  explain(query: PolicyQuery): Explanation {
    const hostIp = this.#begin(query);
    const client = this.#client();
    const out: RuleExplanation[] = [];
    for (let i = 0; i < this.#rules.length; i++) {
      const rule = this.#rules.get(i);
      const def = this.#defs[i] as RuleDefinition;
      out.push(explainRule(def, rule, i, { ...query, now: this.#now }, hostIp, client, this.#lists));
    }
    return { decision: this.decide(query), rules: out };
  }
}

/** What a policy is compiled with besides its definition. */
export interface CompileOptions {
  /** The host lists rules may name in `hostLists`, parsed (see `loadHostLists`). */
  readonly hostLists?: ReadonlyMap<string, HostList>;
}

/**
 * Validate and compile a policy definition.
 *
 * @throws {TypeError} naming the offending field, e.g.
 * `rules[2].hosts[0]: expected a host name, "*.suffix", ".suffix", an IP address or a CIDR, got "exa mple.com" (...)`,
 * or `rules[3].id: duplicate rule id "x" (first at rules[1])`
 */
export function compilePolicy(def: PolicyDefinition, options: CompileOptions = {}): Policy {
  if (typeof def !== "object" || def === null) throw new TypeError(`policy: expected an object, got ${String(def)}`);
  const { rules, defaultAction, defaultLog, defaultParent } = def;
  if (!Array.isArray(rules)) fieldError("rules", `expected an array, got ${JSON.stringify(rules) ?? String(rules)}`);
  if (defaultAction !== "allow" && defaultAction !== "deny") {
    fieldError("defaultAction", `expected "allow" or "deny", got ${JSON.stringify(defaultAction) ?? String(defaultAction)}`);
  }
  if (defaultLog !== undefined && typeof defaultLog !== "boolean") {
    fieldError("defaultLog", `expected a boolean, got ${JSON.stringify(defaultLog)}`);
  }
  if (defaultParent !== undefined && !isParentName(defaultParent)) {
    fieldError("defaultParent", `expected a parent proxy name or "direct", got ${JSON.stringify(defaultParent)}`);
  }
  const index = new HostIndex();
  const compiled = new RuleSet(rules.length);
  const ids = new NameTable(randomSeed());
  const lists = options.hostLists ?? new Map<string, HostList>();
  for (let i = 0; i < rules.length; i++) {
    compileRule(rules[i], i, index, compiled, lists);
    const id = compiled.ids[i] as string;
    const first = ids.firstRule(ids.add(id, i));
    if (first !== i) fieldError(`rules[${i}].id`, `duplicate rule id ${JSON.stringify(id)} (first at rules[${first}])`);
  }
  return new CompiledPolicy(rules, lists, compiled, index, defaultAction, defaultLog ?? false, defaultParent);
}
