/**
 * Building blocks of the config schema (valibot): strict objects with "did you mean"
 * hints, validated strings and integers, uniqueness checks. Messages read `expected …, got …`.
 * @module
 */
import * as v from "valibot";
import { cidrError } from "../policy/host-pattern.ts";
import { describeValue, suggestKey } from "./issue-format.ts";

/** Builds an issue message from the issue. */
export type Message = (issue: v.BaseIssue<unknown>) => string;
/** Returns the problem with a value, or `undefined` when it is valid. */
export type Validator<T> = (value: T) => string | undefined;

/**
 * A message `expected <what>, got <input>`.
 *
 * @example
 * ```ts
 * v.string(expected("a file path"));
 * ```
 */
export function expected(what: string): Message {
  return (issue) => `expected ${what}, got ${describeValue(issue.input)}`;
}

/**
 * A user name: 1-64 characters, no colon (Basic credentials cannot carry one), no control
 * characters (C0, DEL, C1: names go into log lines), and well-formed (no lone surrogate).
 */
// deno-lint-ignore no-control-regex -- refusing control characters is the point
export const USER_NAME_RE = /^[^:\x00-\x1f\x7f-\x9f\p{Cs}]{1,64}$/u;

/** True for `{}`-like objects (not arrays, not class instances). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A strict object (arrays refused, unknown keys reported with a "did you mean" hint).
 *
 * @example
 * ```ts
 * const ca = object({ cert: v.string() });
 * ```
 */
export function object<const TEntries extends v.ObjectEntries>(entries: TEntries, what = "an object") {
  const known = Object.keys(entries);
  const schema = v.strictObject(entries, (issue: v.StrictObjectIssue) => {
    if (issue.expected !== "never") return "required key is missing";
    const hint = suggestKey(String(issue.input), known);
    const list = known.map((key) => JSON.stringify(key)).join(", ");
    return hint === undefined ? `unknown key (expected one of ${list})` : `unknown key (did you mean ${JSON.stringify(hint)}?)`;
  });
  return v.pipe(v.custom<v.InferInput<typeof schema>>(isPlainObject, expected(what)), schema);
}

/** Keys valibot's `record` skips without a word (they name `Object.prototype`'s own). */
const RESERVED_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * An object of named entries (`v.record`) that refuses, at the key, the three names
 * valibot's record would otherwise drop silently: `__proto__`, `constructor`, `prototype`.
 *
 * @example
 * ```ts
 * const parents = record(id, parentSchema, "an object of named parent proxies");
 * ```
 */
export function record<const TKey extends v.GenericSchema<string, string>, const TValue extends v.GenericSchema>(key: TKey, value: TValue, what: string) {
  return v.pipe(
    v.custom<Record<string, unknown>>(isPlainObject, expected(what)),
    v.rawCheck<Record<string, unknown>>(({ dataset, addIssue }) => {
      const entries: unknown = dataset.value;
      if (!isPlainObject(entries)) return;
      for (const name of Object.keys(entries)) {
        if (!RESERVED_KEYS.has(name)) continue;
        addIssue({
          message: `${JSON.stringify(name)} is a name JavaScript objects reserve; choose another`,
          path: [{ type: "object", origin: "key", input: entries, key: name, value: entries[name] }],
        });
      }
    }),
    v.record(key, value),
  );
}

/**
 * A string checked by a validator that returns the message.
 *
 * @example
 * ```ts
 * const path = checkedString("a file path", (p) => (p === "" ? "expected a file path, got an empty string" : undefined));
 * ```
 */
export function checkedString(what: string, validator: Validator<string>) {
  return v.pipe(
    v.string(expected(what)),
    v.check((value) => validator(value) === undefined, (issue) => validator(issue.input) ?? `expected ${what}`),
  );
}

/**
 * An integer from `min` to `max` inclusive.
 *
 * @example
 * ```ts
 * v.optional(integer(1, 30), 7);
 * ```
 */
export function integer(min: number, max: number) {
  const what = `an integer ${min}-${max}`;
  return v.pipe(
    v.number(expected(what)),
    v.check((n) => Number.isInteger(n) && n >= min && n <= max, expected(what)),
  );
}

/** A listener or rule id: 1-64 letters, digits, "_", "." or "-". */
export const ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
/** What {@link ID_RE} accepts, for messages. */
export const ID_WHAT = 'an id of 1-64 letters, digits, "_", "." or "-"';

/** An id ({@link ID_RE}). */
export const id = checkedString(ID_WHAT, (text) => (ID_RE.test(text) ? undefined : `expected ${ID_WHAT}, got ${JSON.stringify(text)}`));

/** Client addresses: IP addresses or CIDRs ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7"). */
export const cidrList = v.array(checkedString("an IP address or CIDR", cidrError), expected("an array of CIDRs"));

/**
 * `schema` (an array of a rule's conditions) refusing an empty list: a condition list that
 * names nothing must not be read as no condition (matching anyone), nor silently match no
 * one. `field` is the key, for the message.
 */
export function nonEmpty<const TSchema extends v.GenericSchema<unknown, readonly unknown[]>>(schema: TSchema, field: string) {
  return v.pipe(schema, v.check((list) => list.length > 0, `expected at least one entry (an empty list names no one and nothing: leave "${field}" out to match any)`));
}

/** `true` or `false`. */
export const boolean = v.boolean(expected("true or false"));

/** A non-empty file path (kept as written; relative paths resolve against the working directory). */
export const filePath = checkedString("a file path", (path) => (path === "" ? "expected a file path, got an empty string" : undefined));

/**
 * Report the second and later array items whose `field` (or generated default) repeats.
 * Runs even when some items are invalid, so duplicates show alongside other problems.
 *
 * @example
 * ```ts
 * v.pipe(v.array(rule), unique("id", "rule id", (item) => ownString(item, "id", "")));
 * ```
 */
export function unique<T>(field: string, what: string, key: (item: Record<string, unknown>, index: number) => string | undefined) {
  return v.rawCheck<T[]>(({ dataset, addIssue }) => {
    const items: unknown = dataset.value;
    if (!Array.isArray(items)) return;
    const seen = new Map<string, number>();
    items.forEach((item: unknown, index) => {
      if (!isPlainObject(item)) return;
      const value = key(item, index);
      if (value === undefined) return;
      const first = seen.get(value);
      if (first === undefined) {
        seen.set(value, index);
        return;
      }
      const generated = item[field] === undefined ? " (generated)" : "";
      addIssue({
        message: `duplicate ${what} ${JSON.stringify(value)}${generated}, first at index ${first}`,
        path: [
          { type: "array", origin: "value", input: items, key: index, value: item },
          { type: "object", origin: "value", input: item, key: field, value: item[field] },
        ],
      });
    });
  });
}

/** `item[field]` when it is a string, `fallback` when absent, `undefined` otherwise. */
export function ownString(item: Record<string, unknown>, field: string, fallback: string): string | undefined {
  const value = item[field];
  if (value === undefined) return fallback;
  return typeof value === "string" ? value : undefined;
}
