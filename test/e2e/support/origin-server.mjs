// A tiny HTTPS origin, run with Node: node origin-server.mjs CERT KEY [HOST] [PORT] [BODY]
// Listens on HOST:PORT (default 127.0.0.1:0) and prints its port on stdout. Routes:
//   /hello → BODY (default "hello from origin")
//   /peer  → JSON {remote, local}: the TCP addresses of the connection as the origin sees it
//   /headers → JSON: the request's header lines as received (name, value pairs)
import { readFileSync } from "node:fs";
import https from "node:https";

const [cert, key, host = "127.0.0.1", port = "0", body = "hello from origin"] = process.argv.slice(2);
const server = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
  const path = new URL(req.url ?? "/", "https://origin").pathname;
  if (path === "/hello") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(body);
  } else if (path === "/peer") {
    const s = req.socket;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ remote: `${s.remoteAddress}:${s.remotePort}`, local: `${s.localAddress}:${s.localPort}` }));
  } else if (path === "/headers") {
    res.writeHead(200, { "content-type": "application/json" });
    const pairs = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) pairs.push([req.rawHeaders[i].toLowerCase(), req.rawHeaders[i + 1]]);
    res.end(JSON.stringify(pairs));
  } else {
    res.writeHead(404);
    res.end("not found");
  }
});
server.listen(Number(port), host, () => console.log(server.address().port));
process.on("SIGTERM", () => process.exit(0));
