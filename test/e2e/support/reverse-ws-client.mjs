// A WebSocket client for a reverse (TLS-terminating) listener, run with Node:
//   node reverse-ws-client.mjs PORT SERVERNAME CA_FILE MESSAGE
// Connects to 127.0.0.1:PORT with SNI SERVERNAME, upgrades GET /ws, sends MESSAGE in a
// masked text frame and prints the echoed payload (exit 0), or prints the error (exit 1).
import { readFileSync } from "node:fs";
import tls from "node:tls";
import { frame, onWebSocket, upgradeRequest } from "./ws-wire.mjs";

const [port, servername, caFile, message] = process.argv.slice(2);
const fail = (why) => {
  console.error(String(why));
  process.exit(1);
};
setTimeout(() => fail("timeout"), 15000).unref();
const s = tls.connect({ host: "127.0.0.1", port: Number(port), servername, ca: readFileSync(caFile), ALPNProtocols: ["http/1.1"] }, () => {
  s.write(upgradeRequest("/ws", `${servername}:${port}`));
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
