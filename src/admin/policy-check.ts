/**
 * Validation of a bare `policy` section (what `PUT /policy` receives and what
 * `tollgate policy check` accepts besides a whole config) with the config file's own
 * schema, so the rules and messages are the same.
 *
 * @module
 */
import { ConfigError } from "../config/errors.ts";
import { parseConfig } from "../config/parse.ts";
import { isPlainObject } from "../config/schema-kit.ts";
import { ID_RE, USER_NAME_RE } from "../config/schema-kit.ts";
import { groupNameError } from "../policy/scope.ts";
import type { PolicyConfig } from "../config/config.ts";
import { DIRECT } from "../policy/types.ts";
import type { PolicyIssue } from "./state.ts";

/** What a policy is checked against: the running config's listeners and CA. */
export interface PolicyContext {
  /**
   * Names of the listeners rules may scope to. Absent: any name a rule uses is taken to exist
   * (a policy checked on its own, without its config).
   */
  readonly listeners?: readonly string[];
  /** Whether a CA is configured (decrypting rules need one). Default true. */
  readonly hasCa?: boolean;
  /**
   * Names of the proxy users rules may scope to. Absent: any name a rule uses is taken to
   * exist (a policy checked on its own, without its config's `proxyAuth`).
   */
  readonly users?: readonly string[];
  /**
   * Names of the parent proxies rules may send flows through. Absent: any name a rule uses is
   * taken to exist (a policy checked on its own, without its config's `parents`).
   */
  readonly parents?: readonly string[];
}

/** The outcome of {@linkcode checkPolicy}. */
export type PolicyCheck =
  | { readonly ok: true; readonly policy: PolicyConfig }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

/** Keys only a policy section has; a document with one of them at the top is a bare policy. */
const POLICY_KEYS = ["defaultAction", "defaultLog", "defaultParent", "hostLists", "rules", "urlRules"];

/**
 * True when `document` looks like a bare policy section rather than a whole config: an
 * object with `rules`, `urlRules`, `defaultAction` or `defaultLog` at the top.
 */
export function isBarePolicy(document: unknown): boolean {
  return isPlainObject(document) && POLICY_KEYS.some((key) => Object.hasOwn(document, key));
}

function listenerNamesOf(policy: unknown): string[] {
  const names = new Set<string>();
  if (!isPlainObject(policy) || !Array.isArray(policy["rules"])) return [];
  for (const rule of policy["rules"] as unknown[]) {
    if (!isPlainObject(rule) || !Array.isArray(rule["listeners"])) continue;
    for (const name of rule["listeners"] as unknown[]) if (typeof name === "string" && ID_RE.test(name)) names.add(name);
  }
  return [...names];
}

/** The well-formed `users` (or `groups`) items of rules and url rules. */
function scopeNamesOf(policy: Record<string, unknown>, field: "users" | "groups", ok: (name: string) => boolean): string[] {
  const names = new Set<string>();
  for (const section of ["rules", "urlRules"]) {
    const rules = policy[section];
    if (!Array.isArray(rules)) continue;
    for (const rule of rules as unknown[]) {
      if (!isPlainObject(rule) || !Array.isArray(rule[field])) continue;
      for (const name of rule[field] as unknown[]) if (typeof name === "string" && ok(name)) names.add(name);
    }
  }
  return [...names];
}

function parentNamesOf(policy: Record<string, unknown>): string[] {
  const names = new Set<string>();
  const add = (name: unknown) => {
    if (typeof name === "string" && ID_RE.test(name) && name !== DIRECT) names.add(name);
  };
  add(policy["defaultParent"]);
  const rules = policy["rules"];
  if (Array.isArray(rules)) for (const rule of rules as unknown[]) if (isPlainObject(rule)) add(rule["parent"]);
  return [...names];
}

/** A well-formed hash for the stand-in users of a policy checked on its own; never verified. */
const STAND_IN_HASH = `pbkdf2-sha256$100000$${btoa("policy-check-salt")}$${btoa("policy-check-hash-policy-check-h")}`;

/** `policy.rules[0]` → `rules[0]`, `policy` → ``; other paths (a missing CA) → ``. */
function policyPath(path: string): string {
  if (path === "policy") return "";
  if (path.startsWith("policy.")) return path.slice("policy.".length);
  if (path.startsWith("policy[")) return path.slice("policy".length);
  return "";
}

/**
 * Validates a policy section as the config schema does (defaults applied) and returns it,
 * or every issue with its path inside the policy (`rules[2].hosts[0]`).
 *
 * @example
 * ```ts
 * const r = checkPolicy({ rules: [{ hosts: ["*.example.com"], action: "allow" }] });
 * r.ok && r.policy.rules[0]?.id; // "rule-1"
 * checkPolicy({ rules: [{ action: "maybe" }] }); // { ok: false, issues: [{ path: "rules[0].action", message: 'expected "allow" or "deny", got "maybe"' }] }
 * ```
 */
export function checkPolicy(policy: unknown, context: PolicyContext = {}): PolicyCheck {
  if (!isPlainObject(policy)) {
    const got = Array.isArray(policy) ? "an array" : policy === null ? "null" : typeof policy;
    return { ok: false, issues: [{ path: "", message: `expected a policy object, got ${got}` }] };
  }
  const names = context.listeners ?? listenerNamesOf(policy);
  const listeners = names.length === 0
    ? [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }]
    : names.map((name) => ({ name, mode: "explicit", listen: "127.0.0.1:0" }));
  const named = context.users ?? scopeNamesOf(policy, "users", (n) => USER_NAME_RE.test(n));
  // groups rules name are taken to exist: the stand-in users are in all of them
  const groups = scopeNamesOf(policy, "groups", (n) => groupNameError(n) === undefined);
  const users = named.length === 0 && groups.length > 0 ? ["policy-check-user"] : named;
  const parents = context.parents ?? parentNamesOf(policy);
  const config = {
    listeners,
    policy,
    ...(parents.length === 0 ? {} : { parents: Object.fromEntries(parents.map((name) => [name, { url: "http://127.0.0.1:3128" }])) }),
    ...(users.length === 0 ? {} : { proxyAuth: { users: users.map((name) => ({ name, passwordHash: STAND_IN_HASH, groups })) } }),
    ...(context.hasCa === false ? {} : { ca: { cert: "policy-check-ca.pem", key: "policy-check-ca.key" } }),
  };
  try {
    return { ok: true, policy: parseConfig(config).policy };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, issues: e.issues.map((issue) => ({ path: policyPath(issue.path), message: issue.message })) };
  }
}
