// Benchmark load generator, in its own process (Node): HTTPS requests to the bench origin,
// directly, through an explicit proxy (CONNECT; `sconnect`: over TLS to an HTTPS proxy
// listener, trusting --proxy-ca, the proxy's certificate checked for 127.0.0.1), a SOCKS5 listener (`socks`: no auth,
// greeting and request sent at once, the name resolved by the gateway) or a transparent
// listener (TLS with SNI to the gateway port). Prints one JSON result line on stdout.
//
//   node scripts/bench/load.mjs <mode> --port P [--via direct|connect|sconnect|socks|transparent] [--proxy-ca file]
//        [--authority host:port] [--servername name] [--ca file] [--cpu-pid PID] …
//
// Modes:
//   download   one GET /bytes?size=--size; → {bytes, seconds, cpuTicks}
//   newconn    --concurrency workers, each request a fresh TCP (+ CONNECT) + TLS + GET /1k
//              (Connection: close) for --seconds; → {requests, errors, seconds, p50Ms, p99Ms, cpuTicks}
//   keepalive  --concurrency persistent connections, GET /1k back to back for --seconds;
//              → {requests, errors, seconds, cpuTicks} (connection set-up is outside the window);
//              with --post-bytes N, each request is a POST /1k carrying N bytes (head and body
//              in one write, as HTTP clients send small bodies)
//   idle       opens --count connections (each: TLS + one GET /1k, then silent), prints
//              {"ready": n, "errors": e}, holds them until stdin closes or SIGTERM
//
// cpuTicks is the utime+stime of --cpu-pid (the gateway) consumed during the measured
// window, read from /proc/PID/stat (clock ticks).
import net from "node:net";
import tls from "node:tls";
import { readFileSync } from "node:fs";

const mode = process.argv[2];
const opt = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
};
const port = Number(opt("port"));
const via = opt("via", "direct");
const authority = opt("authority", `origin.test:${port}`);
const servername = opt("servername", "origin.test");
const ca = opt("ca") ? readFileSync(opt("ca")) : undefined;
// the authority the client believes it talks to (the gateway checks Host against the
// CONNECT target or the SNI): the CONNECT target, else the name and the port dialled
const hostHeader = via === "connect" || via === "sconnect" || via === "socks" ? authority : `${servername}:${port}`;
const proxyCa = opt("proxy-ca") ? readFileSync(opt("proxy-ca")) : undefined;
const cpuPid = opt("cpu-pid") ? Number(opt("cpu-pid")) : undefined;
const concurrency = Number(opt("concurrency", "50"));
const seconds = Number(opt("seconds", "10"));
const postBody = Buffer.alloc(Number(opt("post-bytes", "0")), 0x61);

function cpuTicks() {
  if (cpuPid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${cpuPid}/stat`, "latin1");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
  } catch {
    return NaN;
  }
}

/**
 * TCP to the gateway, `request` written at once; resolves with the paused socket once
 * `answered(bytes so far)` returns the offset where the tunnel's bytes begin (it returns
 * undefined while the answer is incomplete, and throws on a refusal).
 */
function openTunnel(request, answered) {
  return new Promise((resolve, reject) => {
    const s = via === "sconnect"
      ? tls.connect({ port, host: "127.0.0.1", ca: proxyCa, ALPNProtocols: ["http/1.1"] })
      : net.connect({ port, host: "127.0.0.1", noDelay: true });
    let got = Buffer.alloc(0);
    const onData = (d) => {
      got = Buffer.concat([got, d]);
      let start;
      try {
        start = answered(got);
      } catch (e) {
        return fail(e);
      }
      if (start === undefined) return;
      s.off("data", onData);
      s.off("error", fail);
      s.on("error", () => {}); // the TLS socket on top reports failures
      s.pause();
      if (start < got.length) s.unshift(got.subarray(start));
      resolve(s);
    };
    const fail = (e) => {
      s.destroy();
      reject(e);
    };
    s.on("data", onData);
    s.once("error", fail);
    s.once(via === "sconnect" ? "secureConnect" : "connect", () => s.write(request));
  });
}

/** CONNECT authority; the tunnel once `200` arrived. */
function connectTunnel() {
  return openTunnel(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`, (head) => {
    const end = head.indexOf("\r\n\r\n");
    if (end < 0) {
      if (head.length > 8192) throw new Error("CONNECT answer head too large");
      return undefined;
    }
    const status = head.subarray(0, head.indexOf("\r\n")).toString("latin1");
    if (!/^HTTP\/1\.[01] 200/.test(status)) throw new Error(`CONNECT refused: ${status}`);
    return end + 4;
  });
}

/** SOCKS5 greeting (no auth) and CONNECT request by name at once; the tunnel after reply 0. */
function socksTunnel() {
  const colon = authority.lastIndexOf(":");
  const name = Buffer.from(authority.slice(0, colon));
  const destPort = Number(authority.slice(colon + 1));
  const ask = Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 3, name.length]), name, Buffer.from([destPort >> 8, destPort & 0xff])]);
  return openTunnel(ask, (got) => {
    if (got.length < 12) return undefined; // method choice (2) + reply with an IPv4 bound address (10)
    if (got[1] !== 0 || got[3] !== 0) throw new Error(`SOCKS5 refused: method ${got[1]}, reply ${got[3]}`);
    return 12;
  });
}

