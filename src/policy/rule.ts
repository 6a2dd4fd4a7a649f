/**
 * Validation and compilation of rule definitions. Host conditions go into the shared
 * {@link HostIndex}; everything else goes into a {@link RuleSet}, a struct of arrays (no
 * object per rule, which keeps a million-rule compile light on the garbage collector). Listener/mode
 * scopes get their own array only once a rule has one. Errors name the field path, e.g.
 * `rules[2].hosts[0]: expected a host name, ... got "exa mple.com"`.
 * @module
 */

import type { Cidr } from "../core/ip.ts";
import type { HostIndex } from "./host-index.ts";
import { type HostList, hostListNamed } from "./host-list.ts";
import { type HostPattern, parseClientCidr, parseHostPattern } from "./host-pattern.ts";
import { compileHostRegex } from "./host-regex.ts";
import { parsePortSpec } from "./ports.ts";
import { parseSchedule, type Schedule, scheduleErrorField } from "./schedule.ts";
import { messageError } from "./message.ts";
import { makeScope, parseGroupName, parseListenerName, parseMode, parseUserName, type RuleScope } from "./scope.ts";
import type { Action, Decryption, UpstreamTls } from "./types.ts";

/** One compiled rule, as read back from a {@link RuleSet}. */
export interface CompiledRule {
  readonly id: string;
  readonly action: Action;
  readonly log: boolean;
  readonly decryption: Decryption;
  readonly upstreamTls: UpstreamTls;
  /** Flattened inclusive ranges [lo0, hi0, lo1, hi1, ...]; undefined = any port. */
  readonly ports: readonly number[] | undefined;
  /** undefined = any client. */
  readonly clients: readonly Cidr[] | undefined;
  /** True when the rule has neither `hosts`, `hostRegex` nor `hostLists`. */
  readonly anyHost: boolean;
  /** Listener/mode/user conditions; undefined = any listener, mode and user. */
  readonly scope: RuleScope | undefined;
  /** When the rule applies; undefined = always. */
  readonly schedule: Schedule | undefined;
}

const ALLOW = 1;
const LOG = 2;
const DECRYPT = 4;
const ANY_HOST = 8;
const INSECURE = 16;

/** The compiled rules of a policy, indexed by definition position. */
export class RuleSet {
  readonly ids: string[] = [];
  readonly #flags: Uint8Array;
  /** Flattened port ranges per rule (single-port specs share one frozen array). */
  readonly ports: (readonly number[] | undefined)[] = [];
  readonly clients: (readonly Cidr[] | undefined)[] = [];
  #scopes: (RuleScope | undefined)[] | undefined;
  #schedules: (Schedule | undefined)[] | undefined;

  constructor(capacity: number) {
    this.#flags = new Uint8Array(capacity);
  }

  /** Number of rules. */
  get length(): number {
    return this.ids.length;
  }

  /**
   * Listener/mode/user scope per rule, or undefined while no rule has one: a policy without
   * scoped rules stores and checks nothing for them.
   */
  get scopes(): readonly (RuleScope | undefined)[] | undefined {
    return this.#scopes;
  }

  /** Schedule per rule, or undefined while no rule has one (as for scopes). */
  get schedules(): readonly (Schedule | undefined)[] | undefined {
    return this.#schedules;
  }

  /** Append a rule; returns its index. */
  push(
    id: string,
    flags: number,
    ports: readonly number[] | undefined,
    clients: readonly Cidr[] | undefined,
    scope?: RuleScope,
    schedule?: Schedule,
  ): number {
    const i = this.ids.length;
    this.ids.push(id);
    this.#flags[i] = flags;
    this.ports.push(ports);
    this.clients.push(clients);
    let scopes = this.#scopes;
    if (scope !== undefined && scopes === undefined) {
      // the first scoped rule: back-fill the earlier rules (kept dense for fast reads)
      this.#scopes = scopes = [];
      for (let k = 0; k < i; k++) scopes.push(undefined);
    }
    if (scopes !== undefined) scopes.push(scope);
    let schedules = this.#schedules;
    if (schedule !== undefined && schedules === undefined) {
      this.#schedules = schedules = [];
      for (let k = 0; k < i; k++) schedules.push(undefined);
    }
    if (schedules !== undefined) schedules.push(schedule);
    return i;
  }

