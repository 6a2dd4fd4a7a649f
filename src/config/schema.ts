/**
 * The config wire schema (valibot): what a config file may contain, with defaults for
 * absent fields. Messages read `expected …, got …`; unknown keys are errors. Whole-section
 * defaults (listeners, policy) live in `default.ts` and are applied by `parseConfig`.
 */
import * as v from "valibot";
import { parseIpLiteral, IPV4_STRICT_RE } from "../dns/ip-literal.ts";
import { hostNameError, normaliseName } from "../dns/name.ts";
import { cidrError, hostPatternError, portSpecError, regexError } from "../policy/host-pattern.ts";
import { describeValue, suggestKey } from "./issue-format.ts";
import { listenAddressError, parseListenAddress } from "./listen.ts";

type Message = (issue: v.BaseIssue<unknown>) => string;
type Validator<T> = (value: T) => string | undefined;

const ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const ID_WHAT = 'an id of 1-64 letters, digits, "_", "." or "-"';

function expected(what: string): Message {
  return (issue) => `expected ${what}, got ${describeValue(issue.input)}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A strict object (arrays refused, unknown keys reported with a "did you mean" hint). */
function object<const TEntries extends v.ObjectEntries>(entries: TEntries, what = "an object") {
  const known = Object.keys(entries);
  const schema = v.strictObject(entries, (issue: v.StrictObjectIssue) => {
    if (issue.expected !== "never") return "required key is missing";
    const hint = suggestKey(String(issue.input), known);
    const list = known.map((key) => JSON.stringify(key)).join(", ");
    return hint === undefined ? `unknown key (expected one of ${list})` : `unknown key (did you mean ${JSON.stringify(hint)}?)`;
  });
  return v.pipe(v.custom<v.InferInput<typeof schema>>(isPlainObject, expected(what)), schema);
}

/** A string checked by a validator that returns the message. */
function checkedString(what: string, validator: Validator<string>) {
  return v.pipe(
    v.string(expected(what)),
    v.check((value) => validator(value) === undefined, (issue) => validator(issue.input) ?? `expected ${what}`),
  );
}

function integer(min: number, max: number) {
  const what = `an integer ${min}-${max}`;
  return v.pipe(
    v.number(expected(what)),
    v.check((n) => Number.isInteger(n) && n >= min && n <= max, expected(what)),
  );
}

const boolean = v.boolean(expected("true or false"));
const id = checkedString(ID_WHAT, (text) => (ID_RE.test(text) ? undefined : `expected ${ID_WHAT}, got ${JSON.stringify(text)}`));
const action = v.picklist(["allow", "deny"], expected('"allow" or "deny"'));

/**
 * Report the second and later array items whose `field` (or generated default) repeats.
 * Runs even when some items are invalid, so duplicates show alongside other problems.
 */
function unique<T>(field: string, what: string, key: (item: Record<string, unknown>, index: number) => string | undefined) {
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

function ownString(item: Record<string, unknown>, field: string, fallback: string): string | undefined {
  const value = item[field];
  if (value === undefined) return fallback;
  return typeof value === "string" ? value : undefined;
}

const listenerSchema = object({
  name: v.optional(id),
  mode: v.picklist(["explicit"], expected('"explicit" (the only mode so far)')),
  listen: checkedString('"host:port"', listenAddressError),
});

const listenersSchema = v.pipe(
  v.array(listenerSchema, expected("an array of listeners")),
  v.check((list) => list.length > 0, "expected at least one listener, got an empty array"),
  unique("name", "listener name", (item, index) => ownString(item, "name", `listener-${index + 1}`)),
  unique("listen", "listen address", (item) => {
    if (typeof item["listen"] !== "string" || listenAddressError(item["listen"]) !== undefined) return undefined;
    const { hostname, port } = parseListenAddress(item["listen"]);
    return port === 0 ? undefined : `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  }),
);

const ruleSchema = object({
  id: v.optional(id),
  hosts: v.optional(v.array(checkedString("a host pattern", hostPatternError), expected("an array of host patterns"))),
  hostRegex: v.optional(v.array(checkedString("a regular expression", regexError), expected("an array of regular expressions"))),
  ports: v.optional(
    v.array(
      v.pipe(
        v.custom<number | string>((x) => typeof x === "number" || typeof x === "string", expected('a port 1-65535 or a range "lo-hi"')),
        v.check((spec) => portSpecError(spec) === undefined, (issue) => portSpecError(issue.input) ?? "expected a port"),
      ),
      expected("an array of ports"),
    ),
  ),
  clients: v.optional(v.array(checkedString("an IP address or CIDR", cidrError), expected("an array of CIDRs"))),
  action,
  /** Write flow lines for connections this rule decides (default true; errors are always logged). */
  log: v.optional(boolean, true),
  decryption: v.optional(v.picklist(["exception", "decrypt"], expected('"exception" or "decrypt"')), "exception"),
});

