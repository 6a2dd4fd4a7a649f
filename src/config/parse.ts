/**
 * Config parsing: JSON text → valibot validation → the frozen domain `Config`.
 */
import { toEdits } from "./schema-header-edits.ts";
import * as v from "valibot";
import { normaliseName } from "../dns/name.ts";
import { parseIpLiteral } from "../dns/ip-literal.ts";
import { parseDnsServer } from "../dns/server.ts";
import type { RuleDefinition, UrlRuleDefinition } from "../policy/types.ts";
import type { CaConfig, Config, ListenerConfig, NoSniConfig } from "./config.ts";
import { defaultConfig } from "./default.ts";
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { formatPath } from "./issue-format.ts";
import { JsonSyntaxError, parseJson } from "./json.ts";
import { parseListenAddress, parseUpstreamAddress } from "./listen.ts";
import { type ConfigOutput, configSchema } from "./schema.ts";
import { toReverseConfig } from "./schema-reverse.ts";
import { toListenerTls, toRedirectListener, toReverseListener } from "./schema-reverse-listener.ts";
import { toParentsConfig } from "./schema-parents.ts";

/**
 * Validate a JSON-shaped value and build the domain config. Absent sections take their
 * defaults (`{}` gives the default config). Throws a `ConfigError` listing every problem.
 *
 * @example
 * ```ts
 * const config = parseConfig({ listeners: [{ mode: "explicit", listen: "[::1]:3128" }] });
 * config.listeners[0]; // { name: "listener-1", mode: "explicit", hostname: "::1", port: 3128 }
 *
 * const tproxy = parseConfig({ listeners: [{ name: "tproxy", mode: "transparent", listen: "0.0.0.0:8443" }] });
 * tproxy.listeners[0]; // { name: "tproxy", mode: "transparent", hostname: "0.0.0.0", port: 8443, upstreamPort: 443, noSni: "deny", ech: "policy" }
 * ```
 */
export function parseConfig(input: unknown, sourceName?: string): Config {
  const result = v.safeParse(configSchema, withDefaultSections(input));
  if (!result.success) {
    const issues = result.issues.map((issue): ConfigIssue => ({ path: formatPath(issue.path), message: issue.message }));
    throw new ConfigError(issues, sourceName);
  }
  return deepFreeze(toDomain(result.output));
}

/**
 * Parse config text (JSON). Syntax errors become a `ConfigError` whose single issue
 * gives the line and column.
 *
 * @example
 * ```ts
 * const config = parseConfigText(await file.text(), "gateway.json");
 * ```
 */
