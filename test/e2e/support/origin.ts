import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";

export interface Origin {
  readonly port: number;
  close(): Promise<void>;
}

/** Deterministic bytes: byte i of any download is a function of i only, so any slice can be checked. */
export function patternBlock(): Uint8Array {
  const block = new Uint8Array(1 << 20);
  for (let i = 0; i < block.length; i++) block[i] = (i * 131 + (i >>> 8)) & 0xff;
  return block;
}

/**
 * A small origin on 127.0.0.1. Routes:
 * - `/hello` → "hello from origin"
 * - `/bytes?size=N` → N pattern bytes with Content-Length (streamed, not buffered)
 * - `/echo` → the request method, path and headers as JSON (what the proxy forwarded)
 */
export function startOrigin(tls?: { certPem: string; keyPem: string }): Promise<Origin> {
  const block = patternBlock();
  const handler: http.RequestListener = (req, res) => {
    const url = new URL(req.url ?? "/", "http://origin");
    if (url.pathname === "/hello") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("hello from origin");
    } else if (url.pathname === "/bytes") {
      const size = Number(url.searchParams.get("size") ?? "0");
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(size) });
      let sent = 0;
      const pump = () => {
        while (sent < size) {
          const n = Math.min(block.length, size - sent);
          sent += n;
          if (!res.write(block.subarray(0, n))) {
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      pump();
    } else if (url.pathname === "/echo") {
      const chunks: Uint8Array[] = [];
      req.on("data", (c: Uint8Array) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.stringify({
          method: req.method,
          url: req.url,
          headers: req.headers,
          bodyLength: chunks.reduce((n, c) => n + c.byteLength, 0),
        });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(body);
      });
    } else {
      res.writeHead(404);
      res.end("not found");
    }
  };
  const server = tls ? https.createServer({ cert: tls.certPem, key: tls.keyPem }, handler) : http.createServer(handler);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}
