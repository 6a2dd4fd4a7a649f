/**
 * Everything the gateway checks in a config's files before it serves, without serving: the
 * CA (certificate, key, chain) and the extra upstream CA files, the policy's host lists, the
 * parent proxies' password files, the proxy users, the block page template, the syslog
 * collector's TLS files, the reverse and HTTPS proxy listeners' certificates and keys, and
 * the pools' files. The same loaders run here as at start and on reload, so a config
 * this passes is one `serve` (and a reload) accepts, short of binding its listeners.
 *
 * @example
 * ```ts
 * const { problems, warnings } = await checkConfigFiles(config, { runtime, readText });
 * for (const p of problems) console.error(p);
 * ```
 * @module
 */
import { gatewayUsers } from "./auth/gateway-users.ts";
import { blockPageFromConfig } from "./block/from-config.ts";
import type { Config } from "./config/config.ts";
import type { Runtime } from "./core/runtime.ts";
import { DnsError } from "./dns/error.ts";
import type { Resolver } from "./dns/types.ts";
import { startInterception } from "./interception.ts";
import { createGatewayMetrics } from "./metrics/gateway-metrics.ts";
import { Registry } from "./metrics/registry.ts";
import { parentTable } from "./parent/parent-table.ts";
import { hostListProblems } from "./policy/load-host-lists.ts";
import { readSyslogTls } from "./log/syslog-output.ts";
import { buildReverse, reverseErrorPages } from "./reverse/generation.ts";
import { listenerClientCertificates, loadClientTrusts } from "./reverse/client-trusts.ts";
import { certificateSubject, certificateValidity, decodePem } from "./pki/mod.ts";
import { readCaBundle } from "./config/setting-file.ts";
import { adminTokenProblem } from "./admin/token-rules.ts";

/** What checking needs: the runtime's TLS key checks, and a reader of the config's files. */
export interface ConfigCheckDeps {
  readonly runtime: Pick<Runtime, "dial" | "tls">;
  /** Reads a file the config names (relative paths resolved as `serve` resolves them). */
  readonly readText: (path: string) => string;
  /** `TOLLGATE_ADMIN_TOKEN` as `serve` would see it: the admin API's token rules apply to it. */
  readonly adminTokenFromEnv?: string | undefined;
}

/** What checking found: problems stop the gateway; warnings (certificates near their end) do not. */
export interface ConfigCheckResult {
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

/** Checking resolves nothing. */
const NOT_RESOLVED: Resolver = { resolve: (name) => Promise.reject(new DnsError("notfound", name, "not resolved while checking")) };

/** A certificate this close to its end is warned about. */
export const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 86_400_000;

/**
 * The problems in the files `config` names, one message each (naming the setting and the
 * file); none when the gateway would start with them. Every part is checked, so one bad
 * file does not hide another. Warnings name the CA and served certificates that expired or
 * expire within {@link EXPIRY_WARNING_DAYS} days of `now`.
 */
export async function checkConfigFiles(config: Config, deps: ConfigCheckDeps, now = Date.now()): Promise<ConfigCheckResult> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const attempt = async (part: () => unknown) => {
    try {
      await part();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (!problems.includes(message)) problems.push(message); // a file two parts read is named once
    }
  };
  const expiry = (what: string, notAfter: Date) => {
    const days = Math.floor((notAfter.getTime() - now) / DAY_MS);
    const on = notAfter.toISOString();
    if (notAfter.getTime() <= now) warnings.push(`${what} expired on ${on}`);
    else if (days < EXPIRY_WARNING_DAYS) warnings.push(`${what} expires in ${days === 0 ? "less than a day" : `${days} day${days === 1 ? "" : "s"}`}, on ${on}`);
  };
  if (config.ca) {
    const files = config.ca;
    // as at start: the CA and the extra upstream CAs read; built, never put in force
    await attempt(async () => {
      const ic = await startInterception(config, files, deps.readText, createGatewayMetrics(new Registry()), 1);
      expiry(`ca.cert "${files.cert}"`, ic.caNotAfter);
    });
  }
  const tokenProblem = adminTokenProblem(config.admin, deps.adminTokenFromEnv);
  if (tokenProblem) problems.push(tokenProblem);
  problems.push(...await hostListProblems(config.policy.hostLists, deps.readText));
  await attempt(() => parentTable(config, deps.readText));
  // nothing is dialed: the directory is only reached when someone signs in
  await attempt(() => gatewayUsers(config, { runtime: deps.runtime, resolver: NOT_RESOLVED, readText: deps.readText }));
  await attempt(() => blockPageFromConfig(config.blockPage, deps.readText));
  const dnsCa = config.dns.transport === "tls" ? config.dns.caFile : undefined;
  if (dnsCa) {
    await attempt(() => readCaBundle(deps.readText, "dns.caFile", dnsCa));
  }
  const syslog = config.log.syslog;
  if (syslog) await attempt(() => readSyslogTls(syslog, deps.readText));
  // the client CAs and CRLs of HTTPS proxy and reverse listeners; a listener whose files fail is built on
  const clientTrusts = await loadClientTrusts(config, deps.readText, undefined, (e) => problems.push(e.message));
  for (const [listener, loaded] of clientTrusts) {
    const c = config.listeners.find((l) => l.name === listener);
    const files = c ? listenerClientCertificates(c) : undefined;
    if (!files) continue;
    for (const pem of loaded.policy.trust.caPem) {
      const der = decodePem(pem)[0]?.der;
      if (der) expiry(`listeners "${listener}" tls.clientCertificates.caFile "${files.caFile}" certificate "${certificateSubject(der)}"`, certificateValidity(der).notAfter);
    }
    const crlUntil = loaded.policy.trust.crlNextUpdate;
    if (crlUntil && crlUntil.getTime() <= now) {
      warnings.push(`listeners "${listener}" tls.clientCertificates.crlFile "${files.crlFile}" is out of date since ${crlUntil.toISOString()}: every client certificate is refused until a newer CRL is loaded`);
    } else if (crlUntil && crlUntil.getTime() - now < DAY_MS) {
      warnings.push(`listeners "${listener}" tls.clientCertificates.crlFile "${files.crlFile}" is out of date on ${crlUntil.toISOString()}, in less than a day: load a newer CRL before then`);
    }
  }
  warnings.push(...uncertifiedRoutes(config), ...idleIdentityTrust(config), ...idleCertificateReader(config));
  // on its own: building the reverse proxy stops at its first problem
  const errorPages = config.reverse?.errorPages;
  if (errorPages) await attempt(() => reverseErrorPages(errorPages, deps.readText));
  await attempt(() => {
    const generation = buildReverse(config, {
      runtime: deps.runtime,
      // nothing is dialed or resolved: a generation's health checks start only when it is put in force
      resolver: NOT_RESOLVED,
      readText: deps.readText,
      log: () => {},
      credentials: () => undefined,
    }, { maxClientHelloBytes: config.limits.maxClientHelloBytes, maxClientHelloRecords: config.limits.maxClientHelloRecords }, undefined, clientTrusts);
    const served = [...[...generation.states].map(([listener, state]) => [listener, state.tls] as const), ...generation.proxyTls];
    for (const [listener, tls] of served) {
      for (const c of tls?.store.certificates ?? []) expiry(`listeners "${listener}" certificate "${c.source}"`, c.notAfter);
    }
  });
  return { problems, warnings };
}