export function parseConfigText(text: string, sourceName: string): Config {
  let input: unknown;
  try {
    input = parseJson(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    const message = `invalid JSON at line ${error.line}, column ${error.column}: ${error.reason}`;
    throw new ConfigError([{ path: "", message }], sourceName, { cause: error });
  }
  return parseConfig(input, sourceName);
}

function toDomain(wire: ConfigOutput): Config {
  // withDefaultSections filled these in before validation.
  const listeners = wire.listeners ?? [];
  const policy = wire.policy ?? { defaultAction: "deny", defaultLog: false, rules: [], urlRules: [], recheckOpenConnections: true };
  const interception = wire.interception;
  const flows = wire.log.flows;
  return {
    listeners: listeners.map(toListener),
    policy: {
      defaultAction: policy.defaultAction,
      defaultLog: policy.defaultLog,
      recheckOpenConnections: policy.recheckOpenConnections,
      ...(policy.defaultParent === undefined ? {} : { defaultParent: policy.defaultParent }),
      ...(policy.hostLists === undefined ? {} : {
        hostLists: Object.fromEntries(Object.entries(policy.hostLists).map(([name, l]) => [name, { file: l.file, format: l.format }])),
      }),
      rules: policy.rules.map((rule, index): RuleDefinition => ({
        id: rule.id ?? `rule-${index + 1}`,
        ...(rule.hosts === undefined ? {} : { hosts: [...rule.hosts] }),
        ...(rule.hostRegex === undefined ? {} : { hostRegex: [...rule.hostRegex] }),
        ...(rule.hostLists === undefined ? {} : { hostLists: [...rule.hostLists] }),
        ...(rule.ports === undefined ? {} : { ports: [...rule.ports] }),
        ...(rule.clients === undefined ? {} : { clients: [...rule.clients] }),
        ...(rule.listeners === undefined ? {} : { listeners: [...rule.listeners] }),
        ...(rule.modes === undefined ? {} : { modes: [...rule.modes] }),
        ...(rule.users === undefined ? {} : { users: [...rule.users] }),
        ...(rule.groups === undefined ? {} : { groups: [...rule.groups] }),
        action: rule.action,
        log: rule.log,
        decryption: rule.decryption,
        upstreamTls: rule.upstreamTls,
        ...(rule.uninspectable === "tunnel" ? { uninspectable: "tunnel" as const } : {}),
        ...(rule.allowAddresses === undefined ? {} : { allowAddresses: [...rule.allowAddresses] }),
        ...(rule.parent === undefined ? {} : { parent: rule.parent }),
        ...(rule.schedule === undefined ? {} : { schedule: { ...rule.schedule, ...(rule.schedule.days ? { days: [...rule.schedule.days] } : {}) } }),
        ...(rule.message === undefined ? {} : { message: rule.message }),
      })),
      urlRules: policy.urlRules.map((rule): UrlRuleDefinition => ({
        id: rule.id,
        ...(rule.hosts === undefined ? {} : { hosts: [...rule.hosts] }),
        ...(rule.hostLists === undefined ? {} : { hostLists: [...rule.hostLists] }),
        ...(rule.paths === undefined ? {} : { paths: [...rule.paths] }),
        ...(rule.caseSensitive === undefined ? {} : { caseSensitive: rule.caseSensitive }),
        ...(rule.methods === undefined ? {} : { methods: [...rule.methods] }),
        ...(rule.users === undefined ? {} : { users: [...rule.users] }),
        ...(rule.groups === undefined ? {} : { groups: [...rule.groups] }),
        action: rule.action,
        log: rule.log,
        ...(rule.requestHeaders === undefined ? {} : { requestHeaders: toEdits(rule.requestHeaders) }),
        ...(rule.responseHeaders === undefined ? {} : { responseHeaders: toEdits(rule.responseHeaders) }),
        ...(rule.message === undefined ? {} : { message: rule.message }),
        ...(rule.schedule === undefined ? {} : { schedule: { ...rule.schedule, ...(rule.schedule.days ? { days: [...rule.schedule.days] } : {}) } }),
        ...(rule.responseTypes === undefined ? {} : { responseTypes: [...rule.responseTypes] }),
        ...(rule.maxRequestBytes === undefined ? {} : { maxRequestBytes: rule.maxRequestBytes }),
        ...(rule.maxResponseBytes === undefined ? {} : { maxResponseBytes: rule.maxResponseBytes }),
      })),
    },
    ...(wire.ca === undefined ? {} : { ca: toCaConfig(wire.ca) }),
    interception: {
      leafValidityDays: interception.leafValidityDays,
      mirrorUpstreamSans: interception.mirrorUpstreamSans,
      upstreamCaFiles: [...interception.upstreamCaFiles],
      minTlsVersion: { client: interception.minTlsVersion.client, upstream: interception.minTlsVersion.upstream },
      leafCacheSize: interception.leafCacheSize,
      upstreamPool: { ...interception.upstreamPool },
    },
    dns: {
      hosts: Object.fromEntries(
        Object.entries(wire.dns.hosts).map(([name, addresses]) => [
          normaliseName(name),
          addresses.map((address) => parseIpLiteral(address)?.address ?? address),
        ]),
      ),
      cacheSize: wire.dns.cacheSize,
      ttlSeconds: wire.dns.ttlSeconds,
      negativeTtlSeconds: wire.dns.negativeTtlSeconds,
      timeoutMs: wire.dns.timeoutMs,
      servers: wire.dns.servers.map((s) => parseDnsServer(s, wire.dns.transport === "tls" ? 853 : 53)),
      transport: wire.dns.transport,
      ...(wire.dns.caFile === undefined ? {} : { caFile: wire.dns.caFile }),
    },
    limits: { ...wire.limits },
    blockPage: { ...wire.blockPage },
    workers: wire.workers,
    deno: { ownTls: wire.deno.ownTls },
    parents: toParentsConfig(wire.parents),
    ...(wire.reverse === undefined ? {} : { reverse: toReverseConfig(wire.reverse, wire.limits.connectTimeoutMs) }),
    ...(wire.admin === undefined
      ? {}
      : {
        admin: {
          ...parseListenAddress(wire.admin.listen),
          ...(wire.admin.token === undefined ? {} : { token: wire.admin.token }),
          ...(wire.admin.pacProxy === undefined ? {} : { pacProxy: wire.admin.pacProxy }),
          pacBypass: [...wire.admin.pacBypass],
          openBootstrap: wire.admin.openBootstrap,
        },
      }),
    ...(wire.proxyAuth === undefined
      ? {}
      : {
        proxyAuth: {
          realm: wire.proxyAuth.realm,
          users: wire.proxyAuth.users.map((u) => ({ name: u.name, passwordHash: u.passwordHash, groups: [...u.groups] })),
          ...(wire.proxyAuth.ldap
            ? {
              ldap: {
                ...wire.proxyAuth.ldap,
                ...(wire.proxyAuth.ldap.groups ? { groups: { ...wire.proxyAuth.ldap.groups } } : {}),
                ...(wire.proxyAuth.ldap.certificateUsers ? { certificateUsers: { ...wire.proxyAuth.ldap.certificateUsers } } : {}),
              },
            }
            : {}),
          signInLimit: {
            burst: wire.proxyAuth.signInLimit.burst,
            perMinute: wire.proxyAuth.signInLimit.perMinute,
            ...(wire.proxyAuth.signInLimit.perUser ? { perUser: { ...wire.proxyAuth.signInLimit.perUser } } : {}),
          },
        },
      }),
    addressGuard: {
      allow: [...wire.addressGuard.allow],
      deny: [...wire.addressGuard.deny],
      allowClasses: [...wire.addressGuard.allowClasses],
    },
    log: {
      flows: typeof flows === "string" ? flows : { file: flows.file },
      ...(wire.log.syslog === undefined ? {} : { syslog: { ...wire.log.syslog } }),
    },
  };
}

type WireListener = NonNullable<ConfigOutput["listeners"]>[number];

function toListener(listener: WireListener, index: number): ListenerConfig {
  const name = listener.name ?? `listener-${index + 1}`;
  const { hostname, port } = parseListenAddress(listener.listen);
  const base = {
    name,
    hostname,
    port,
    ...(listener.clients === undefined ? {} : { clients: [...listener.clients] }),
    ...(listener.proxyProtocol === undefined ? {} : { proxyProtocol: { from: [...listener.proxyProtocol.from] } }),
  };
  switch (listener.mode) {
    case "explicit":
      return {
        ...base,
        mode: "explicit",
        ...(listener.tls ? { tls: toListenerTls(listener.tls) } : {}),
        ...(listener.trustForwardedFrom?.length ? { trustForwardedFrom: [...listener.trustForwardedFrom] } : {}),
      };
    case "socks5":
      return { ...base, mode: "socks5" };
    case "transparent":
      return {
        ...base,
        mode: "transparent",
        upstreamPort: listener.upstreamPort ?? 443,
        noSni: toNoSni(listener.noSni),
        ech: listener.ech ?? "policy",
      };
    case "transparent-http":
      return { ...base, mode: "transparent-http", upstreamPort: listener.upstreamPort ?? 80 };
    case "reverse":
      return toReverseListener(base, listener.tls, listener.trustForwardedFrom, listener.trustIdentityFrom);
    case "redirect-https":
      return toRedirectListener(base, listener.httpsPort);
  }
}

function toNoSni(noSni: WireListener["noSni"]): NoSniConfig {
  if (noSni === undefined || typeof noSni === "string") return "deny";
  return { action: "allow", upstream: noSni.upstream, ...parseUpstreamAddress(noSni.upstream) };
}

function toCaConfig(ca: NonNullable<ConfigOutput["ca"]>): CaConfig {
  return { cert: ca.cert, key: ca.key, ...(ca.chain === undefined ? {} : { chain: ca.chain }) };
}

/** Take absent `listeners`, `policy` and `log` sections from the default config. */
function withDefaultSections(input: unknown): unknown {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return input;
  const filled: Record<string, unknown> = { ...input };
  for (const key of ["listeners", "policy", "log"] as const) {
    if (!Object.hasOwn(filled, key)) filled[key] = defaultConfig[key];
  }
  return filled;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
