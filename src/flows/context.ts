import type { Runtime } from "../core/runtime.ts";
import type { Resolver } from "../dns/types.ts";
import type { FlowLog } from "../log/flow-record.ts";
import type { Policy } from "../policy/types.ts";

/** Limits and timeouts a flow obeys (all from the config, with defaults there). */
export interface FlowLimits {
  readonly maxHeadBytes: number;
  readonly maxHeaders: number;
  readonly headerTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/** Everything a flow needs, injected: no globals, so flows run over in-memory connections in tests. */
export interface FlowContext {
  readonly runtime: Pick<Runtime, "dial" | "splice">;
  /** The policy in force now (a function so a reload swaps it for new connections only). */
  readonly policy: () => Policy;
  readonly resolver: Resolver;
  readonly limits: FlowLimits;
  readonly flowLog: FlowLog;
  readonly listenerName: string;
  /** Pseudonym used in `Via` headers, e.g. "tollgate". */
  readonly viaName: string;
}
