/**
 * Stops Deno's `node:tls` from copying every encrypted chunk it sends over a JavaScript stream.
 *
 * Over a Duplex (how the Deno adapter runs `node:tls`: conn-duplex.ts), Deno's TLS socket asks
 * its Rust `TLSWrap` for what it encrypted (`drainEncOut()`, a fresh `Uint8Array` per call) and
 * writes `new Uint8Array(thatChunk)` to the Duplex — a copy (ext/node/polyfills/internal_binding/
 * tls_wrap.ts, Deno 2.9.6). The Duplex frees the copy once it is sent (received-chunk.ts); the
 * original, one or more 16 KiB records allocated outside V8's heap, waits for a garbage
 * collection. During a bulk decrypted download that is 20–40 MB of dead buffers at any moment,
 * most of the 55–62 MiB of RSS a first 1 GiB body added on Deno (14 MiB with this module;
 * `scripts/bench/memory/floor.ts --targets deno-decrypt`).
 *
 * {@link shareEncryptedOutput} wraps `drainEncOut` on the TLSWrap prototype so that it returns
 * the fresh chunk's whole `ArrayBuffer` instead. The same line then builds a view of it, not a
 * copy, and the Duplex frees the one buffer once sent. `drainEncOut` has no other caller, and a
 * chunk that is not a whole buffer of its own (offset 0, as long as its buffer) passes through as
 * it is, copied as before. A Deno without `drainEncOut` (another TLS layer) is left alone.
 *
 * @module
 */

type DrainEncOut = (this: unknown) => unknown;

/** Prototypes whose `drainEncOut` is wrapped already (one per runtime, shared by every socket). */
const wrapped = new WeakSet<object>();

/**
 * Makes the Deno TLS layer under `socket` (a `node:tls` TLSSocket just built over a Duplex) hand
 * its own encrypted buffers to the Duplex instead of copies, for this and every later socket;
 * returns whether the layer is one this applies to (Deno's `TLSWrap` with `drainEncOut`).
 *
 * @example
 * ```ts
 * const socket = new TLSSocket(transport.duplex, { isServer: true, secureContext });
 * shareEncryptedOutput(socket);
 * ```
 */
export function shareEncryptedOutput(socket: object): boolean {
  const handle = (socket as { _handle?: unknown })._handle;
  if (typeof handle !== "object" || handle === null) return false;
  const proto = Object.getPrototypeOf(handle) as Record<string, unknown> | null;
  if (proto === null || typeof proto["drainEncOut"] !== "function") return false;
  if (wrapped.has(proto)) return true;
  const drain = proto["drainEncOut"] as DrainEncOut;
  proto["drainEncOut"] = function drainEncOut(this: unknown): unknown {
    const chunk = drain.call(this);
    return chunk instanceof Uint8Array && chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength
      ? chunk.buffer
      : chunk;
  };
  wrapped.add(proto);
  return true;
}
