// Benchmark origin: a Node HTTPS server on 127.0.0.1, in its own process so that it is
// the same program whatever runtime runs the gateway or the suite.
//
//   node scripts/bench/origin.mjs --cert server.pem --key server.key
//
// Prints `{"port": N}` as one line on stdout once it listens; exits on SIGTERM/SIGINT or
// when stdin closes (so it never outlives the suite). Routes:
//   /1k            → 1,024 bytes (Content-Length), keep-alive
//   /bytes?size=N  → N bytes (Content-Length), streamed in 1 MiB writes with backpressure
// Keep-alive and request timeouts are off: the idle-connection workload holds 1,000
// connections open without traffic.
import https from "node:https";
import { readFileSync } from "node:fs";

function arg(name) {
  const i = process.argv.indexOf(name);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`missing ${name}`);
  return process.argv[i + 1];
}

const block = Buffer.alloc(1 << 20);
for (let i = 0; i < block.length; i++) block[i] = (i * 131 + (i >>> 8)) & 0xff;
const small = block.subarray(0, 1024);

const server = https.createServer({ cert: readFileSync(arg("--cert")), key: readFileSync(arg("--key")) }, (req, res) => {
  const q = req.url.indexOf("?");
  const path = q < 0 ? req.url : req.url.slice(0, q);
  if (path === "/1k") {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": "1024" });
    res.end(small);
    return;
  }
  if (path === "/bytes") {
    const size = Number(new URLSearchParams(req.url.slice(q + 1)).get("size") ?? "0");
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(size) });
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const n = Math.min(block.length, size - sent);
        sent += n;
        if (!res.write(n === block.length ? block : block.subarray(0, n))) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
    return;
  }
  res.writeHead(404, { "content-length": "0" });
  res.end();
});
server.keepAliveTimeout = 0;
server.requestTimeout = 0;
server.headersTimeout = 0;
server.timeout = 0;
server.maxRequestsPerSocket = 0;
server.on("tlsClientError", () => {});
server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
const quit = () => process.exit(0);
process.on("SIGTERM", quit);
process.on("SIGINT", quit);
process.stdin.on("end", quit);
process.stdin.on("error", quit);
process.stdin.resume();
