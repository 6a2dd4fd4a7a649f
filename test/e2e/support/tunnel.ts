import assert from "node:assert/strict";
import net from "node:net";

/** A CONNECT tunnel through the gateway, after its 200. */
export interface Tunnel {
  readonly socket: net.Socket;
  /** Resolves when the gateway closed the tunnel. */
  readonly closed: Promise<void>;
  isOpen(): boolean;
}

/**
 * Opens a CONNECT tunnel to `host:port` through the gateway at 127.0.0.1:`gatewayPort` and
 * waits for its 200; `headers` go into the request (e.g. `Proxy-Authorization`).
 */
export async function openTunnel(gatewayPort: number, host: string, port: number, headers: Readonly<Record<string, string>> = {}): Promise<Tunnel> {
  const socket = net.connect(gatewayPort, "127.0.0.1");
  let open = true;
  const closed = new Promise<void>((resolve) => socket.on("close", () => ((open = false), resolve())));
  socket.on("error", () => {});
  const fields = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  socket.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n${fields}\r\n`);
  const head = await new Promise<string>((resolve, reject) => {
    let got = "";
    const onData = (b: Buffer) => {
      got += b.toString("latin1");
      if (got.includes("\r\n\r\n")) (socket.off("data", onData), resolve(got));
    };
    socket.on("data", onData);
    closed.then(() => reject(new Error(`closed before the 200: ${JSON.stringify(got)}`)));
  });
  assert.match(head, /^HTTP\/1\.1 200 /);
  return { socket, closed, isOpen: () => open };
}
