/**
 * Small probes for TLS handshake tests: a real ClientHello to send by hand, how a promise
 * came out within a time limit, and whether a connection ended.
 *
 * @module
 */
import { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import type { Conn } from "../../src/core/conn.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** "rejected" or "resolved" once `p` settles, "pending" after `ms`. */
export function outcome(p: Promise<unknown>, ms: number): Promise<"rejected" | "resolved" | "pending"> {
  return Promise.race([p.then(() => "resolved" as const, () => "rejected" as const), sleep(ms).then(() => "pending" as const)]);
}

/** A real ClientHello (SNI origin.test), made by node:tls over an in-memory Duplex. */
export function clientHello(caPem: string): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const d = new Duplex({
      read() {},
      write(c: Uint8Array, _e, cb) {
        resolve(new Uint8Array(c));
        cb();
      },
    });
    const cli = tlsConnect({ socket: d, servername: "origin.test", ca: caPem });
    cli.on("error", () => {});
    setTimeout(() => cli.destroy(), 50);
  });
}

/** Whether `conn`'s readable ends (EOF or error) within `ms`, dropping what it reads. */
export async function ends(conn: Conn, ms: number): Promise<boolean> {
  const r = conn.readable.getReader();
  const until = Date.now() + ms;
  for (;;) {
    const left = until - Date.now();
    if (left <= 0) return false;
    const x = await Promise.race([r.read().catch(() => ({ done: true as const, value: undefined })), sleep(left).then(() => undefined)]);
    if (x === undefined) return false;
    if (x.done) return true;
  }
}