/** A TLS connection to the origin (directly, through a CONNECT or SOCKS5 tunnel, or via a transparent listener). */
async function openTls() {
  const socket = via === "connect" || via === "sconnect" ? await connectTunnel() : via === "socks" ? await socksTunnel() : undefined;
  return new Promise((resolve, reject) => {
    const opts = { servername, ca, ALPNProtocols: ["http/1.1"] };
    const t = socket ? tls.connect({ ...opts, socket }) : tls.connect({ ...opts, port, host: "127.0.0.1" });
    t.setNoDelay?.(true);
    t.on("error", () => {}); // errors surface through get() or the handshake below
    t.once("secureConnect", () => {
      t.off("error", onError);
      resolve(t);
    });
    const onError = (e) => {
      t.destroy();
      reject(e);
    };
    t.once("error", onError);
  });
}

/**
 * Sends one GET and resolves with {status, bytes} when the whole body (Content-Length)
 * arrived. The socket's data listener is installed per request (one request at a time).
 */
function get(sock, path, close = false, body = undefined) {
  return new Promise((resolve, reject) => {
    let head = null;
    let pending = Buffer.alloc(0);
    let status = 0;
    let length = 0;
    let got = 0;
    const done = (err, value) => {
      sock.off("data", onData);
      sock.off("error", onError);
      sock.off("close", onClose);
      err ? reject(err) : resolve(value);
    };
    const onData = (d) => {
      if (head === null) {
        pending = pending.length ? Buffer.concat([pending, d]) : d;
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) return;
        head = pending.subarray(0, end).toString("latin1");
        status = Number(head.slice(9, 12));
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (!m) return done(new Error(`no content-length in response: ${head.split("\r\n")[0]}`));
        length = Number(m[1]);
        got = pending.length - end - 4;
        pending = null;
      } else {
        got += d.length;
      }
      if (got >= length) done(null, { status, bytes: got });
    };
    const onError = (e) => done(e);
    const onClose = () => done(new Error("connection closed before the response ended"));
    sock.on("data", onData);
    sock.on("error", onError);
    sock.on("close", onClose);
    const connection = close ? "Connection: close\r\n" : "";
    if (body === undefined) sock.write(`GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\n${connection}\r\n`);
    else sock.write(Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\n${connection}Content-Length: ${body.length}\r\n\r\n`, "latin1"), body]));
  });
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] : NaN;
}

async function download() {
  const size = Number(opt("size"));
  const cpu0 = cpuTicks();
  const t0 = performance.now();
  const s = await openTls();
  const r = await get(s, `/bytes?size=${size}`);
  const secs = (performance.now() - t0) / 1000;
  const cpu1 = cpuTicks();
  s.destroy();
  if (r.status !== 200 || r.bytes !== size) throw new Error(`download: status ${r.status}, ${r.bytes} of ${size} bytes`);
  return { bytes: r.bytes, seconds: secs, cpuTicks: cpu1 - cpu0 };
}

async function newconn() {
  const latencies = [];
  let errors = 0;
  let firstError;
  const cpu0 = cpuTicks();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const start = performance.now();
      let s;
      try {
        s = await openTls();
        const r = await get(s, "/1k", true);
        if (r.status !== 200 || r.bytes !== 1024) throw new Error(`status ${r.status}, ${r.bytes} bytes`);
        latencies.push(performance.now() - start);
      } catch (e) {
        errors++;
        firstError ??= String(e?.message ?? e);
        await new Promise((r) => setTimeout(r, 10));
      } finally {
        s?.destroy();
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const secs = (performance.now() - t0) / 1000;
  const cpu1 = cpuTicks();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors, firstError, seconds: secs, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), cpuTicks: cpu1 - cpu0 };
}

async function keepalive() {
  const socks = [];
  for (let i = 0; i < concurrency; i++) {
    const s = await openTls();
    await get(s, "/1k"); // warm: the tunnel / leaf / upstream connection exist before the window
    socks.push(s);
  }
  let requests = 0;
  let errors = 0;
  let firstError;
  const cpu0 = cpuTicks();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(socks.map(async (s) => {
    while (performance.now() < deadline) {
      try {
        const r = await get(s, "/1k", false, postBody.length > 0 ? postBody : undefined);
        if (r.status !== 200 || r.bytes !== 1024) throw new Error(`status ${r.status}, ${r.bytes} bytes`);
        requests++;
      } catch (e) {
        errors++;
        firstError ??= String(e?.message ?? e);
        return;
      }
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  const cpu1 = cpuTicks();
  for (const s of socks) s.destroy();
  return { requests, errors, firstError, seconds: secs, cpuTicks: cpu1 - cpu0 };
}

async function idle() {
  const count = Number(opt("count", "1000"));
  const socks = [];
  let errors = 0;
  let firstError;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      try {
        const s = await openTls();
        await get(s, "/1k");
        s.on("error", () => {});
        socks.push(s);
      } catch (e) {
        errors++;
        firstError ??= String(e?.message ?? e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  process.stdout.write(JSON.stringify({ ready: socks.length, errors, firstError }) + "\n");
  await new Promise((resolve) => {
    process.stdin.on("end", resolve);
    process.stdin.on("error", resolve);
    process.on("SIGTERM", resolve);
    process.stdin.resume();
  });
  for (const s of socks) s.destroy();
  return undefined;
}

const modes = { download, newconn, keepalive, idle };
if (!modes[mode]) {
  console.error(`usage: load.mjs ${Object.keys(modes).join("|")} --port P …`);
  process.exit(2);
}
try {
  const result = await modes[mode]();
  if (result !== undefined) process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
} catch (e) {
  console.error(`load.mjs ${mode}: ${e?.stack ?? e}`);
  process.exit(1);
}
