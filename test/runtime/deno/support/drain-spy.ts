/**
 * Records every buffer Deno's `node:tls` layer drains (`drainEncOut` on its TLSWrap
 * prototype, which src/runtime/deno/enc-out.ts wraps), for tests that check the encrypted
 * chunks written to a transport are those buffers and not copies of them.
 *
 * @module
 */
import { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";

/** What {@link spyOnDrainEncOut} returns. */
export interface DrainSpy {
  /** The buffers drained since the spy was installed. */
  readonly drained: WeakSet<ArrayBufferLike>;
  /** Puts the original back, unless something (the adapter's wrapper) wrapped the spy since. */
  restore(): void;
}

/**
 * Installs the spy on the TLSWrap prototype, reached from a socket that never runs; it sits
 * inside or outside the adapter's wrapper, whichever comes first. Throws when the prototype
 * has no `drainEncOut` (another Deno: recheck enc-out.ts).
 */
export function spyOnDrainEncOut(): DrainSpy {
  const probe = new TLSSocket(new Duplex({ read() {}, write: (_c, _e, cb) => cb() }), { isServer: true });
  const proto = Object.getPrototypeOf((probe as unknown as { _handle: object })._handle) as Record<string, unknown>;
  probe.destroy();
  const before = proto["drainEncOut"];
  if (typeof before !== "function") throw new Error("Deno's TLSWrap has no drainEncOut (recheck enc-out.ts)");
  const drained = new WeakSet<ArrayBufferLike>();
  const spyDrain = function (this: unknown): unknown {
    const r = (before as (this: unknown) => unknown).call(this);
    if (r instanceof ArrayBuffer) drained.add(r);
    else if (r instanceof Uint8Array) drained.add(r.buffer);
    return r;
  };
  proto["drainEncOut"] = spyDrain;
  return {
    drained,
    restore: () => {
      if (proto["drainEncOut"] === spyDrain) proto["drainEncOut"] = before;
    },
  };
}
