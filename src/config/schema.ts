/**
 * The config wire schema (valibot): what a config file may contain, with defaults for
 * absent fields. Messages read `expected …, got …`; unknown keys are errors. Whole-section
 * defaults (listeners, policy) live in `default.ts` and are applied by `parseConfig`.
 * Helpers are in `schema-kit.ts`, the TLS interception sections in `schema-tls.ts`.
 */
import { IP_CLASSES } from "../core/ip-class.ts";
import * as v from "valibot";
import { DAY_NAMES, timeZoneError } from "../policy/schedule.ts";
import { headerEditsSchema } from "./schema-header-edits.ts";
import { hostPatternError, portSpecError, regexError } from "../policy/host-pattern.ts";
import { pathPatternError } from "../policy/url-path.ts";
import { mediaRangeError } from "../policy/response-types.ts";
import { methodError } from "../policy/url-rules.ts";
import { POLICY_MODES } from "../policy/scope.ts";
import { HOST_LIST_FORMATS } from "../policy/host-list.ts";
import { boolean, checkedString, cidrList, expected, filePath, ID_RE, ID_WHAT, integer, isPlainObject, nonEmpty, object, ownString, record, unique } from "./schema-kit.ts";
import { listenersSchema } from "./schema-listener.ts";
import { ruleGroupsExist, ruleHostListsExist, ruleListenersExist, ruleUsersExist } from "./rule-names.ts";
import { listenAddressError, upstreamAddressError } from "./listen.ts";
import { proxyAuthSchema, ruleGroupsSchema as groupsSchema } from "./schema-proxy-auth.ts";
import { caSchema, interceptionSchema } from "./schema-tls.ts";
import { reverseReferences, reverseSchema } from "./schema-reverse.ts";
import { parentReferences, parentsSchema } from "./schema-parents.ts";
import { blockPageSchema, interceptDeniedNeedsCa, messageSchema } from "./schema-block-page.ts";
import { syslogSchema } from "./schema-syslog.ts";
import { dnsSchema } from "./schema-dns.ts";
/** A rule id: an id (see `ID_RE`) other than "default" (the id of default decisions). */
const ruleId = checkedString(ID_WHAT, (text) => {
  if (!ID_RE.test(text)) return `expected ${ID_WHAT}, got ${JSON.stringify(text)}`;
  return text === "default" ? 'expected an id other than "default" (reserved for the default decision), got "default"' : undefined;
});
const action = v.picklist(["allow", "deny"], expected('"allow" or "deny"'));
const ALLOWABLE_CLASSES = IP_CLASSES.filter((c) => c !== "public");

const hostsSchema = v.array(checkedString("a host pattern", hostPatternError), expected("an array of host patterns"));

const hhmm = checkedString('a time "HH:MM"', (t) => (/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/.test(t) ? undefined : `expected a time "HH:MM" (00:00-24:00), got ${JSON.stringify(t)}`));

const scheduleSchema = v.pipe(
  object({
    days: v.optional(v.pipe(
      v.array(v.picklist(DAY_NAMES as string[], expected('"mon", "tue", "wed", "thu", "fri", "sat" or "sun"')), expected("an array of days")),
      v.check((d) => d.length > 0, "expected at least one day (leave days out for every day)"),
    )),
    from: v.optional(hhmm),
    to: v.optional(hhmm),
    timeZone: v.optional(checkedString("an IANA time zone", timeZoneError)),
  }),
  v.check((s) => (s.from ?? "00:00") !== (s.to ?? "24:00"), 'expected "from" and "to" to differ (leave both out for the whole day)'),
);

