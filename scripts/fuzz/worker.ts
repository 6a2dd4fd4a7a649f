/**
 * Fuzz worker: runs the fast-check property of one parser for a number of inputs and reports
 * back. Before each input it copies the input into shared memory and bumps a counter, so the
 * main thread can tell a hang from slow progress and print the input that hung.
 *
 * @module
 */
import fc from "fast-check";
import { inputArb, newStats, type ParserName, propertyFor, type Stats } from "./property.ts";

/** What the main thread sends. */
export interface Job {
  readonly parser: ParserName;
  readonly runs: number;
  readonly seed: number;
  readonly guardMs: number;
  /** Int32 [0] = inputs started, Int32 [1] = length of the current input, bytes from offset 8. */
  readonly shared: SharedArrayBuffer;
}

/** What the worker answers once done. */
export interface Report {
  readonly parser: ParserName;
  readonly stats: Stats;
  readonly ms: number;
  readonly failure?: string;
}

interface WorkerScope {
  onmessage: ((e: MessageEvent<Job>) => void) | null;
  postMessage(message: Report): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (e) => {
  const job = e.data;
  const header = new Int32Array(job.shared, 0, 2);
  const data = new Uint8Array(job.shared, 8);
  const stats = newStats();
  const record = (bytes: Uint8Array) => {
    const n = Math.min(bytes.length, data.length);
    data.set(bytes.subarray(0, n), 0);
    Atomics.store(header, 1, bytes.length);
    Atomics.add(header, 0, 1);
  };
  const t0 = performance.now();
  let failure: string | undefined;
  try {
    fc.assert(fc.property(inputArb(job.parser), propertyFor(job.parser, stats, job.guardMs, record)), {
      numRuns: job.runs,
      seed: job.seed,
    });
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    failure = text.length > 6000 ? `${text.slice(0, 6000)}…` : text;
  }
  scope.postMessage({ parser: job.parser, stats, ms: performance.now() - t0, ...(failure === undefined ? {} : { failure }) });
};
