/**
 * Rule scopes: the `listeners`, `modes` and `users` conditions of a rule, which restrict it
 * to connections that arrived on named listeners, in given flow modes, or from given
 * authenticated proxy users. A rule without a scope matches every listener, mode and user;
 * a policy without scoped rules never looks at the query's `listener`, `mode` and `user`.
 * @module
 */

import type { PolicyMode } from "./types.ts";

/** Every {@link PolicyMode}, in documentation order. */
export const POLICY_MODES: readonly PolicyMode[] = Object.freeze(["explicit", "socks5", "transparent", "transparent-http", "reverse"]);

/** Longest listener name a rule may name. */
export const MAX_LISTENER_NAME = 256;
/** Longest user name a rule may name (as `proxyAuth` allows). */
export const MAX_USER_NAME = 64;

/** The compiled listener/mode/user conditions of one rule (at least one of them is set). */
export interface RuleScope {
  /** Listener names; undefined = any listener. */
  readonly listeners: readonly string[] | undefined;
  /** Modes; undefined = any mode. */
  readonly modes: readonly PolicyMode[] | undefined;
  /** The bits ({@link modeBit}) of `modes`; 0 = any mode. */
  readonly modeMask: number;
  /** Authenticated user names; undefined = anyone (also no user). */
  readonly users: readonly string[] | undefined;
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

/** A frozen scope, or undefined when no list is given (or all are empty). */
export function makeScope(
  listeners: readonly string[] | undefined,
  modes: readonly PolicyMode[] | undefined,
  users?: readonly string[],
): RuleScope | undefined {
  const ls = listeners === undefined || listeners.length === 0 ? undefined : Object.freeze([...listeners]);
  const ms = modes === undefined || modes.length === 0 ? undefined : Object.freeze([...modes]);
  const us = users === undefined || users.length === 0 ? undefined : Object.freeze([...users]);
  if (ls === undefined && ms === undefined && us === undefined) return undefined;
  let modeMask = 0;
  for (const m of ms ?? []) modeMask |= modeBit(m);
  return Object.freeze({ listeners: ls, modes: ms, modeMask, users: us });
}

function _has(list: readonly string[], item: string | undefined): boolean {
  if (item === undefined) return false;
  for (let i = 0; i < list.length; i++) if (list[i] === item) return true;
  return false;
}

/** True when a query on `listener`, in the mode with bit `bit`, by `user` is inside `scope`. */
export function scopeMatches(scope: RuleScope, listener: string | undefined, bit: number, user?: string): boolean {
  if (scope.modeMask !== 0 && (scope.modeMask & bit) === 0) return false;
  if (scope.listeners !== undefined && !_has(scope.listeners, listener)) return false;
  return scope.users === undefined || _has(scope.users, user);
}

/**
 * The scope part of a reason for a rule whose scope passed: "" (no scope) or any of
 * ` on listener "tproxy"`, ` in mode "transparent"`, ` for user "alice"`, in that order.
 */
export function scopeText(scope: RuleScope | undefined, listener: string | undefined, mode: string | undefined, user?: string): string {
  if (scope === undefined) return "";
  let s = "";
  if (scope.listeners !== undefined) s += ` on listener ${_show(listener)}`;
  if (scope.modes !== undefined) s += ` in mode ${_show(mode)}`;
  if (scope.users !== undefined) s += ` for user ${_show(user)}`;
  return s;
}

function _list(items: readonly string[]): string {
  return `[${items.map((x) => JSON.stringify(x)).join(", ")}]`;
}

/**
 * Why a query falls outside `scope`, one entry per failed condition (empty when inside):
 * `listener "explicit" not in ["tproxy"]`, `no listener given (rule needs one of ["tproxy"])`,
 * `mode "explicit" not in ["transparent"]`, `no mode given (rule needs one of ["transparent"])`,
 * `user "bob" not in ["alice"]`, `no authenticated user (rule needs one of ["alice"])`.
 */
export function scopeFailures(scope: RuleScope | undefined, listener: string | undefined, mode: string | undefined, user?: string): string[] {
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
  const us = scope.users;
  if (us !== undefined && !_has(us, user)) {
    out.push(user === undefined ? `no authenticated user (rule needs one of ${_list(us)})` : `user ${_show(user)} not in ${_list(us)}`);
  }
  return out;
}
