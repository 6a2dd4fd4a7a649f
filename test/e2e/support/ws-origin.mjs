// A minimal WebSocket echo origin, run with Node: node ws-origin.mjs [CERT KEY]
// Over TLS with CERT and KEY, plain HTTP without. Prints its port on stdout.
// Echoes every text/binary frame back; answers close with close.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { frame, readFrame } from "./ws-wire.mjs";

const [cert, key] = process.argv.slice(2);
const refuse = (_req, res) => {
  res.writeHead(426, { "content-type": "text/plain" });
  res.end("websocket only");
};
const server = cert ? https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, refuse) : http.createServer(refuse);
server.on("upgrade", (req, socket) => {
  const accept = createHash("sha1").update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  socket.on("data", (d) => {
    buf = Buffer.concat([buf, d]);
    for (let f = readFrame(buf); f; f = readFrame(buf)) {
      buf = f.rest;
      socket.write(frame(f.op, f.payload, { masked: false }));
      if (f.op === 8) socket.end();
    }
  });
  socket.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
process.on("SIGTERM", () => process.exit(0));
