import type { Address } from "./core/conn.ts";
import type { Listener, Runtime } from "./core/runtime.ts";
import type { CaConfig, Config, ListenerConfig } from "./config/config.ts";
import type { Conn } from "./core/conn.ts";
import { createResolver } from "./dns/resolver.ts";
import type { FlowContext, InterceptionContext } from "./flows/context.ts";
import { certificateNames, createLeafCache, createLeafIssuer, loadCa } from "./pki/mod.ts";
import { compileUrlRules } from "./policy/url-rules.ts";
import { type AddressGuard, createAddressGuard } from "./policy/address-guard.ts";
import { errorAnswer } from "./flows/answers.ts";
import { handleExplicit, handleTransparentHttp } from "./flows/explicit.ts";
import { handleTransparent, type TransparentSettings } from "./flows/transparent.ts";
import { jsonLineFlowLog, nullFlowLog, type FlowLog } from "./log/flow-record.ts";
import { compilePolicy } from "./policy/compile.ts";

export interface Gateway {
  /** Bound addresses by listener name (useful with port 0). */
  readonly addresses: ReadonlyMap<string, Address>;
  /** Stop accepting; open connections are left to finish. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Where flow-log lines go when the config says "stdout"/"stderr". */
  readonly write: (stream: "stdout" | "stderr", line: string) => void;
  /** Opens a file for appending flow-log lines (config `log.flows: {file}`). */
  readonly appendTo: (path: string) => (line: string) => void;
  /** Reads a file named in the config (CA certificate and key, extra upstream CAs). */
  readonly readText: (path: string) => string;
  /** This host's interface addresses (a listener on 0.0.0.0/:: is reachable on all of them). */
  readonly localAddresses?: readonly string[];
}

/** Starts every listener of `config` on `runtime`. */
export async function startGateway(config: Config, runtime: Runtime, options: StartOptions): Promise<Gateway> {
  const policy = compilePolicy(config.policy);
  const resolver = createResolver(config.dns, (name) => runtime.lookup(name));
  const flowLog = makeFlowLog(config, options);
  const interception = config.ca ? await interceptionContext(config, config.ca, options) : undefined;
  const listeners: Listener[] = [];
  const addresses = new Map<string, Address>();
  let active = 0;
  let guard: AddressGuard | undefined;
  const overload = errorAnswer(503, `Too many connections (limit ${config.limits.maxConnections})`, "connection_limit_reached");
  try {
    for (const l of config.listeners) {
      const ctx: FlowContext = {
        runtime,
        policy: () => policy,
        resolver,
        limits: config.limits,
        flowLog,
        listenerName: l.name,
        mode: l.mode,
        viaName: "tollgate",
        addressGuard: () => guard,
        ...(interception ? { interception } : {}),
      };
      const handler = connectionHandler(l, ctx, config);
      const listener = await runtime.listen({ hostname: l.hostname, port: l.port }, (conn) => {
        if (active >= config.limits.maxConnections) {
          const w = conn.writable.getWriter();
          w.write(overload).then(() => w.close()).catch(() => {}).finally(() => setTimeout(() => conn.close(), 1000));
          return;
        }
        active++;
        handler(conn)
          .catch(() => conn.close())
          .finally(() => active--);
      });
      listeners.push(listener);
      addresses.set(l.name, listener.address);
    }
  } catch (e) {
    for (const l of listeners) await l.close();
    throw e;
  }
  // The guard knows the bound listeners, so the proxy can never be pointed at itself.
  guard = createAddressGuard({
    allow: config.addressGuard.allow,
    deny: config.addressGuard.deny,
    allowClasses: config.addressGuard.allowClasses,
    self: [...addresses.values()],
    localAddresses: options.localAddresses ?? [],
  });
  return {
    addresses,
    close: async () => {
      for (const l of listeners) await l.close();
    },
  };
}

/** The flow for a listener's mode. */
function connectionHandler(l: ListenerConfig, ctx: FlowContext, config: Config): (conn: Conn) => Promise<void> {
  switch (l.mode) {
    case "explicit":
      return (conn) => handleExplicit(conn, ctx);
    case "transparent-http":
      return (conn) => handleTransparentHttp(conn, ctx, l.upstreamPort);
    case "transparent": {
      const settings: TransparentSettings = {
        upstreamPort: l.upstreamPort,
        noSni: l.noSni === "deny" ? "deny" : { action: "allow", upstream: { host: l.noSni.hostname, port: l.noSni.port } },
        ech: l.ech,
        maxClientHelloBytes: config.limits.maxClientHelloBytes,
        maxClientHelloRecords: config.limits.maxClientHelloRecords,
      };
      return (conn) => handleTransparent(conn, ctx, settings);
    }
  }
}

/** Loads the CA and builds what decrypting flows need: leaf cache, trust for upstreams, URL rules. */
async function interceptionContext(config: Config, caFiles: CaConfig, options: StartOptions): Promise<InterceptionContext> {
  const read = (what: string, path: string) => {
    try {
      return options.readText(path);
    } catch (e) {
      throw new Error(`cannot read ${what} "${path}": ${(e as { code?: string }).code ?? String(e)}`);
    }
  };
  const ca = await loadCa({
    certPem: read("ca.cert", caFiles.cert),
    keyPem: read("ca.key", caFiles.key),
    ...(caFiles.chain ? { chainPem: read("ca.chain", caFiles.chain) } : {}),
  });
  const ic = config.interception;
  const cache = createLeafCache(createLeafIssuer(ca, { validityDays: ic.leafValidityDays }), { maxEntries: ic.leafCacheSize });
  const urlPolicy = compileUrlRules(config.policy.urlRules);
  return {
    leaf: (host, sans) => cache.get(host, sans),
    extraCaPem: ic.upstreamCaFiles.map((f) => read("interception.upstreamCaFiles", f)),
    clientMinVersion: ic.minTlsVersion.client,
    upstreamMinVersion: ic.minTlsVersion.upstream,
    mirrorUpstreamSans: ic.mirrorUpstreamSans,
    certificateNames,
    urlPolicy: () => urlPolicy,
  };
}

function makeFlowLog(config: Config, options: StartOptions): FlowLog {
  const dest = config.log.flows;
  if (dest === "off") return nullFlowLog;
  if (dest === "stdout" || dest === "stderr") return jsonLineFlowLog((line) => options.write(dest, line));
  return jsonLineFlowLog(options.appendTo(dest.file));
}
