/** Bytes one way and the other: client → upstream (`bytesUp`) and back (`bytesDown`). */
export interface ByteCounts {
  readonly bytesUp: number;
  readonly bytesDown: number;
}

/**
 * The bytes an HTTP connection's exchanges moved, readable at any time: those of the
 * exchanges that ended, plus the one in progress as its bodies (or its upgraded tunnel)
 * move. The open-connections view reads it, so a long download or a WebSocket shows its
 * bytes while it runs, not only once it is over.
 *
 * An exchange counts in what its caller logs: its result, the part an ExchangeAbortedError
 * says got through, or what an attempt that failed before any answer (and is retried or
 * answered with an error page) had sent (`sentBefore`). So the view never shows more than
 * the flow line then says.
 */
export class ExchangeMeter {
  #bytesUp = 0;
  #bytesDown = 0;
  #current: (() => ByteCounts) | undefined;

  /** An exchange began: `counts` gives what it moved so far. */
  began(counts: () => ByteCounts): void {
    this.#current = counts;
  }

  /** The exchange ended; `moved` is what it counts for. */
  ended(moved?: ByteCounts): void {
    this.#current = undefined;
    if (moved === undefined) return;
    this.#bytesUp += moved.bytesUp;
    this.#bytesDown += moved.bytesDown;
  }

  /** Everything so far: the ended exchanges and the one in progress. */
  read(): ByteCounts {
    const c = this.#current?.();
    return { bytesUp: this.#bytesUp + (c?.bytesUp ?? 0), bytesDown: this.#bytesDown + (c?.bytesDown ?? 0) };
  }
}
