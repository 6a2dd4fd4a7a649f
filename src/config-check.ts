/**
 * Everything the gateway checks in a config's files before it serves, without serving: the
 * CA (certificate, key, chain), the extra upstream CA files, the parent proxies' password
 * files, the proxy users, the block page template, and the reverse proxy's certificates,
 * keys and pool files. The same loaders run here as at start and on reload, so a config
 * this passes is one `serve` (and a reload) accepts, short of binding its listeners.
 *
 * @example
 * ```ts
 * const problems = await configFileProblems(config, { runtime, readText });
 * for (const p of problems) console.error(p);
 * ```
 * @module
 */
import { gatewayUsers } from "./auth/gateway-users.ts";
import { blockPageFromConfig } from "./block/from-config.ts";
import type { Config } from "./config/config.ts";
import type { Runtime } from "./core/runtime.ts";
import { DnsError } from "./dns/error.ts";
import { loadConfiguredCa, upstreamCaPems } from "./interception.ts";
import { parentTable } from "./parent/parent-table.ts";
import { buildReverse } from "./reverse/generation.ts";

/** What checking needs: the runtime's TLS key checks, and a reader of the config's files. */
export interface ConfigCheckDeps {
  readonly runtime: Pick<Runtime, "dial" | "tls">;
  /** Reads a file the config names (relative paths resolved as `serve` resolves them). */
  readonly readText: (path: string) => string;
}

/**
 * The problems in the files `config` names, one message each (naming the setting and the
 * file); empty when the gateway would start with them. Every part is checked, so one bad
 * file does not hide another.
 */
export async function configFileProblems(config: Config, deps: ConfigCheckDeps): Promise<string[]> {
  const problems: string[] = [];
  const attempt = async (part: () => unknown) => {
    try {
      await part();
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
  };
  if (config.ca) {
    const ca = config.ca;
    await attempt(() => loadConfiguredCa(ca, deps.readText));
  }
  await attempt(() => upstreamCaPems(config.interception, deps.readText));
  await attempt(() => parentTable(config, deps.readText));
  await attempt(() => gatewayUsers(config));
  await attempt(() => blockPageFromConfig(config.blockPage, deps.readText));
  await attempt(() =>
    buildReverse(config, {
      runtime: deps.runtime,
      // nothing is dialed or resolved: a generation's health checks start only when it is put in force
      resolver: { resolve: (name) => Promise.reject(new DnsError("notfound", name, "not resolved while checking")) },
      readText: deps.readText,
      log: () => {},
      credentials: () => undefined,
    }, { maxClientHelloBytes: config.limits.maxClientHelloBytes, maxClientHelloRecords: config.limits.maxClientHelloRecords })
  );
  return problems;
}
