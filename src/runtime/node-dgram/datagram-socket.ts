/**
 * `DatagramSocket` over `node:dgram`, which Bun, Deno and Node all implement: one adapter for
 * the UDP the core needs (DNS queries), instead of three native ones for a few packets.
 *
 * @module
 */
import dgram from "node:dgram";
import type { Datagram, DatagramSocket } from "../../core/datagram.ts";

/** Datagrams queued for a slow reader before new ones are dropped. */
const QUEUED_DATAGRAMS = 64;

/**
 * A UDP socket on a fresh ephemeral port (RFC 5452: a new source port per exchange makes
 * answers hard to forge), connected to `address:port`. Connected, the kernel reports a closed
 * port (Bun and Node do; Deno's `node:dgram` does not), so a resolver can move on at once.
 *
 * @example
 * ```ts
 * const socket = await openNodeDatagram("10.0.0.53", 53);
 * await socket.send(query);
 * for await (const { data, address, port } of socket.readable) { … }
 * ```
 */
export async function openNodeDatagram(address: string, port: number): Promise<DatagramSocket> {
  const socket = dgram.createSocket({ type: address.includes(":") ? "udp6" : "udp4" });
  let closed = false;
  let controller!: ReadableStreamDefaultController<Datagram>;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      controller.close();
    } catch {
      // already closed or errored
    }
    try {
      socket.close();
    } catch {
      // already closed
    }
  };
  const readable = new ReadableStream<Datagram>(
    {
      start(c) {
        controller = c;
      },
      cancel: close,
    },
    { highWaterMark: QUEUED_DATAGRAMS },
  );
  socket.on("message", (msg: Uint8Array, rinfo: { address: string; port: number }) => {
    if (closed || (controller.desiredSize ?? 0) <= 0) return;
    controller.enqueue({ data: new Uint8Array(msg), address: rinfo.address, port: rinfo.port });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.connect(port, address, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    close();
    throw e;
  }
  socket.on("error", (e: Error) => {
    if (closed) return;
    try {
      controller.error(e);
    } catch {
      // already errored
    }
  });
  return {
    readable,
    close,
    send(data) {
      if (closed) return Promise.reject(new Error("datagram socket is closed"));
      return new Promise<void>((resolve, reject) => socket.send(data, (e) => (e ? reject(e) : resolve())));
    },
  };
}
