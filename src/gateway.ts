import type { Address } from "./core/conn.ts";
import type { Listener, Runtime } from "./core/runtime.ts";
import type { Config } from "./config/config.ts";
import { createResolver } from "./dns/resolver.ts";
import type { FlowContext } from "./flows/context.ts";
import { handleExplicit } from "./flows/explicit.ts";
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
}

/** Starts every listener of `config` on `runtime`. */
export async function startGateway(config: Config, runtime: Runtime, options: StartOptions): Promise<Gateway> {
  const policy = compilePolicy(config.policy);
  const resolver = createResolver(config.dns, (name) => runtime.lookup(name));
  const flowLog = makeFlowLog(config, options);
  const listeners: Listener[] = [];
  const addresses = new Map<string, Address>();
  try {
    for (const l of config.listeners) {
      const ctx: FlowContext = {
        runtime,
        policy: () => policy,
        resolver,
        limits: config.limits,
        flowLog,
        listenerName: l.name,
        viaName: "tollgate",
      };
      const listener = await runtime.listen({ hostname: l.hostname, port: l.port }, (conn) => {
        handleExplicit(conn, ctx).catch(() => conn.close());
      });
      listeners.push(listener);
      addresses.set(l.name, listener.address);
    }
  } catch (e) {
    for (const l of listeners) await l.close();
    throw e;
  }
  return {
    addresses,
    close: async () => {
      for (const l of listeners) await l.close();
    },
  };
}

function makeFlowLog(config: Config, options: StartOptions): FlowLog {
  const dest = config.log.flows;
  if (dest === "off") return nullFlowLog;
  if (dest === "stdout" || dest === "stderr") return jsonLineFlowLog((line) => options.write(dest, line));
  return jsonLineFlowLog(options.appendTo(dest.file));
}
