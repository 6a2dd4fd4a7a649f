/**
 * Integrity: 1 GiB through each flow of a gateway process, in both directions, with the
 * SHA-256 computed at both ends (by the origin, and by this script as the client's side).
 *
 * Flows: CONNECT tunnel (decryption exception), decrypted CONNECT, transparent splice,
 * transparent decrypt, plain-HTTP forwarding. Directions: download (GET, Content-Length
 * response) and upload (PUT, chunked request body from curl -T -).
 *
 * The bytes do not repeat (a xorshift stream re-seeded per MiB), so a lost, duplicated or
 * reordered chunk changes the hash. The origin is a Node program (the same whatever runtime
 * the gateway runs on); the client is the real curl.
 *
 *   bun scripts/integrity/one-gib.ts --runtime bun|deno [--size-mib 1024] [--flows tunnel,decrypt,tsplice,tdecrypt,http] [--directions download,upload]
 *
 * Exit code 1 when any hash differs or a transfer fails. Linux (uses /proc for RSS).
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { makeTestPki } from "../../test/e2e/support/certs.ts";
import { rssKiB } from "../bench/decrypt-memory.ts";

const root = new URL("../../", import.meta.url).pathname;
const bin = join(root, "node_modules/.bin");
const MIB = 1 << 20;

/** The non-repeating stream (same code in the origin program below): 1 MiB blocks, xorshift32 seeded per block. */
function fillBlock(k: number, out: Uint32Array): void {
  let x = (Math.imul(k + 1, 2654435761) >>> 0) || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x;
  }
}

const ORIGIN = String.raw`
import http from "node:http";
import https from "node:https";
import { createHash } from "node:crypto";
const cfg = JSON.parse(process.env.ORIGIN_CONFIG);
const MIB = 1 << 20;
function fillBlock(k, out) {
  let x = (Math.imul(k + 1, 2654435761) >>> 0) || 1;
  for (let i = 0; i < out.length; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; out[i] = x; }
}
const handler = (req, res) => {
  const url = new URL(req.url, "http://origin");
  if (req.method === "PUT") {
    const h = createHash("sha256");
    let n = 0;
    req.on("data", (c) => { h.update(c); n += c.length; });
    req.on("end", () => { res.writeHead(200, { "content-type": "application/json" }); res.end(JSON.stringify({ bytes: n, sha256: h.digest("hex") })); });
    return;
  }
  const size = Number(url.searchParams.get("size"));
  const h = createHash("sha256");
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(size), "x-id": url.searchParams.get("id") ?? "" });
  const words = new Uint32Array(MIB / 4);
  const bytes = new Uint8Array(words.buffer);
  let k = 0;
  let sent = 0;
  const pump = () => {
    while (sent < size) {
      fillBlock(k++, words);
      const n = Math.min(MIB, size - sent);
      const chunk = Buffer.from(bytes.subarray(0, n)); // a copy: the block is refilled next round
      h.update(chunk);
      sent += n;
      if (!res.write(chunk)) return void res.once("drain", pump);
    }
    res.end(() => process.stdout.write(JSON.stringify({ id: url.searchParams.get("id"), bytes: sent, sha256: h.digest("hex") }) + "\n"));
  };
  pump();
};
const servers = { https: https.createServer({ cert: cfg.cert, key: cfg.key }, handler), http: http.createServer(handler) };
const ports = {};
for (const [name, s] of Object.entries(servers)) { await new Promise((r) => s.listen(0, "127.0.0.1", r)); ports[name] = s.address().port; }
process.stdout.write(JSON.stringify(ports) + "\n");
`;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

