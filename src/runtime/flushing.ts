/**
 * The closed connections whose last bytes an adapter still passes on itself (rather than
 * leaving them to the kernel, as a closed socket's send buffer is): Deno's own-TLS loopback
 * hops, and `node:tls` sessions ended in order. A shutdown waits for them
 * ({@linkcode settleFlushes}, an adapter's `Runtime.settle`), so that the process does not exit
 * in the middle of a response's last bytes.
 *
 * @module
 */

/** Each flushing connection by the function that ends it now. */
const flushingSet = new Set<() => void>();

/**
 * Counts `end` as flushing until the returned function is called; `end` gives up on the
 * connection now (and should call that function too).
 */
export function trackFlush(end: () => void): () => void {
  flushingSet.add(end);
  return () => flushingSet.delete(end);
}

/**
 * Resolves once every connection that is flushing now (or starts to before it is done) has
 * passed on what it holds, or at `until` (epoch ms), when those still at it are ended.
 */
export async function settleFlushes(until: number): Promise<void> {
  while (flushingSet.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  for (const end of [...flushingSet]) end();
}

/** How many connections are flushing (for tests). */
export function flushingCount(): number {
  return flushingSet.size;
}