/**
 * Routes that apply both to a reverse listener requiring client certificates and to one that
 * does not (takes none, or `required: false`; a route without `listeners` applies to every
 * reverse listener): the app is reachable without a certificate on the second, which may not
 * be meant.
 */
export function uncertifiedRoutes(config: Config): string[] {
  const reverse = config.listeners.filter((l) => l.mode === "reverse");
  const out: string[] = [];
  for (const route of config.reverse?.routes ?? []) {
    const on = reverse.filter((l) => !route.listeners || route.listeners.includes(l.name));
    const required = on.filter((l) => l.tls?.clientCertificates?.required === true).map((l) => JSON.stringify(l.name));
    const optional = on.filter((l) => l.tls?.clientCertificates?.required !== true).map((l) => JSON.stringify(l.name));
    if (required.length === 0 || optional.length === 0) continue;
    out.push(
      `reverse.routes "${route.id}" applies to listeners ${required.join(", ")}, which require client certificates, and to ${optional.join(", ")}, which do not: ` +
        `there its backends are reachable without a certificate; if that is not meant, name the listeners in the route's "listeners"`,
    );
  }
  return out;
}

/**
 * Reverse listeners with client certificates that list `trustIdentityFrom`: there the gateway
 * says who the client is itself, so no proxy's identity fields reach a backend and the list
 * does nothing (a proxy meant to pass on its own clients' certificates should not be asked
 * for one).
 */
export function idleIdentityTrust(config: Config): string[] {
  return config.listeners
    .filter((l) => l.mode === "reverse" && l.trustIdentityFrom.length > 0 && l.tls?.clientCertificates)
    .map((l) => `listeners "${l.name}" trustIdentityFrom has no effect: the listener takes client certificates, so the gateway says who each client is and removes X-Forwarded-User and Client-Cert from everyone's requests`);
}

/**
 * `proxyAuth.ldap.certificateUsers` without a listener that takes client certificates: the
 * account it names is never used (a listener forgotten, or its `clientCertificates` left out).
 */
export function idleCertificateReader(config: Config): string[] {
  if (!config.proxyAuth?.ldap?.certificateUsers) return [];
  if (config.listeners.some((l) => listenerClientCertificates(l) !== undefined)) return [];
  return ["proxyAuth.ldap.certificateUsers has no effect: no listener takes client certificates (tls.clientCertificates), so no user signs in with one"];
}
