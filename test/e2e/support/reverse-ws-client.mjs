// A WebSocket client for a reverse (TLS-terminating) listener, run with Node:
//   node reverse-ws-client.mjs PORT SERVERNAME CA_FILE MESSAGE
// Connects to 127.0.0.1:PORT with SNI SERVERNAME, upgrades GET /ws, sends MESSAGE in a
// masked text frame and prints the echoed payload (exit 0), or prints the error (exit 1).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import tls from "node:tls";

const [port, servername, caFile, message] = process.argv.slice(2);
const fail = (why) => {
  console.error(String(why));
  process.exit(1);
};
setTimeout(() => fail("timeout"), 15000).unref();
const s = tls.connect({ host: "127.0.0.1", port: Number(port), servername, ca: readFileSync(caFile), ALPNProtocols: ["http/1.1"] }, () => {
  s.write(`GET /ws HTTP/1.1\r\nHost: ${servername}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
});
s.on("error", fail);
let buf = Buffer.alloc(0);
let upgraded = false;
s.on("data", (d) => {
  buf = Buffer.concat([buf, d]);
  if (!upgraded) {
    const end = buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    const status = buf.subarray(0, end).toString("latin1").split("\r\n")[0];
    if (!/ 101 /.test(status)) fail(`no upgrade: ${status}`);
    upgraded = true;
    buf = buf.subarray(end + 4);
    const payload = Buffer.from(message);
    const mask = randomBytes(4);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]));
    s.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
  }
  if (upgraded && buf.length >= 2) {
    const len = buf[1] & 0x7f;
    if (buf.length < 2 + len) return;
    console.log(buf.subarray(2, 2 + len).toString());
    process.exit(0);
  }
});