const ruleSchema = object({
  id: v.optional(ruleId),
  hosts: v.optional(nonEmpty(hostsSchema, "hosts")),
  hostRegex: v.optional(nonEmpty(v.array(checkedString("a regular expression", regexError), expected("an array of regular expressions")), "hostRegex")),
  /** Names of `policy.hostLists`: the rule also matches a host a pattern of one of them matches. */
  hostLists: v.optional(nonEmpty(v.array(v.string(expected("a host list name")), expected("an array of host list names")), "hostLists")),
  ports: v.optional(nonEmpty(
    v.array(
      v.pipe(
        v.custom<number | string>((x) => typeof x === "number" || typeof x === "string", expected('a port 1-65535 or a range "lo-hi"')),
        v.check((spec) => portSpecError(spec) === undefined, (issue) => portSpecError(issue.input) ?? "expected a port"),
      ),
      expected("an array of ports"),
    ),
    "ports",
  )),
  clients: v.optional(nonEmpty(cidrList, "clients")),
  /** Listener names (each must name a listener); the rule applies only to connections on them. */
  listeners: v.optional(nonEmpty(v.array(v.string(expected("a listener name")), expected("an array of listener names")), "listeners")),
  /** Flow modes; the rule applies only to connections in them. */
  modes: v.optional(nonEmpty(
    v.array(
      v.picklist(POLICY_MODES, expected(`one of ${POLICY_MODES.map((m) => JSON.stringify(m)).join(", ")}`)),
      expected("an array of modes"),
    ),
    "modes",
  )),
  /** Authenticated proxy users (each must be a proxyAuth user); the rule applies only to their flows. */
  users: v.optional(nonEmpty(v.array(v.string(expected("a user name")), expected("an array of user names")), "users")),
  /** Groups of proxy users (local users' groups, or the directory's); with `users`: a user named or a member. */
  groups: v.optional(groupsSchema),
  /** When the rule applies: days of the week and a time of day in a time zone. */
  schedule: v.optional(scheduleSchema),
  action,
  /** Write flow lines for connections this rule decides (default true; errors are always logged). */
  log: v.optional(boolean, true),
  decryption: v.optional(v.picklist(["exception", "decrypt"], expected('"exception" or "decrypt"')), "exception"),
  /** Upstream certificate validation for decrypted connections (ignored without decryption). */
  upstreamTls: v.optional(v.picklist(["verify", "insecure"], expected('"verify" or "insecure"')), "verify"),
  /** With decryption: a client offering (ALPN) only protocols the gateway does not inspect is refused, or tunnelled blind. */
  uninspectable: v.optional(v.picklist(["refuse", "tunnel"], expected('"refuse" or "tunnel"')), "refuse"),
  /** Internal destination addresses this rule may reach despite the address guard. */
  allowAddresses: v.optional(cidrList),
  /** The parent proxy (a `parents` name) this rule's allowed flows go through, or "direct"; default: the policy's `defaultParent`. */
  parent: v.optional(v.string(expected("a parent name or \"direct\""))),
  /** What a user this rule denies is told (block page, 403 body). */
  message: v.optional(messageSchema),
});

/**
 * The SSRF address guard: every resolved address is classified before dialing; anything
 * not public (loopback, private, link-local, cloud metadata, CGNAT, multicast, reserved…)
 * is denied unless allowed here or by the matching rule's `allowAddresses`.
 */
const addressGuardSchema = object({
  allow: v.optional(cidrList, []),
  deny: v.optional(cidrList, []),
  allowClasses: v.optional(
    v.array(
      v.picklist(ALLOWABLE_CLASSES, expected(`one of ${ALLOWABLE_CLASSES.map((c) => JSON.stringify(c)).join(", ")}`)),
      expected("an array of address classes"),
    ),
    [],
  ),
});

/** A per-request rule for decrypted traffic (see `compileUrlRules`). */
const urlRuleSchema = v.pipe(object({
  id: ruleId,
  hosts: v.optional(nonEmpty(hostsSchema, "hosts")),
  /** Names of `policy.hostLists`, as for connection rules. */
  hostLists: v.optional(nonEmpty(v.array(v.string(expected("a host list name")), expected("an array of host list names")), "hostLists")),
  paths: v.optional(nonEmpty(v.array(checkedString('a path starting with "/"', pathPatternError), expected("an array of path patterns")), "paths")),
  /** False: `paths` match without regard to ASCII case (for origins such as IIS). */
  caseSensitive: v.optional(boolean),
  methods: v.optional(nonEmpty(v.array(checkedString('an uppercase HTTP method like "GET"', methodError), expected("an array of HTTP methods")), "methods")),
  /** Authenticated proxy users (each must be a proxyAuth user). */
  users: v.optional(nonEmpty(v.array(v.string(expected("a user name")), expected("an array of user names")), "users")),
  /** Groups of proxy users, as for connection rules. */
  groups: v.optional(groupsSchema),
  action,
  /** Log requests this rule decides (default true). */
  log: v.optional(boolean, true),
  /** An allow rule's changes to the request's fields (e.g. a tenant restriction). */
  requestHeaders: v.optional(headerEditsSchema),
  /** An allow rule's changes to the response's fields (e.g. removing Alt-Svc). */
  responseHeaders: v.optional(headerEditsSchema),
  /** What a user this rule denies is told (block page, 403 body). */
  message: v.optional(messageSchema),
  /** When the rule applies, as for connection rules. */
  schedule: v.optional(scheduleSchema),
  /** Media types of the response (`"video/*"`): the rule is decided by the response's Content-Type. */
  responseTypes: v.optional(nonEmpty(v.array(checkedString('a media type like "video/*"', mediaRangeError), expected("an array of media types")), "responseTypes")),
  /** An allow rule's limit on request bodies, in bytes (larger: 413). */
  maxRequestBytes: v.optional(integer(0, Number.MAX_SAFE_INTEGER)),
  /** An allow rule's limit on response bodies, in bytes (announced larger: 413; else cut off at the limit). */
  maxResponseBytes: v.optional(integer(0, Number.MAX_SAFE_INTEGER)),
}), v.check(
  (r) => r.caseSensitive === undefined || r.paths !== undefined,
  'expected "caseSensitive" only on a rule with "paths" (it says how they match)',
), v.check(
  (r) => (r.requestHeaders === undefined && r.responseHeaders === undefined) || r.action === "allow",
  'expected "requestHeaders" and "responseHeaders" only on an "allow" rule (a denied request goes nowhere)',
), v.check(
  (r) => r.responseTypes === undefined || (r.requestHeaders === undefined && r.responseHeaders === undefined),
  'a rule with "responseTypes" takes no "requestHeaders" or "responseHeaders" (it is decided after the request went out)',
), v.check(
  (r) => (r.maxRequestBytes === undefined && r.maxResponseBytes === undefined) || (r.action === "allow" && r.responseTypes === undefined),
  'expected "maxRequestBytes" and "maxResponseBytes" only on an "allow" rule without "responseTypes"',
));

