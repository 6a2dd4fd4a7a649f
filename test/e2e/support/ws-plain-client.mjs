// A WebSocket client for ws:// through an HTTP proxy in absolute form, run with Node:
//   node ws-plain-client.mjs PROXY_PORT HOST PORT FRAMES FRAME_BYTES
// Sends FRAMES masked binary frames of FRAME_BYTES (< 65536) of varied bytes, all at once,
// checks that the echo comes back byte-identical, then closes (close frame, echoed close,
// the origin's FIN). Prints "echoed N bytes in F frames" and exits 0, or the error and exits 1.
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { frame, onWebSocket, upgradeRequest } from "./ws-wire.mjs";

const [proxyPort, host, port, framesArg, sizeArg] = process.argv.slice(2);
const frames = Number(framesArg);
const size = Number(sizeArg);
const fail = (why) => { console.error(String(why)); process.exit(1); };
setTimeout(() => fail("timeout"), 30000).unref();

const sent = createHash("sha256");
const got = createHash("sha256");
const s = net.connect(Number(proxyPort), "127.0.0.1", () => s.write(upgradeRequest(`http://${host}:${port}/chat`, `${host}:${port}`)));
s.on("error", fail);
let echoed = 0;
let echoedFrames = 0;
let closed = false;

onWebSocket(s, {
  fail,
  onOpen: () => {
    for (let i = 0; i < frames; i++) {
      const payload = randomBytes(size);
      sent.update(payload);
      s.write(frame(2, payload));
    }
  },
  onFrame: (f) => {
    if (f.op === 8) {
      closed = true;
      return;
    }
    got.update(f.payload);
    echoed += f.payload.length;
    echoedFrames += 1;
    if (echoedFrames === frames) s.write(frame(8, Buffer.from([0x03, 0xe8])));
  },
});
s.on("end", () => {
  if (!closed) fail(`connection ended before the close frame (${echoed} bytes echoed)`);
  if (echoedFrames !== frames) fail(`${echoedFrames} of ${frames} frames echoed`);
  if (sent.digest("hex") !== got.digest("hex")) fail("the echo differs from what was sent");
  console.log(`echoed ${echoed} bytes in ${echoedFrames} frames`);
  s.end();
  process.exit(0);
});
