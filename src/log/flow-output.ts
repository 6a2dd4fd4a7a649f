/**
 * Where the flow log's lines go (`log.flows`), as an output a reload can replace and close.
 * @module
 */
import type { FlowLogTarget } from "../config/config.ts";
import { type FlowLog, jsonLineFlowLog, nullFlowLog } from "./flow-record.ts";

/** Where the flow log's records go, and how to let go of it (a file is closed). */
export interface FlowOutput extends FlowLog {
  close(): void;
}

/** How the process writes: to its standard streams, or to a file it opens for appending. */
export interface FlowSinks {
  readonly write: (stream: "stdout" | "stderr", line: string) => void;
  readonly appendTo: (path: string) => { write(line: string): void; close(): void };
}

/** An output that drops every record. */
export const nullFlowOutput: FlowOutput = { ...nullFlowLog, close: () => {} };

/** One JSON line per record to `target`. */
export function flowOutput(target: FlowLogTarget, sinks: FlowSinks): FlowOutput {
  if (target === "off") return nullFlowOutput;
  if (target === "stdout" || target === "stderr") return { ...jsonLineFlowLog((line) => sinks.write(target, line)), close: () => {} };
  const file = sinks.appendTo(target.file);
  return { ...jsonLineFlowLog((line) => file.write(line)), close: () => file.close() };
}