const policySchema = object({
  defaultAction: v.optional(action, "deny"),
  defaultLog: v.optional(boolean, true),
  rules: v.optional(
    v.pipe(
      v.array(ruleSchema, expected("an array of rules")),
      unique("id", "rule id", (item, index) => ownString(item, "id", `rule-${index + 1}`)),
    ),
    [],
  ),
});

function ipAddressError(text: string): string | undefined {
  const bad = `expected an IP address, got ${JSON.stringify(text)}`;
  if (IPV4_STRICT_RE.test(text)) return undefined;
  if (!text.includes(":") || text.includes("/") || cidrError(text) !== undefined) return bad;
  try {
    return parseIpLiteral(text) === undefined ? bad : undefined;
  } catch {
    return bad;
  }
}

const staticHostsSchema = v.pipe(
  v.custom<Record<string, unknown>>(isPlainObject, expected('an object like {"host.example": ["192.0.2.1"]}')),
  v.record(
    checkedString("a host name", (name) => (hostNameError(normaliseName(name)) === undefined ? undefined : `expected a host name, got ${JSON.stringify(name)}`)),
    v.pipe(
      v.array(checkedString("an IP address", ipAddressError), expected("an array of IP addresses")),
      v.check((list) => list.length > 0, "expected at least one IP address, got an empty array"),
    ),
  ),
  v.rawCheck<Record<string, string[]>>(({ dataset, addIssue }) => {
    const hosts: unknown = dataset.value;
    if (!isPlainObject(hosts)) return;
    const seen = new Map<string, string>();
    for (const [name, value] of Object.entries(hosts)) {
      const first = seen.get(normaliseName(name));
      if (first === undefined) seen.set(normaliseName(name), name);
      else {
        addIssue({
          message: `duplicate host ${JSON.stringify(name)}, same as ${JSON.stringify(first)} (names ignore case and a trailing dot)`,
          path: [{ type: "object", origin: "key", input: hosts, key: name, value }],
        });
      }
    }
  }),
);

const dnsSchema = object({
  hosts: v.optional(staticHostsSchema, {}),
  cacheSize: v.optional(integer(0, 1_000_000), 10_000),
  ttlSeconds: v.optional(integer(0, 86_400), 30),
  negativeTtlSeconds: v.optional(integer(0, 3_600), 5),
  timeoutMs: v.optional(integer(1, 60_000), 5_000),
});

const limitsSchema = object({
  maxHeadBytes: v.optional(integer(1024, 1_048_576), 65_536),
  maxHeaders: v.optional(integer(1, 1_000), 100),
  headerTimeoutMs: v.optional(integer(1, 3_600_000), 10_000),
  connectTimeoutMs: v.optional(integer(1, 3_600_000), 10_000),
  /** 0 = never. */
  idleTimeoutMs: v.optional(integer(0, 86_400_000), 300_000),
  maxConnections: v.optional(integer(1, 1_000_000), 10_000),
});

const flowsFileSchema = object({ file: checkedString("a file path", (path) => (path === "" ? "expected a file path, got an empty string" : undefined)) });
const flowsStreamSchema = v.picklist(["stdout", "stderr", "off"], expected('"stdout", "stderr", "off" or {"file": "/path"}'));

const logSchema = object({
  flows: v.optional(
    v.lazy((input) => (isPlainObject(input) ? flowsFileSchema : flowsStreamSchema)),
    "stdout",
  ),
});

/** The whole config file. Every section is optional. */
export const configSchema = object({
  $schema: v.optional(v.string(expected("a string"))),
  listeners: v.optional(listenersSchema),
  policy: v.optional(policySchema),
  dns: v.optional(dnsSchema, {}),
  limits: v.optional(limitsSchema, {}),
  log: v.optional(logSchema, {}),
});

/** A config as written (JSON shape). */
export type ConfigInput = v.InferInput<typeof configSchema>;
/** A validated config in wire shape, field defaults applied. */
export type ConfigOutput = v.InferOutput<typeof configSchema>;
