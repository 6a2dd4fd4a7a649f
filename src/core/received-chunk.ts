/**
 * Prompt release of receive buffers. A runtime adapter allocates a fresh buffer for every
 * chunk it reads from a socket (Bun: one per `data` event, up to 512 KiB; Deno: one per
 * read). Left to the garbage collector, a bulk transfer piles up dead buffers until the next
 * collection — tens of MiB of RSS, more the larger the live heap (JavaScriptCore and V8 let
 * garbage grow in proportion to it). Adapters mark the chunks they hand out with
 * {@link markReceived}; the adapter that has finished sending such a chunk (and keeps no
 * reference to it) frees it at once with {@link releaseWritten} by detaching its buffer.
 *
 * Hence the rule in `Conn` (conn.ts): a chunk read from a Conn and written to a Conn must not be
 * used after the write. Chunks that were not marked (constants, copies, slices of a shared
 * pool, a chunk of which only a part is written) are never touched.
 *
 * Web standards only: `WeakMap` and `ArrayBuffer.prototype.transfer` (ES2024).
 *
 * @module
 */
/** Buffers handed out whole (from offset 0) as one chunk, with that chunk's length. */
const received = new WeakMap<ArrayBufferLike, number>();

type Transferable = ArrayBufferLike & { transfer?: (length: number) => ArrayBuffer };

/**
 * Marks `chunk` (a view from offset 0 of a buffer allocated for it alone) as a received chunk
 * that {@link releaseWritten} may free; returns it.
 *
 * @example
 * ```ts
 * controller.enqueue(markReceived(buf.subarray(0, n)));
 * ```
 */
export function markReceived(chunk: Uint8Array): Uint8Array {
  if (chunk.byteOffset === 0 && chunk.byteLength > 0) received.set(chunk.buffer, chunk.byteLength);
  return chunk;
}

/**
 * Marks `chunk` like {@link markReceived}, but only when it provably is the one view of its
 * buffer: from offset 0 and exactly as long as the buffer (a slice of a shared pool is shorter
 * than its pool). For chunks made by code we do not own (a TLS library's output), which must
 * hand each such buffer out once and never touch it again; returns `chunk`.
 *
 * @example
 * ```ts
 * writer.write(markWhole(encrypted)); // the Conn frees it once sent
 * ```
 */
export function markWhole(chunk: Uint8Array): Uint8Array {
  if (chunk.byteOffset === 0 && chunk.byteLength > 0 && chunk.buffer.byteLength === chunk.byteLength) {
    received.set(chunk.buffer, chunk.byteLength);
  }
  return chunk;
}

/**
 * Frees the memory of `chunk` now if it is exactly a chunk marked by {@link markReceived}
 * (same buffer, offset 0, same length); otherwise does nothing. Call only once the bytes
 * are sent and nothing refers to the chunk any more: afterwards its length reads 0.
 *
 * @example
 * ```ts
 * socket.write(chunk); // copied out
 * releaseWritten(chunk);
 * ```
 */
export function releaseWritten(chunk: Uint8Array): void {
  const buffer: Transferable = chunk.buffer;
  if (chunk.byteOffset !== 0 || chunk.byteLength === 0 || received.get(buffer) !== chunk.byteLength) return;
  received.delete(buffer);
  // detaching drops the backing store at once; the new zero-length buffer costs nothing
  if (typeof buffer.transfer === "function") buffer.transfer(0);
}
