// A WebSocket client through an HTTP proxy (CONNECT), over TLS, run with Node:
//   node ws-client.mjs PROXY_PORT HOST PORT CA_FILE MESSAGE
// Prints the echoed message and exits 0, or prints the error and exits 1.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";

const [proxyPort, host, port, caFile, message] = process.argv.slice(2);
const fail = (why) => { console.error(String(why)); process.exit(1); };
setTimeout(() => fail("timeout"), 15000).unref();
const raw = net.connect(Number(proxyPort), "127.0.0.1", () => raw.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`));
raw.on("error", fail);
let head = "";
raw.on("data", function onHead(d) {
  head += d.toString("latin1");
  if (!head.includes("\r\n\r\n")) return;
  raw.off("data", onHead);
  if (!/^HTTP\/1\.1 200/.test(head)) fail(`CONNECT refused: ${head.split("\r\n")[0]}`);
  const s = tls.connect({ socket: raw, servername: host, ca: readFileSync(caFile), ALPNProtocols: ["http/1.1"] }, () => {
    s.write(`GET /chat HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
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
});
