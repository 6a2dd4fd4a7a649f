/**
 * Rule scopes: the `listeners`, `modes`, `users` and `groups` conditions of a rule, which
 * restrict it to connections that arrived on named listeners, in given flow modes, or from
 * given authenticated proxy users. `users` and `groups` are one condition, *who*: a user
 * named, or a member of a group named. A rule without a scope matches every listener, mode
 * and user; a policy without scoped rules never looks at the query's `listener`, `mode`,
 * `user` and `groups`.
 * @module
 */

import type { PolicyMode } from "./types.ts";

/** Every {@link PolicyMode}, in documentation order. */
export const POLICY_MODES: readonly PolicyMode[] = Object.freeze(["explicit", "socks5", "transparent", "transparent-http", "reverse"]);

/** Longest listener name a rule may name. */
export const MAX_LISTENER_NAME = 256;
/** Longest user name a rule may name (as `proxyAuth` allows). */
export const MAX_USER_NAME = 64;
/** Longest group name a rule may name (a directory group's name is its DN's first value). */
export const MAX_GROUP_NAME = 256;

/** The compiled listener/mode/user conditions of one rule (at least one of them is set). */
export interface RuleScope {
  /** Listener names; undefined = any listener. */
  readonly listeners: readonly string[] | undefined;
  /** Modes; undefined = any mode. */
  readonly modes: readonly PolicyMode[] | undefined;
  /** The bits ({@link modeBit}) of `modes`; 0 = any mode. */
  readonly modeMask: number;
  /** Authenticated user names; undefined = anyone (also no user) unless `groups` is set. */
  readonly users: readonly string[] | undefined;
  /** Groups (lower case) whose members match too; undefined = anyone unless `users` is set. */
  readonly groups: readonly string[] | undefined;
}

/** Who a query is for: the authenticated user and their groups (lower case). */
export interface Who {
  readonly user?: string;
  readonly groups?: readonly string[];
}

/**
 * The bit of a mode in {@link RuleScope.modeMask}; 0 for an absent or unknown mode
 * (which no mode-scoped rule matches).
 *
 * @example
 * ```ts
 * modeBit("transparent"); // 2
 * modeBit(undefined); // 0
 * ```
 */
export function modeBit(mode: string | undefined): number {
  switch (mode) {
    case "explicit":
      return 1;
    case "transparent":
      return 2;
    case "transparent-http":
      return 4;
    case "reverse":
      return 8;
    case "socks5":
      return 16;
    default:
      return 0;
  }
}

function _show(v: unknown): string {
  return v === undefined ? "undefined" : JSON.stringify(v) ?? String(v);
}

/**
 * Check one `modes` item.
 *
 * @throws {TypeError} `expected one of "explicit", "socks5", "transparent", "transparent-http", "reverse", got "x"`
 */
export function parseMode(value: unknown): PolicyMode {
  if (typeof value === "string" && modeBit(value) !== 0) return value as PolicyMode;
  throw new TypeError(`expected one of ${POLICY_MODES.map((m) => JSON.stringify(m)).join(", ")}, got ${_show(value)}`);
}

/**
 * Check one `listeners` item: a non-empty string of at most {@link MAX_LISTENER_NAME} characters.
 *
 * @throws {TypeError} `expected a listener name (a non-empty string of at most 256 characters), got 3`
 */
export function parseListenerName(value: unknown): string {
  if (typeof value === "string" && value.length > 0 && value.length <= MAX_LISTENER_NAME) return value;
  throw new TypeError(`expected a listener name (a non-empty string of at most ${MAX_LISTENER_NAME} characters), got ${_show(value)}`);
}

/**
 * Check one `users` item: a non-empty string of at most {@link MAX_USER_NAME} characters.
 *
 * @throws {TypeError} `expected a user name (a non-empty string of at most 64 characters), got 3`
 */
export function parseUserName(value: unknown): string {
  if (typeof value === "string" && value.length > 0 && value.length <= MAX_USER_NAME) return value;
  throw new TypeError(`expected a user name (a non-empty string of at most ${MAX_USER_NAME} characters), got ${_show(value)}`);
}

/**
 * What is wrong with a `groups` item (undefined: nothing). A name a sign-in could never
 * carry is refused, or a rule denying it would silently never match: spaces at an end (the
 * config also refuses a DN: `schema-proxy-auth.ts`).
 */
export function groupNameError(value: unknown): string | undefined {
  // deno-lint-ignore no-control-regex -- refusing control characters is the point
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_GROUP_NAME || /[\x00-\x1f\x7f]/.test(value)) {
    return `expected a group name (1-${MAX_GROUP_NAME} characters, no control characters), got ${_show(value)}`;
  }
  if (value.trim() !== value) return `group name ${_show(value)} has spaces at an end: write ${_show(value.trim())}`;
  return undefined;
}

/**
 * Check one `groups` item (see {@link groupNameError}); given in lower case (groups are
 * compared so).
 *
 * @throws {TypeError} `expected a group name (1-256 characters, no control characters), got 3`
 */
export function parseGroupName(value: unknown): string {
  const error = groupNameError(value);
  if (error !== undefined) throw new TypeError(error);
  return (value as string).toLowerCase();
}

function _frozen<T>(list: readonly T[] | undefined): readonly T[] | undefined {
  return list === undefined || list.length === 0 ? undefined : Object.freeze([...list]);
}