interface Lines {
  readonly lines: Record<string, unknown>[];
  wait(pred: (l: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
}

/** Collects JSON lines from a child's stdout. */
function jsonLines(child: ChildProcess): Lines {
  const lines: Record<string, unknown>[] = [];
  let buf = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (d: string) => {
    buf += d;
    const parts = buf.split("\n");
    buf = parts.pop() ?? "";
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        // not JSON
      }
    }
  });
  return {
    lines,
    async wait(pred, timeoutMs) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines.find(pred);
        if (hit) return hit;
        if (Date.now() > end) throw new Error("timed out waiting for a line");
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

function gatewayArgv(runtime: string): string[] {
  if (runtime === "deno") return [join(bin, "deno"), "run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys", join(root, "src/bin/deno.ts")];
  return [join(bin, "bun"), join(root, "src/bin/bun.ts")];
}

interface Result {
  readonly flow: string;
  readonly direction: string;
  readonly bytes: number;
  readonly clientSha: string;
  readonly originSha: string;
  readonly seconds: number;
  readonly peakRssMiB: number;
  readonly error?: string;
}

/** Runs curl; the body it prints is hashed here (download), or what it uploads is generated here (upload). */
function runCurl(args: readonly string[], upload: number | undefined, timeoutMs: number): Promise<{ code: number; sha: string; bytes: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn("curl", ["-sS", "--noproxy", "", ...args], { stdio: [upload === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    const h = createHash("sha256");
    let bytes = 0;
    let stdout = "";
    let stderr = "";
    const kill = setTimeout(() => c.kill("SIGKILL"), timeoutMs);
    c.stdout!.on("data", (d: Uint8Array) => {
      if (upload === undefined) {
        h.update(d);
        bytes += d.byteLength;
      } else stdout += String(d);
    });
    c.stderr!.on("data", (d) => (stderr += String(d)));
    if (upload !== undefined) {
      const words = new Uint32Array(MIB / 4);
      const view = new Uint8Array(words.buffer);
      let k = 0;
      let sent = 0;
      const stdin = c.stdin!;
      stdin.on("error", () => {});
      const pump = () => {
        while (sent < upload) {
          fillBlock(k++, words);
          const n = Math.min(MIB, upload - sent);
          const chunk = Buffer.from(view.subarray(0, n));
          h.update(chunk);
          sent += n;
          bytes = sent;
          if (!stdin.write(chunk)) return void stdin.once("drain", pump);
        }
        stdin.end();
      };
      pump();
    }
    c.on("close", (code) => {
      clearTimeout(kill);
      resolve({ code: code ?? -1, sha: h.digest("hex"), bytes, stdout, stderr });
    });
  });
}

async function main(): Promise<number> {
  const runtime = arg("--runtime", "bun");
  if (runtime !== "bun" && runtime !== "deno") throw new RangeError(`Unknown runtime "${runtime}"`);
  const size = Number(arg("--size-mib", "1024")) * MIB;
  const flows = arg("--flows", "tunnel,decrypt,tsplice,tdecrypt,http").split(",");
  const directions = arg("--directions", "download,upload").split(",");
  const work = mkdtempSync(join(tmpdir(), "tollgate-integrity-"));
  const pki = makeTestPki(["origin.test", "inspect.test"]);
  const children: ChildProcess[] = [];
  const results: Result[] = [];
  try {
    const origin = spawn("node", ["--input-type=module", "-e", ORIGIN], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ORIGIN_CONFIG: JSON.stringify({ cert: pki.certPem, key: pki.keyPem }) } });
    children.push(origin);
    const originOut = jsonLines(origin);
    const ports = (await originOut.wait(() => true, 15_000)) as { https: number; http: number };

    const [cmd, ...cli] = gatewayArgv(runtime);
    execFileSync(cmd!, [...cli, "ca", "init", "--out", join(work, "ca")], { stdio: "ignore" });
    const gwCa = join(work, "ca", "ca.pem");
    const configFile = join(work, "config.json");
    writeFileSync(configFile, JSON.stringify({
      listeners: [
        { name: "explicit", mode: "explicit", listen: "127.0.0.1:0" },
        { name: "tproxy", mode: "transparent", listen: "127.0.0.1:0", upstreamPort: ports.https },
      ],
      ca: { cert: join(work, "ca", "ca.pem"), key: join(work, "ca", "ca.key") },
      interception: { upstreamCaFiles: [pki.caFile] },
      policy: { defaultAction: "deny", rules: [
        { id: "inspect", hosts: ["inspect.test"], action: "allow", decryption: "decrypt" },
        { id: "origin", hosts: ["origin.test"], action: "allow" },
      ] },
      dns: { hosts: { "origin.test": ["127.0.0.1"], "inspect.test": ["127.0.0.1"] } },
      addressGuard: { allow: ["127.0.0.0/8"] },
      log: { flows: "stdout" },
    }));
    const gw = spawn(cmd!, [...cli, "serve", "--config", configFile], { stdio: ["ignore", "pipe", "pipe"], cwd: root, env: { ...process.env, TOLLGATE_CONFIG: "" } });
    children.push(gw);
    jsonLines(gw);
    const listening = await new Promise<string>((resolve, reject) => {
      let err = "";
      const t = setTimeout(() => reject(new Error(`gateway did not start:\n${err}`)), 30_000);
      gw.stderr!.setEncoding("utf8");
      gw.stderr!.on("data", (d: string) => {
        err += d;
        if (/listening .*\n/.test(err)) {
          clearTimeout(t);
          resolve(err);
        }
      });
      gw.once("exit", () => reject(new Error(`gateway exited:\n${err}`)));
    });
    const explicit = Number(/explicit=\S*:(\d+)/.exec(listening)?.[1]);
    const tproxy = Number(/tproxy=\S*:(\d+)/.exec(listening)?.[1]);
    const proxy = ["-x", `http://127.0.0.1:${explicit}`];
    const target: Record<string, (path: string) => string[]> = {
      tunnel: (p) => [...proxy, "--cacert", pki.caFile, `https://origin.test:${ports.https}${p}`],
      decrypt: (p) => [...proxy, "--cacert", gwCa, `https://inspect.test:${ports.https}${p}`],
      tsplice: (p) => ["--resolve", `origin.test:${tproxy}:127.0.0.1`, "--cacert", pki.caFile, `https://origin.test:${tproxy}${p}`],
      tdecrypt: (p) => ["--resolve", `inspect.test:${tproxy}:127.0.0.1`, "--cacert", gwCa, `https://inspect.test:${tproxy}${p}`],
      http: (p) => [...proxy, `http://origin.test:${ports.http}${p}`],
    };
    console.log(`gateway on ${runtime} (pid ${gw.pid}), ${size / MIB} MiB per transfer, SHA-256 at both ends`);
    console.log("flow       direction       MiB  equal  sha256 (client = origin)                                           MB/s  peak RSS MiB");
    for (const flow of flows) {
      const url = target[flow];
      if (!url) throw new RangeError(`Unknown flow "${flow}"`);
      for (const direction of directions) {
        const id = `${flow}-${direction}`;
        let peak = rssKiB(gw.pid!) ?? 0;
        const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(gw.pid!) ?? 0)), 200);
        const t0 = performance.now();
        const r = direction === "download"
          ? await runCurl(["-o", "-", ...url(`/bytes?size=${size}&id=${id}`)], undefined, 600_000)
          : await runCurl(["-T", "-", ...url(`/upload?id=${id}`)], size, 600_000);
        const seconds = (performance.now() - t0) / 1000;
        clearInterval(sampler);
        let originSha = "";
        let error: string | undefined;
        if (r.code !== 0) error = `curl exit ${r.code}: ${r.stderr.trim()}`;
        else if (direction === "download") {
          originSha = String((await originOut.wait((l) => l.id === id, 10_000)).sha256);
        } else {
          const answer = JSON.parse(r.stdout) as { bytes: number; sha256: string };
          originSha = answer.sha256;
          if (answer.bytes !== size) error = `origin received ${answer.bytes} bytes`;
        }
        if (r.bytes !== size && !error) error = `client ${direction === "download" ? "received" : "sent"} ${r.bytes} bytes`;
        const res: Result = { flow, direction, bytes: r.bytes, clientSha: r.sha, originSha, seconds, peakRssMiB: peak / 1024, ...(error ? { error } : {}) };
        results.push(res);
        const equal = !error && res.clientSha === res.originSha;
        console.log(`${flow.padEnd(10)} ${direction.padEnd(9)} ${(r.bytes / MIB).toFixed(0).padStart(9)}  ${equal ? "yes" : "NO "}    ${r.sha.slice(0, 64)}  ${(r.bytes / 1e6 / seconds).toFixed(0).padStart(5)}  ${res.peakRssMiB.toFixed(0).padStart(12)}${error ? `  ${error}` : equal ? "" : `  origin: ${res.originSha}`}`);
      }
    }
  } finally {
    for (const c of children.reverse()) {
      if (c.exitCode === null) c.kill("SIGTERM");
      await new Promise<void>((r) => {
        if (c.exitCode !== null) return r();
        const t = setTimeout(() => c.kill("SIGKILL"), 5000);
        c.once("exit", () => {
          clearTimeout(t);
          r();
        });
      });
    }
    rmSync(work, { recursive: true, force: true });
    rmSync(pki.dir, { recursive: true, force: true });
  }
  const bad = results.filter((r) => r.error !== undefined || r.clientSha !== r.originSha);
  console.log(`\n${results.length - bad.length}/${results.length} transfers byte-identical on ${runtime}`);
  return bad.length === 0 && results.length > 0 ? 0 : 1;
}

process.exitCode = await main();
