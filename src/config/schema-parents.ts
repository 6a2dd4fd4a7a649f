/**
 * Config schema for parent proxies: the top-level `parents` section, the check that every
 * `policy.rules[i].parent` and `policy.defaultParent` names one (or says "direct"), and the
 * conversion to the domain type.
 * @module
 */
import * as v from "valibot";
import { parentUrlError, parseParentUrl } from "../parent/parent-url.ts";
import { DIRECT } from "../policy/types.ts";
import type { ParentConfig } from "./config.ts";
import { boolean, checkedString, expected, filePath, ID_RE, ID_WHAT, integer, isPlainObject, object, record, USER_NAME_RE } from "./schema-kit.ts";

const parentName = checkedString(ID_WHAT, (t) =>
  !ID_RE.test(t) ? `expected a parent name (${ID_WHAT}), got ${JSON.stringify(t)}` : t === DIRECT ? `"${DIRECT}" is reserved (a rule's "parent": "direct" means no parent)` : undefined
);

const parentSchema = v.pipe(
  object({
    /** `http://host:port` or `socks5://host:port` of the parent proxy. */
    url: checkedString('an "http://host:port" or "socks5://host:port" URL', parentUrlError),
    /** Credentials: Basic in Proxy-Authorization, or a SOCKS5 sign-in; both or neither. */
    username: v.optional(v.pipe(v.string(expected("a user name")), v.regex(USER_NAME_RE, "expected 1-64 characters, no colon or control characters"))),
    /** File holding the password (read at start and on reload; one trailing newline ignored). */
    passwordFile: v.optional(filePath),
    /** Another parent to use when this one cannot be reached. */
    fallback: v.optional(parentName),
    /** How long an unreachable parent is passed over for its fallback. */
    ejectMs: v.optional(integer(0, 86_400_000), 30_000),
    /** HTTP parents: send the client's IP address in X-Forwarded-For (on CONNECT, and on forwarded requests). */
    forwardedFor: v.optional(boolean),
    /** Active checks: a TCP connect every `intervalMs`; a failed one passes the parent over, a passed one brings it back. */
    healthCheck: v.optional(object({
      intervalMs: v.optional(integer(1_000, 3_600_000), 10_000),
      timeoutMs: v.optional(integer(100, 60_000), 2_000),
    })),
  }),
  v.check((p) => (p.username === undefined) === (p.passwordFile === undefined), 'expected "username" and "passwordFile" together'),
  v.check((p) => !p.forwardedFor || /^http:/i.test(p.url), '"forwardedFor" is for an http:// parent (SOCKS5 has no headers)'),
);

/** Named parent proxies that rules send their flows through (`"parent": "<name>"`). */
export const parentsSchema = record(parentName, parentSchema, "an object of named parent proxies");

/** Reports a rule's `parent` or the policy's `defaultParent` that names no parent. */
export function parentReferences<T>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const config: unknown = dataset.value;
    if (!isPlainObject(config)) return;
    const parents = isPlainObject(config["parents"]) ? config["parents"] : {};
    for (const [name, parent] of Object.entries(parents)) {
      const message = fallbackProblem(parents, name);
      if (!message || !isPlainObject(parent)) continue;
      addIssue({
        message,
        path: [
          { type: "object", origin: "value", input: config, key: "parents", value: parents },
          { type: "object", origin: "value", input: parents, key: name, value: parent },
          { type: "object", origin: "value", input: parent, key: "fallback", value: parent["fallback"] },
        ],
      });
    }
    if (!isPlainObject(config["policy"])) return;
    const policy = config["policy"];
    const problem = (name: unknown): string | undefined =>
      typeof name !== "string" || name === DIRECT || Object.hasOwn(parents, name)
        ? undefined
        : config["parents"] === undefined
        ? `names parent ${JSON.stringify(name)}, but there is no "parents" section`
        : `no parent named ${JSON.stringify(name)}`;
    const top = { type: "object" as const, origin: "value" as const, input: config, key: "policy", value: policy };
    const byDefault = problem(policy["defaultParent"]);
    if (byDefault) {
      addIssue({ message: byDefault, path: [top, { type: "object", origin: "value", input: policy, key: "defaultParent", value: policy["defaultParent"] }] });
    }
    const rules = policy["rules"];
    if (!Array.isArray(rules)) return;
    rules.forEach((rule: unknown, i) => {
      if (!isPlainObject(rule)) return;
      const message = problem(rule["parent"]);
      if (!message) return;
      addIssue({
        message,
        path: [
          top,
          { type: "object", origin: "value", input: policy, key: "rules", value: rules },
          { type: "array", origin: "value", input: rules, key: i, value: rule },
          { type: "object", origin: "value", input: rule, key: "parent", value: rule["parent"] },
        ],
      });
    });
  });
}

/** What is wrong with parent `name`'s `fallback`: no such parent, itself, or a loop back to it. */
function fallbackProblem(parents: Record<string, unknown>, name: string): string | undefined {
  const fallbackOf = (n: string): unknown => {
    const p = parents[n];
    return isPlainObject(p) ? p["fallback"] : undefined;
  };
  const first = fallbackOf(name);
  if (typeof first !== "string") return undefined;
  if (first === name) return "a parent cannot be its own fallback";
  if (!Object.hasOwn(parents, first)) return `no parent named ${JSON.stringify(first)}`;
  const seen = new Set([name]);
  for (let n: unknown = first; typeof n === "string" && Object.hasOwn(parents, n); n = fallbackOf(n)) {
    if (seen.has(n)) return `the fallbacks loop: ${[...seen, n].join(" → ")}`;
    seen.add(n);
  }
  return undefined;
}

/** The domain form of the `parents` section. */
export function toParentsConfig(wire: Readonly<Record<string, v.InferOutput<typeof parentSchema>>> | undefined): Record<string, ParentConfig> {
  const out: Record<string, ParentConfig> = {};
  for (const [name, p] of Object.entries(wire ?? {})) {
    const address = parseParentUrl(p.url);
    out[name] = {
      url: p.url,
      ...address,
      ...(p.username !== undefined && p.passwordFile !== undefined ? { username: p.username, passwordFile: p.passwordFile } : {}),
      ...(p.fallback !== undefined ? { fallback: p.fallback } : {}),
      ejectMs: p.ejectMs,
      ...(p.forwardedFor ? { forwardedFor: true } : {}),
      ...(p.healthCheck ? { healthCheck: { intervalMs: p.healthCheck.intervalMs, timeoutMs: p.healthCheck.timeoutMs } } : {}),
    };
  }
  return out;
}
