/// <reference types="bun-types" />
import { lookup as dnsLookup } from "node:dns/promises";
import type { Socket } from "bun";
import { refusingInvalidAlpn } from "../../core/alpn.ts";
import type { Conn } from "../../core/conn.ts";
import type { DialOptions, Listener, ListenOptions, Runtime } from "../../core/runtime.ts";
import { openNodeDatagram } from "../node-dgram/datagram-socket.ts";
import { settleFlushes } from "../flushing.ts";
import { processStats } from "../process-stats.ts";
import { BunSocketConn, handlers } from "./socket-conn.ts";
import { bunSplice } from "./splice.ts";
import { bunTls } from "./tls.ts";

/** Seconds an admin API connection may stay idle (no request, or one that stopped arriving). */
const HTTP_IDLE_SECONDS = 30;

/** The Bun adapter: native `Bun.listen` / `Bun.connect` sockets behind the core's `Conn`. */
export const bunRuntime: Runtime = {
  name: "bun",
  version: Bun.version,
  tls: refusingInvalidAlpn(bunTls),
  splice: bunSplice,
  // node:tls sessions (TLS inside TLS) ended in order, still handing on their last bytes
  settle: settleFlushes,
  process: processStats,
  openDatagram: openNodeDatagram,

  listen(options: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener> {
    // bun-types list `reusePort` for connect only; Bun.listen honours it (SO_REUSEPORT)
    const reuse: { reusePort: boolean } = { reusePort: options.reusePort ?? false };
    const server = Bun.listen<BunSocketConn>({
      ...reuse,
      hostname: options.hostname,
      port: options.port,
      allowHalfOpen: true,
      socket: {
        ...handlers,
        open(socket: Socket<BunSocketConn>) {
          const conn = new BunSocketConn(socket, { address: server.hostname, port: server.port });
          socket.data = conn;
          onConn(conn);
        },
      },
    });
    return Promise.resolve({
      address: { address: server.hostname, port: server.port },
      close: () => {
        server.stop(false);
        return Promise.resolve();
      },
    });
  },

  async dial(options: DialOptions): Promise<Conn> {
    options.signal?.throwIfAborted();
    let conn: BunSocketConn | undefined;
    const connecting = Bun.connect<BunSocketConn>({
      hostname: options.address,
      port: options.port,
      allowHalfOpen: true,
      socket: {
        ...handlers,
        open(socket: Socket<BunSocketConn>) {
          conn = new BunSocketConn(socket, { address: socket.localAddress ?? "", port: socket.localPort ?? 0 });
          socket.data = conn;
        },
        connectError() {
          // the promise rejects with the error
        },
      },
    });
    const signal = options.signal;
    if (!signal) {
      await connecting;
    } else {
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
      });
      try {
        await Promise.race([connecting, aborted]);
      } catch (e) {
        // a late connect must not leak a socket
        connecting.then((s) => s.terminate(), () => {});
        throw e;
      } finally {
        if (onAbort) signal.removeEventListener("abort", onAbort);
      }
    }
    if (!conn) throw new Error("Connection closed before it opened");
    return conn;
  },

  serveHttp(options, fetch): Promise<Listener> {
    // A connection idle this long is closed (a client that never finishes its request, or
    // keeps a connection it does not use, holds no descriptor for good); not while its
    // request is being answered, and a Server-Sent Event stream stays open as long as the
    // client reads it.
    const server = Bun.serve({
      hostname: options.hostname,
      port: options.port,
      idleTimeout: HTTP_IDLE_SECONDS,
      async fetch(request, self) {
        self.timeout(request, 0); // an answer may take long (a PUT /policy waiting for a reload)
        const response = await fetch(request);
        if (!response.headers.get("content-type")?.startsWith("text/event-stream")) self.timeout(request, HTTP_IDLE_SECONDS);
        return response;
      },
    });
    return Promise.resolve({
      address: { address: server.hostname ?? options.hostname, port: server.port ?? options.port },
      close: async () => {
        await server.stop(true);
      },
    });
  },

  async lookup(name: string): Promise<string[]> {
    const records = await dnsLookup(name, { all: true, order: "ipv4first" });
    return records.map((r) => r.address);
  },
};