  /** True when rule `i` allows. */
  allows(i: number): boolean {
    return ((this.#flags[i] ?? 0) & ALLOW) !== 0;
  }

  /** Rule `i` as an object (for reasons and explanations, not the hot path). */
  get(i: number): CompiledRule {
    const f = this.#flags[i] ?? 0;
    return {
      id: this.ids[i] ?? "",
      action: f & ALLOW ? "allow" : "deny",
      log: (f & LOG) !== 0,
      decryption: f & DECRYPT ? "decrypt" : "exception",
      upstreamTls: f & INSECURE ? "insecure" : "verify",
      ports: this.ports[i],
      clients: this.clients[i],
      anyHost: (f & ANY_HOST) !== 0,
      scope: this.#scopes?.[i],
      schedule: this.#schedules?.[i],
    };
  }
}

/** Longest rule id accepted. */
export const MAX_RULE_ID = 256;

function _show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : v === undefined ? "undefined" : JSON.stringify(v) ?? String(v);
}

/** Throw a TypeError prefixed with the field path. */
export function fieldError(path: string, message: string): never {
  throw new TypeError(`${path}: ${message}`);
}

/** Throw a TypeError for field `field` (e.g. ".hosts[0]") of rule `index`. */
function _fail(index: number, field: string, message: string): never {
  fieldError(`rules[${index}]${field}`, message);
}

function _list(rule: Record<string, unknown>, key: string, index: number): readonly unknown[] | undefined {
  const v = rule[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) _fail(index, `.${key}`, `expected an array, got ${_show(v)}`);
  // an empty list names no one: never read as no condition (which would match anyone)
  if (v.length === 0) _fail(index, `.${key}`, `expected at least one entry (leave "${key}" out to match any)`);
  return v;
}

function _each<T>(list: readonly unknown[], index: number, key: string, parse: (item: string & number) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i < list.length; i++) {
    try {
      out.push(parse(list[i] as string & number));
    } catch (e) {
      _fail(index, `.${key}[${i}]`, (e as Error).message);
    }
  }
  return out;
}

/** Shared flattened ranges for the common single-port spec, by port. */
const _singlePorts: (readonly number[] | undefined)[] = [];

function _ports(list: readonly unknown[], index: number): readonly number[] {
  if (list.length === 1 && typeof list[0] === "number") {
    const p = list[0];
    if (Number.isInteger(p) && p >= 1 && p <= 65535) {
      let shared = _singlePorts[p];
      if (shared === undefined) _singlePorts[p] = shared = Object.freeze([p, p]);
      return shared;
    }
  }
  const out: number[] = [];
  for (const [lo, hi] of _each(list, index, "ports", parsePortSpec)) out.push(lo, hi);
  return out;
}

/**
 * Validate `def` (the rule at position `index`), add its host conditions to `hosts` and
 * the rest to `rules`. `lists` are the host lists (by name) its `hostLists` may name.
 *
 * @throws {TypeError} naming the field, e.g. `rules[2].ports[1]: expected a port ...`
 */