/** A frozen scope, or undefined when no list is given (or all are empty). */
export function makeScope(
  listeners: readonly string[] | undefined,
  modes: readonly PolicyMode[] | undefined,
  users?: readonly string[],
  groups?: readonly string[],
): RuleScope | undefined {
  const ls = _frozen(listeners);
  const ms = _frozen(modes);
  const us = _frozen(users);
  const gs = _frozen(groups?.map((g) => g.toLowerCase()));
  if (ls === undefined && ms === undefined && us === undefined && gs === undefined) return undefined;
  let modeMask = 0;
  for (const m of ms ?? []) modeMask |= modeBit(m);
  return Object.freeze({ listeners: ls, modes: ms, modeMask, users: us, groups: gs });
}

function _has(list: readonly string[], item: string | undefined): boolean {
  if (item === undefined) return false;
  for (let i = 0; i < list.length; i++) if (list[i] === item) return true;
  return false;
}

/** The first of `who`'s groups `groups` names (undefined: none, or no user). */
function _groupHit(groups: readonly string[] | undefined, who: Who): string | undefined {
  if (groups === undefined || who.user === undefined || who.groups === undefined) return undefined;
  for (let i = 0; i < who.groups.length; i++) if (_has(groups, who.groups[i])) return who.groups[i];
  return undefined;
}

/** True when the who condition passes: none, a user named, or a member of a group named. */
export function whoMatches(users: readonly string[] | undefined, groups: readonly string[] | undefined, who: Who): boolean {
  if (users === undefined && groups === undefined) return true;
  return (users !== undefined && _has(users, who.user)) || _groupHit(groups, who) !== undefined;
}

/** What of `who` a passing who condition matched: `user "alice"` or `user "alice" in group "eng"`. */
export function whoText(users: readonly string[] | undefined, groups: readonly string[] | undefined, who: Who): string {
  const group = users !== undefined && _has(users, who.user) ? undefined : _groupHit(groups, who);
  return `user ${_show(who.user)}${group === undefined ? "" : ` in group ${_show(group)}`}`;
}

/** True when a query on `listener`, in the mode with bit `bit`, for `who` is inside `scope`. */
export function scopeMatches(scope: RuleScope, listener: string | undefined, bit: number, who: Who = {}): boolean {
  if (scope.modeMask !== 0 && (scope.modeMask & bit) === 0) return false;
  if (scope.listeners !== undefined && !_has(scope.listeners, listener)) return false;
  return whoMatches(scope.users, scope.groups, who);
}

/**
 * The scope part of a reason for a rule whose scope passed: "" (no scope) or any of
 * ` on listener "tproxy"`, ` in mode "transparent"`, ` for user "alice"` (or
 * ` for user "alice" in group "eng"`), in that order.
 */
export function scopeText(scope: RuleScope | undefined, listener: string | undefined, mode: string | undefined, who: Who = {}): string {
  if (scope === undefined) return "";
  let s = "";
  if (scope.listeners !== undefined) s += ` on listener ${_show(listener)}`;
  if (scope.modes !== undefined) s += ` in mode ${_show(mode)}`;
  if (scope.users !== undefined || scope.groups !== undefined) s += ` for ${whoText(scope.users, scope.groups, who)}`;
  return s;
}

function _list(items: readonly string[]): string {
  return `[${items.map((x) => JSON.stringify(x)).join(", ")}]`;
}

/**
 * Why a query falls outside `scope`, one entry per failed condition (empty when inside):
 * `listener "explicit" not in ["tproxy"]`, `no listener given (rule needs one of ["tproxy"])`,
 * `mode "explicit" not in ["transparent"]`, `no mode given (rule needs one of ["transparent"])`,
 * and a failed who condition (see {@link whoFailure}).
 */
export function scopeFailures(scope: RuleScope | undefined, listener: string | undefined, mode: string | undefined, who: Who = {}): string[] {
  const out: string[] = [];
  if (scope === undefined) return out;
  const ls = scope.listeners;
  if (ls !== undefined && (listener === undefined || !ls.includes(listener))) {
    out.push(listener === undefined ? `no listener given (rule needs one of ${_list(ls)})` : `listener ${_show(listener)} not in ${_list(ls)}`);
  }
  if (scope.modes !== undefined && (scope.modeMask & modeBit(mode)) === 0) {
    const ms = _list(scope.modes);
    out.push(mode === undefined ? `no mode given (rule needs one of ${ms})` : `mode ${_show(mode)} not in ${ms}`);
  }
  if (!whoMatches(scope.users, scope.groups, who)) out.push(whoFailure(scope.users, scope.groups, who));
  return out;
}

/**
 * Why `who` fails a who condition: `user "bob" not in ["alice"]`,
 * `user "bob" not a member of ["eng"] (their groups: ["sales"])`, both joined by "and", or
 * `no authenticated user (rule needs one of ["alice"] or a member of ["eng"])`.
 */
export function whoFailure(users: readonly string[] | undefined, groups: readonly string[] | undefined, who: Who): string {
  if (who.user === undefined) {
    const needs = [users === undefined ? "" : `one of ${_list(users)}`, groups === undefined ? "" : `a member of ${_list(groups)}`].filter((x) => x !== "");
    return `no authenticated user (rule needs ${needs.join(" or ")})`;
  }
  const parts: string[] = [];
  if (users !== undefined) parts.push(`not in ${_list(users)}`);
  if (groups !== undefined) parts.push(`not a member of ${_list(groups)} (their groups: ${_list(who.groups ?? [])})`);
  return `user ${_show(who.user)} ${parts.join(" and ")}`;
}
