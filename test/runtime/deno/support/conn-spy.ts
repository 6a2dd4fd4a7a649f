/**
 * A Conn wrapper for tests of the Deno TLS adapter: passes chunks on unchanged (the same
 * objects, so a test can see whether the adapter freed them) while remembering them.
 *
 * @module
 */
import type { Conn } from "../../../../src/core/conn.ts";

/** A Conn passing chunks on unchanged (same objects) while remembering them. */
export function spy(conn: Conn): { conn: Conn; read: Uint8Array[]; written: Uint8Array[] } {
  const read: Uint8Array[] = [];
  const written: Uint8Array[] = [];
  const writer = conn.writable.getWriter();
  const readable = conn.readable.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        read.push(chunk);
        controller.enqueue(chunk);
      },
    }),
  );
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      written.push(chunk);
      return writer.write(chunk);
    },
    close: () => writer.close(),
    abort: (e) => writer.abort(e),
  });
  return { conn: { readable, writable, remote: conn.remote, local: conn.local, close: () => conn.close() }, read, written };
}
