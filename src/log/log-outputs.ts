/**
 * The flow log's outputs in force: `log.flows` (a stream or file) and `log.syslog` (a
 * collector), each replaced by a reload only when its own part of the config changed — a new
 * collector does not reopen the file, a new file does not reconnect to the collector.
 * @module
 */
import type { LogConfig, SyslogConfig } from "../config/config.ts";
import { flowOutput, type FlowOutput, type FlowSinks } from "./flow-output.ts";
import type { FlowLog, FlowRecord, RequestRecord } from "./flow-record.ts";
import { type SyslogDeps, syslogKey, syslogOutput } from "./syslog-output.ts";

/** Opens each kind of output. */
export interface OutputOpeners {
  readonly flows: (target: LogConfig["flows"]) => FlowOutput;
  readonly syslog: (config: SyslogConfig) => FlowOutput & { close(): void | Promise<void> };
  /**
   * What decides whether a reload keeps the collector's output: its settings and the
   * contents of the files they name (a renewed client certificate at the same path is a
   * change). Default: the settings. Throws when a file cannot be read.
   */
  readonly syslogKey?: (config: SyslogConfig) => string;
}

type Closable = FlowLog & { close(): void | Promise<void> };

export class LogOutputs implements FlowLog {
  readonly #open: OutputOpeners;
  #config: LogConfig;
  #flows: Closable;
  #syslog: Closable | undefined;
  #syslogKey: string;

  /** @throws when an output cannot be opened (a TLS file of the collector that cannot be read) */
  constructor(config: LogConfig, open: OutputOpeners) {
    this.#open = open;
    this.#config = config;
    this.#syslogKey = this.#keyOf(config);
    this.#syslog = config.syslog ? open.syslog(config.syslog) : undefined;
    this.#flows = open.flows(config.flows);
  }

  write(record: FlowRecord | RequestRecord): void {
    this.#flows.write(record);
    this.#syslog?.write(record);
  }

  /**
   * Opens the outputs `next` changes, nothing in force yet: `commit()` puts them in force and
   * closes those they replace. Throws (having opened nothing) when one cannot be opened.
   */
  prepare(next: LogConfig): { commit(): void } {
    const same = <K extends keyof LogConfig>(key: K) => JSON.stringify(this.#config[key]) === JSON.stringify(next[key]);
    const syslogKey = this.#keyOf(next);
    const syslog = syslogKey === this.#syslogKey ? this.#syslog : next.syslog ? this.#open.syslog(next.syslog) : undefined;
    let flows: Closable;
    try {
      flows = same("flows") ? this.#flows : this.#open.flows(next.flows); // opens a file last
    } catch (e) {
      if (syslog !== this.#syslog) void syslog?.close();
      throw e;
    }
    return {
      commit: () => {
        const old = [this.#flows, this.#syslog].filter((o) => o !== undefined && o !== flows && o !== syslog);
        this.#config = next;
        this.#flows = flows;
        this.#syslog = syslog;
        this.#syslogKey = syslogKey;
        for (const o of old) void o?.close();
      },
    };
  }

  #keyOf(config: LogConfig): string {
    if (!config.syslog) return "";
    return this.#open.syslogKey?.(config.syslog) ?? JSON.stringify(config.syslog);
  }

  /** Closes every output; a collector gets what is queued, for a few seconds at most. */
  async close(): Promise<void> {
    await Promise.all([this.#flows.close(), this.#syslog?.close()]);
  }
}

/** How a gateway opens its outputs: streams and files through `sinks`, a collector with `syslog`. */
export function gatewayOpeners(sinks: FlowSinks, syslog: SyslogDeps): OutputOpeners {
  return {
    flows: (target) => flowOutput(target, sinks),
    syslog: (c) => syslogOutput(c, syslog),
    syslogKey: (c) => syslogKey(c, syslog.readText),
  };
}