export function compileRule(def: unknown, index: number, hosts: HostIndex, rules: RuleSet, lists: ReadonlyMap<string, HostList> = new Map()): void {
  if (typeof def !== "object" || def === null || Array.isArray(def)) {
    _fail(index, "", `expected a rule object, got ${_show(def)}`);
  }
  const r = def as Record<string, unknown>;
  const id = r["id"];
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_RULE_ID) {
    _fail(index, ".id", `expected a non-empty string of at most ${MAX_RULE_ID} characters, got ${_show(id)}`);
  }
  if (id === "default") _fail(index, ".id", `"default" is reserved for the default decision`);
  const action = r["action"];
  if (action !== "allow" && action !== "deny") {
    _fail(index, ".action", `expected "allow" or "deny", got ${_show(action)}`);
  }
  const log = r["log"];
  if (log !== undefined && typeof log !== "boolean") _fail(index, ".log", `expected a boolean, got ${_show(log)}`);
  const decryption = r["decryption"];
  if (decryption !== undefined && decryption !== "exception" && decryption !== "decrypt") {
    _fail(index, ".decryption", `expected "exception" or "decrypt", got ${_show(decryption)}`);
  }
  const upstreamTls = r["upstreamTls"];
  if (upstreamTls !== undefined && upstreamTls !== "verify" && upstreamTls !== "insecure") {
    _fail(index, ".upstreamTls", `expected "verify" or "insecure", got ${_show(upstreamTls)}`);
  }
  const uninspectable = r["uninspectable"];
  if (uninspectable !== undefined && uninspectable !== "refuse" && uninspectable !== "tunnel") {
    _fail(index, ".uninspectable", `expected "refuse" or "tunnel", got ${_show(uninspectable)}`);
  }
  const parent = r["parent"];
  if (parent !== undefined && !isParentName(parent)) {
    _fail(index, ".parent", `expected a parent proxy name or "direct", got ${_show(parent)}`);
  }

  const message = r["message"];
  if (message !== undefined) {
    const why = messageError(message);
    if (why !== undefined) _fail(index, ".message", why);
  }

  const hostList = _list(r, "hosts", index);
  const regexList = _list(r, "hostRegex", index);
  const listNames = _list(r, "hostLists", index);
  const portList = _list(r, "ports", index);
  const clientList = _list(r, "clients", index);
  const listenerList = _list(r, "listeners", index);
  const modeList = _list(r, "modes", index);
  const userList = _list(r, "users", index);
  const groupList = _list(r, "groups", index);

  // validate everything before touching the index
  let pattern: HostPattern | undefined;
  let patterns: HostPattern[] | undefined;
  if (hostList !== undefined) {
    if (hostList.length === 1) {
      try {
        pattern = parseHostPattern(hostList[0] as string);
      } catch (e) {
        _fail(index, ".hosts[0]", (e as Error).message);
      }
    } else patterns = _each(hostList, index, "hosts", parseHostPattern);
  }
  const regexes = regexList === undefined ? undefined : _each(regexList, index, "hostRegex", compileHostRegex);
  const hostLists = listNames === undefined ? undefined : _each(listNames, index, "hostLists", (name: string) => hostListNamed(lists, name));
  const ports = portList === undefined ? undefined : _ports(portList, index);
  const clients = clientList === undefined ? undefined : _each(clientList, index, "clients", parseClientCidr);
  const scope = listenerList === undefined && modeList === undefined && userList === undefined && groupList === undefined ? undefined : makeScope(
    listenerList === undefined ? undefined : _each(listenerList, index, "listeners", parseListenerName),
    modeList === undefined ? undefined : _each(modeList, index, "modes", parseMode),
    userList === undefined ? undefined : _each(userList, index, "users", parseUserName),
    groupList === undefined ? undefined : _each(groupList, index, "groups", parseGroupName),
  );

  let schedule: Schedule | undefined;
  if (r["schedule"] !== undefined) {
    try {
      schedule = parseSchedule(r["schedule"]);
    } catch (e) {
      const [field, text] = scheduleErrorField((e as Error).message);
      _fail(index, field === undefined ? ".schedule" : `.schedule.${field}`, text);
    }
  }

  if (pattern !== undefined) hosts.addPattern(pattern, index);
  if (patterns !== undefined) for (const p of patterns) hosts.addPattern(p, index);
  if (regexes !== undefined) {
    for (let i = 0; i < regexes.length; i++) hosts.addRegex(regexes[i] as RegExp, regexList?.[i] as string, index);
  }
  if (hostLists !== undefined) hosts.addLists(hostLists, index);
  const anyHost = hostList === undefined && regexList === undefined && hostLists === undefined;
  if (anyHost) hosts.addAny(index);
  const flags = (action === "allow" ? ALLOW : 0) | (log === true ? LOG : 0) | (decryption === "decrypt" ? DECRYPT : 0) |
    (anyHost ? ANY_HOST : 0) | (upstreamTls === "insecure" ? INSECURE : 0);
  rules.push(id, flags, ports, clients, scope, schedule);
}

/** A `parent` value the policy accepts: the config checks that the name exists. */
export function isParentName(value: unknown): value is string {
  return typeof value === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(value);
}

/** True when `port` lies in one of the flattened ranges (or there are none). */
export function portsMatch(ports: readonly number[] | undefined, port: number): boolean {
  if (ports === undefined) return true;
  for (let i = 0; i < ports.length; i += 2) {
    if (port >= (ports[i] ?? 1) && port <= (ports[i + 1] ?? 0)) return true;
  }
  return false;
}
