/**
 * The extra CA certificates the gateway trusts for upstream TLS, gathered from the config so
 * a runtime can prepare them once at start (`RuntimeTls.prepareTrust`).
 * @module
 */
import type { Config } from "./config/config.ts";

/**
 * Every extra CA certificate file (PEM text) the config names for upstream TLS: the
 * interception's and the reverse pools'. A pool file that cannot be read is left out here;
 * the reverse proxy reports it.
 */
export function upstreamCaPems(config: Config, interceptionPems: readonly string[], readText: (path: string) => string): string[] {
  const pems = [...interceptionPems];
  for (const p of Object.values(config.reverse?.pools ?? {})) {
    if (!p.tls.caFile) continue;
    try {
      pems.push(readText(p.tls.caFile));
    } catch {
      // startReverse names the file and fails the start
    }
  }
  return pems;
}
