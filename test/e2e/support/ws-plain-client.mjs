// A WebSocket client for ws:// through an HTTP proxy in absolute form, run with Node:
//   node ws-plain-client.mjs PROXY_PORT HOST PORT FRAMES FRAME_BYTES
// Sends FRAMES masked binary frames of FRAME_BYTES (< 65536) of varied bytes, all at once,
// checks that the echo comes back byte-identical, then closes (close frame, echoed close,
// the origin's FIN). Prints "echoed N bytes in F frames" and exits 0, or the error and exits 1.
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";

const [proxyPort, host, port, framesArg, sizeArg] = process.argv.slice(2);
const frames = Number(framesArg);
const size = Number(sizeArg);
const fail = (why) => { console.error(String(why)); process.exit(1); };
setTimeout(() => fail("timeout"), 30000).unref();

const sent = createHash("sha256");
const got = createHash("sha256");
const s = net.connect(Number(proxyPort), "127.0.0.1", () => {
  s.write(`GET http://${host}:${port}/chat HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
});
s.on("error", fail);
let buf = Buffer.alloc(0);
let upgraded = false;
let echoed = 0;
let echoedFrames = 0;
let closed = false;

function frame(op, payload) {
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]));
  const head = payload.length < 126 ? Buffer.from([0x80 | op, 0x80 | payload.length]) : Buffer.from([0x80 | op, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, mask, masked]);
}

s.on("data", (d) => {
  buf = Buffer.concat([buf, d]);
  if (!upgraded) {
    const end = buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    const status = buf.subarray(0, end).toString("latin1").split("\r\n")[0];
    if (!/ 101 /.test(status)) fail(`no upgrade: ${status}`);
    upgraded = true;
    buf = buf.subarray(end + 4);
    for (let i = 0; i < frames; i++) {
      const payload = randomBytes(size);
      sent.update(payload);
      s.write(frame(0x2, payload));
    }
  }
  for (;;) {
    if (buf.length < 2) return;
    const op = buf[0] & 0x0f;
    let len = buf[1] & 0x7f;
    let off = 2;
    if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
    if (buf.length < off + len) return;
    const payload = buf.subarray(off, off + len);
    buf = buf.subarray(off + len);
    if (op === 0x8) { closed = true; continue; }
    got.update(payload);
    echoed += len;
    echoedFrames += 1;
    if (echoedFrames === frames) s.write(frame(0x8, Buffer.from([0x03, 0xe8])));
  }
});
s.on("end", () => {
  if (!closed) fail(`connection ended before the close frame (${echoed} bytes echoed)`);
  if (echoedFrames !== frames) fail(`${echoedFrames} of ${frames} frames echoed`);
  if (sent.digest("hex") !== got.digest("hex")) fail("the echo differs from what was sent");
  console.log(`echoed ${echoed} bytes in ${echoedFrames} frames`);
  s.end();
  process.exit(0);
});
