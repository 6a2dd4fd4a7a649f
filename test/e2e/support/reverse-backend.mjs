// A backend for the reverse-proxy e2e tests, run with Node:
//   node reverse-backend.mjs NAME [CERT KEY [CLIENT_CA]]
// Plain HTTP without CERT/KEY; HTTPS with them; with CLIENT_CA it requires a client
// certificate signed by it (mutual TLS). Prints its port on stdout. Routes:
//   /bytes?size=N  N pattern bytes (byte i = (i*131 + (i>>>8)) & 255 within each MiB block)
//   /upload        the request body's SHA-256 and length as JSON
//   /slow          never answers
//   /healthz       200 "ok" (or 503 after a POST /sick)
//   /sick          POST: the health check fails from now on
//   /ws            WebSocket echo (Upgrade)
//   anything else  JSON: backend name, method, url, headers, client certificate CN, peer port
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";

const [name, cert, key, clientCa] = process.argv.slice(2);
const block = Buffer.alloc(1 << 20);
for (let i = 0; i < block.length; i++) block[i] = (i * 131 + (i >>> 8)) & 0xff;
let sick = false;

const handler = (req, res) => {
  const url = new URL(req.url ?? "/", "http://backend");
  if (url.pathname === "/bytes") {
    const size = Number(url.searchParams.get("size") ?? "0");
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(size), "x-backend": name });
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const n = Math.min(block.length, size - sent);
        sent += n;
        if (!res.write(block.subarray(0, n))) return void res.once("drain", pump);
      }
      res.end();
    };
    return pump();
  }
  if (url.pathname === "/upload") {
    const h = createHash("sha256");
    let length = 0;
    req.on("data", (c) => {
      h.update(c);
      length += c.length;
    });
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "x-backend": name });
      res.end(JSON.stringify({ sha256: h.digest("hex"), length }));
    });
    return;
  }
  if (url.pathname === "/slow") return; // never answers
  if (url.pathname === "/healthz") {
    res.writeHead(sick ? 503 : 200, { "content-type": "text/plain" });
    return void res.end(sick ? "sick" : "ok");
  }
  if (url.pathname === "/sick") {
    sick = true;
    res.writeHead(200);
    return void res.end("now sick");
  }
  req.resume();
  req.on("end", () => {
    const peer = typeof req.socket.getPeerCertificate === "function" ? req.socket.getPeerCertificate() : undefined;
    const body = JSON.stringify({
      backend: name,
      method: req.method,
      url: req.url,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      clientCert: peer && peer.subject ? peer.subject.CN : null,
      // which connection carried the request (the gateway's port): reuse shows as the same one
      peerPort: req.socket.remotePort,
    });
    res.writeHead(200, { "content-type": "application/json", "x-backend": name, "x-internal": "secret" });
    res.end(body);
  });
};

const server = cert
  ? https.createServer({ cert: readFileSync(cert), key: readFileSync(key), ...(clientCa ? { ca: readFileSync(clientCa), requestCert: true, rejectUnauthorized: true } : {}) }, handler)
  : http.createServer(handler);

server.on("upgrade", (req, socket) => {
  const accept = createHash("sha1").update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Backend: ${name}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  socket.on("data", (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      const op = buf[0] & 0x0f;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      }
      const masked = (buf[1] & 0x80) !== 0;
      if (buf.length < off + (masked ? 4 : 0) + len) return;
      const mask = masked ? buf.subarray(off, off + 4) : null;
      off += masked ? 4 : 0;
      const payload = Buffer.from(buf.subarray(off, off + len));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      buf = buf.subarray(off + len);
      const head = len < 126 ? Buffer.from([0x80 | op, len]) : Buffer.from([0x80 | op, 126, len >> 8, len & 0xff]);
      socket.write(Buffer.concat([head, payload]));
      if (op === 8) socket.end();
    }
  });
  socket.on("end", () => socket.end()); // the client went away: close our side too
  socket.on("error", () => {});
});

server.keepAliveTimeout = 30_000;
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
process.on("SIGTERM", () => process.exit(0));