/** A host list file: one pattern per line (see `policy/host-list.ts`), read at start and on every reload. */
const hostListSchema = object({
  file: filePath,
  format: v.optional(v.picklist(HOST_LIST_FORMATS, expected('"patterns", "domains" or "hosts"')), "patterns"),
});

const policySchema = object({
  defaultAction: v.optional(action, "deny"),
  defaultLog: v.optional(boolean, true),
  /** Re-decide open connections at each minute and after a reload; close those now denied, decided for the other decryption or sent another way. */
  recheckOpenConnections: v.optional(boolean, true),
  /** The parent proxy for rules without `parent` and for the default decision (absent or "direct": none). */
  defaultParent: v.optional(v.string(expected("a parent name or \"direct\""))),
  /** Host list files by name, for rules' `hostLists`. */
  hostLists: v.optional(
    record(checkedString(ID_WHAT, (t) => (ID_RE.test(t) ? undefined : `expected a host list name (${ID_WHAT}), got ${JSON.stringify(t)}`)), hostListSchema, 'an object like {"ads": {"file": "ads.txt"}}'),
  ),
  rules: v.optional(
    v.pipe(
      v.array(ruleSchema, expected("an array of rules")),
      unique("id", "rule id", (item, index) => ownString(item, "id", `rule-${index + 1}`)),
    ),
    [],
  ),
  urlRules: v.optional(
    v.pipe(
      v.array(urlRuleSchema, expected("an array of url rules")),
      unique("id", "url rule id", (item) => (typeof item["id"] === "string" ? item["id"] : undefined)),
    ),
    [],
  ),
});

const limitsSchema = object({
  maxHeadBytes: v.optional(integer(1024, 1_048_576), 65_536),
  maxHeaders: v.optional(integer(1, 1_000), 100),
  /** Also bounds a transparent listener's client sending its whole ClientHello, and any client's TLS handshake with us. */
  headerTimeoutMs: v.optional(integer(1, 3_600_000), 10_000),
  connectTimeoutMs: v.optional(integer(1, 3_600_000), 10_000),
  /** 0 = never. */
  idleTimeoutMs: v.optional(integer(0, 86_400_000), 300_000),
  maxConnections: v.optional(integer(1, 1_000_000), 10_000),
  /** Concurrent client connections from one IP address; over it → 503 (explicit) or close. */
  maxConnectionsPerClient: v.optional(integer(1, 1_000_000), 256),
  /**
   * New connections per second from one client address (IPv6: /64), sustained; 0 = no limit
   * (the default: many clients behind one NAT address are common).
   */
  connectionRatePerClient: v.optional(integer(0, 1_000_000), 0),
  /** New connections from one client address at once, on top of the rate. */
  connectionBurstPerClient: v.optional(integer(1, 1_000_000), 200),
  /** Concurrent blind tunnels (CONNECT, SOCKS5, transparent splices); over it → 503 / TLS alert. */
  maxTunnels: v.optional(integer(1, 1_000_000), 10_000),
  /** Largest ClientHello (handshake message) a transparent listener reads. */
  maxClientHelloBytes: v.optional(integer(1024, 65_536), 16_384),
  /** Most TLS records the ClientHello may span. */
  maxClientHelloRecords: v.optional(integer(1, 64), 16),
  /** After SIGTERM/SIGINT: how long open connections may finish before they are closed. */
  drainTimeoutMs: v.optional(integer(0, 3_600_000), 10_000),
  /** After SIGTERM/SIGINT, before the drain: keep accepting while /readyz says 503. */
  shutdownDelayMs: v.optional(integer(0, 600_000), 0),
});

const flowsFileSchema = object({ file: filePath });
const flowsStreamSchema = v.picklist(["stdout", "stderr", "off"], expected('"stdout", "stderr", "off" or {"file": "/path"}'));

