// A WebSocket client through an HTTP proxy (CONNECT), over TLS, run with Node:
//   node ws-client.mjs PROXY_PORT HOST PORT CA_FILE MESSAGE
// Prints the echoed message and exits 0, or prints the error and exits 1.
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { frame, onWebSocket, upgradeRequest } from "./ws-wire.mjs";

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
    s.write(upgradeRequest("/chat", `${host}:${port}`));
  });
  s.on("error", fail);
  onWebSocket(s, {
    fail,
    onOpen: () => s.write(frame(1, Buffer.from(message))),
    onFrame: (echoed) => {
      console.log(echoed.payload.toString());
      process.exit(0);
    },
  });
});