const logSchema = object({
  flows: v.optional(
    v.lazy((input) => (isPlainObject(input) ? flowsFileSchema : flowsStreamSchema)),
    "stdout",
  ),
  syslog: v.optional(syslogSchema),
});

/** Report a decrypting rule when no CA is configured (at `ca`). */
function caRequired<T>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const config: unknown = dataset.value;
    if (!isPlainObject(config) || config["ca"] !== undefined || !isPlainObject(config["policy"])) return;
    const rules = config["policy"]["rules"];
    if (!Array.isArray(rules)) return;
    const index = rules.findIndex((rule: unknown) => isPlainObject(rule) && rule["decryption"] === "decrypt");
    if (index < 0) return;
    const name = ownString(rules[index] as Record<string, unknown>, "id", `rule-${index + 1}`) ?? `rule-${index + 1}`;
    addIssue({
      message: `a CA is required because rule ${JSON.stringify(name)} decrypts; run "tollgate ca init"`,
      path: [{ type: "object", origin: "value", input: config, key: "ca", value: undefined }],
    });
  });
}

/**
 * The admin API listener (hono). Absent = no admin API. A token is required to bind it to a
 * non-loopback address (it may also come from TOLLGATE_ADMIN_TOKEN at start-up).
 */
const adminSchema = object({
  listen: v.optional(checkedString('"host:port"', listenAddressError), "127.0.0.1:9090"),
  token: v.optional(v.pipe(v.string(expected("a string")), v.minLength(16, "expected a token of at least 16 characters"))),
  /** What the PAC file tells clients to use, e.g. "proxy.corp.example:3128" (default: the first explicit listener). */
  pacProxy: v.optional(checkedString('"host:port"', upstreamAddressError)),
  /** Host patterns sent DIRECT by the PAC file (besides plain host names and private/loopback IPs). */
  pacBypass: v.optional(v.array(checkedString("a host pattern", hostPatternError), expected("an array of host patterns")), []),
  /** Serve /proxy.pac, /ca and /ca.pem without the token: browsers fetch a PAC file without credentials. */
  openBootstrap: v.optional(boolean, false),
});

const configObject = object({
  $schema: v.optional(v.string(expected("a string"))),
  listeners: v.optional(listenersSchema),
  policy: v.optional(policySchema),
  ca: v.optional(caSchema),
  interception: v.optional(interceptionSchema, {}),
  dns: v.optional(dnsSchema, {}),
  limits: v.optional(limitsSchema, {}),
  log: v.optional(logSchema, {}),
  /** Reverse proxy pools and routes (see schema-reverse.ts). */
  reverse: v.optional(reverseSchema),
  addressGuard: v.optional(addressGuardSchema, {}),
  admin: v.optional(adminSchema),
  proxyAuth: v.optional(proxyAuthSchema),
  /** Parent proxies by name (see schema-parents.ts). */
  parents: v.optional(parentsSchema),
  /** What denied browsers see: a page, a redirect, and whether denied HTTPS shows it too. */
  blockPage: v.optional(blockPageSchema, {}),
  /**
   * Gateway processes sharing the listeners (SO_REUSEPORT): 1 = this process only; "auto" =
   * one per CPU. Limits are shared out between them.
   */
  workers: v.optional(
    v.union([integer(1, 64), v.literal("auto")], expected('an integer from 1 to 64 or "auto"')),
    1,
  ),
  /** Settings only the Deno build reads (Bun ignores them). */
  deno: v.optional(
    object({
      /**
       * Plain TLS handshakes on Deno's own TLS through loopback hops instead of `node:tls`:
       * less memory for large bodies, more per idle connection and CPU per byte (README).
       */
      ownTls: v.optional(boolean, false),
    }),
    {},
  ),
});

/**
 * The whole config file. Every section is optional; a decrypting rule requires `ca`; a
 * rule's `listeners` must name listeners, its `users` proxyAuth users, its `hostLists` host
 * lists and its `parent` a parent proxy.
 */
export const configSchema = v.pipe(
  configObject,
  caRequired<v.InferOutput<typeof configObject>>(),
  ruleListenersExist<v.InferOutput<typeof configObject>>(),
  ruleUsersExist<v.InferOutput<typeof configObject>>(),
  ruleGroupsExist<v.InferOutput<typeof configObject>>(),
  ruleHostListsExist<v.InferOutput<typeof configObject>>(),
  reverseReferences<v.InferOutput<typeof configObject>>(),
  parentReferences<v.InferOutput<typeof configObject>>(),
  interceptDeniedNeedsCa<v.InferOutput<typeof configObject>>(),
);

/** A config as written (JSON shape). */
export type ConfigInput = v.InferInput<typeof configSchema>;
/** A validated config in wire shape, field defaults applied. */
export type ConfigOutput = v.InferOutput<typeof configSchema>;
