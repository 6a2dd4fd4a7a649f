/**
 * `deno: { ownTls: true }` on a real gateway with real curl: decrypted CONNECT works the same
 * with Deno's own TLS on both sides (loopback hops, src/runtime/deno/loopback-*.ts) — bodies
 * byte-identical both ways, URL rules, a refused origin certificate as a 502 that names the
 * reason, trust that a reload drops, a reload switching the setting, and a shutdown that lets
 * the last bytes of a response reach a slow client. On Bun the setting
 * is ignored and the same checks hold. Only 127.0.0.1.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runtimeName } from "../helpers/runtime.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, patternBlock, startOrigin } from "./support/origin.ts";

const MIB = 1 << 20;

/** The TCP ports process `pid` listens on: its socket inodes found in /proc/net/tcp in state LISTEN. */
function listening(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1).map((l) => l.trim().split(/\s+/))
    .filter((f) => f[3] === "0A" && inodes.has(f[9]!)).map((f) => parseInt(f[1]!.split(":")[1]!, 16));
}

describe("deno.ownTls: decrypted CONNECT on Deno's own TLS (real gateway)", { timeout: 120_000 }, () => {
  let work: string;
  let pki: TestPki;
  let stranger: TestPki;
  let origin: Origin;
  let untrusted: Origin;
  let gw: GatewayProcess;

  const config = (ownTls: boolean, upstreamCaFiles: string[]) => ({
    listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
    ca: { cert: join(work, "ca", "ca.pem"), key: join(work, "ca", "ca.key") },
    interception: { upstreamCaFiles },
    addressGuard: { allow: ["127.0.0.0/8"] },
    dns: { hosts: { "origin.test": ["127.0.0.1"] } },
    policy: {
      defaultAction: "deny",
      rules: [{ id: "inspect", hosts: ["origin.test"], action: "allow", decryption: "decrypt" }],
      urlRules: [{ id: "no-echo-delete", hosts: ["origin.test"], paths: ["/echo"], methods: ["DELETE"], action: "deny" }],
    },
    deno: { ownTls },
  });
  const through = (port: number, path: string, more: string[] = []) =>
    curl(["-x", `http://127.0.0.1:${gw.port}`, "--cacert", join(work, "ca", "ca.pem"), ...more, `https://origin.test:${port}${path}`, "-w", "\n%{http_code}"]);
  const reloadWith = async (c: unknown) => {
    writeFileSync(gw.configFile!, JSON.stringify(c));
    assert.match(await gw.reload(), /config reloaded/);
  };

  before(async () => {
    work = tempDir("tollgate-deno-own-tls-");
    const [cmd, ...args] = cliCommand();
    execFileSync(cmd!, [...args, "ca", "init", "--out", join(work, "ca"), "--cn", "Own TLS test"]);
    pki = makeTestPki(["origin.test"]);
    stranger = makeTestPki(["origin.test"]); // a CA the gateway is never told about
    origin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
    untrusted = await startOrigin({ certPem: stranger.certPem, keyPem: stranger.keyPem });
    gw = await startGateway(config(true, [pki.caFile]));
  });

  after(async () => {
    await gw?.stop();
    await origin?.close();
    await untrusted?.close();
  });

  it("serves requests and applies URL rules", async () => {
    const ok = await through(origin.port, "/hello");
    assert.equal(ok.stdout, "hello from origin\n200", ok.stderr);
    const denied = await through(origin.port, "/echo", ["-X", "DELETE"]);
    assert.match(denied.stdout, /403$/);
    assert.match(denied.stdout, /no-echo-delete/);
    // Deno's own TLS ran: besides its listener the gateway listens on the two loopback hops
    // (the server side's, the upstream side's); Bun has no such thing
    const ports = listening(gw.pid);
    assert.ok(ports.includes(gw.port));
    assert.equal(ports.length, runtimeName === "deno" ? 3 : 1, `listening on ${ports.join(", ")}`);
  });

  it("moves 64 MiB down and 16 MiB up byte-identical", async () => {
    const file = join(work, "down.bin");
    const down = await through(origin.port, `/bytes?size=${64 * MIB}`, ["-o", file]);
    assert.equal(down.code, 0, down.stderr);
    const got = readFileSync(file);
    assert.equal(got.byteLength, 64 * MIB);
    const block = patternBlock();
    for (let off = 0; off < got.byteLength; off += MIB) {
      assert.ok(Buffer.compare(got.subarray(off, off + MIB), block) === 0, `MiB ${off / MIB} differs`);
    }
    const upload = join(work, "up.bin");
    writeFileSync(upload, new Uint8Array(16 * MIB).fill(7));
    const up = await through(origin.port, "/echo", ["--data-binary", `@${upload}`, "-H", "content-type: application/octet-stream"]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(JSON.parse(up.stdout.slice(0, up.stdout.lastIndexOf("\n"))).bodyLength, 16 * MIB);
  });

  it("refuses an origin certificate from an unknown CA with a 502 that names the reason", async () => {
    const r = await through(untrusted.port, "/hello");
    assert.equal(r.code, 56, r.stderr);
    assert.match(r.stderr, /CONNECT tunnel failed, response 502/);
    const f = await gw.waitForFlow((f) => f.host === "origin.test" && f.status === 502);
    assert.match(String(f.error), /certificate|issuer/i);
  });

  it("a CA dropped by a reload is no longer trusted; a reload can turn the setting off and on", async () => {
    await reloadWith(config(true, []));
    const refused = await through(origin.port, "/hello");
    assert.equal(refused.code, 56, "the CA the store was given at start is not trusted any more");
    await reloadWith(config(false, [pki.caFile]));
    assert.equal((await through(origin.port, "/hello")).stdout, "hello from origin\n200");
    await reloadWith(config(true, [pki.caFile]));
    assert.equal((await through(origin.port, "/hello")).stdout, "hello from origin\n200");
  });

  it("a shutdown lets a slow client take all of a response the gateway already sent (last: it stops the gateway)", async () => {
    // 16 MiB at 4 MB/s: SIGTERM comes while the gateway still sends; the response ends in
    // order and the gateway exits once its last bytes, several MiB in the hops' sockets,
    // have gone on to the client
    const file = join(work, "slow.bin");
    const download = through(origin.port, `/bytes?size=${16 * MIB}`, ["-o", file, "--limit-rate", "4M"]);
    await new Promise((r) => setTimeout(r, 1_000));
    const stopped = gw.stop();
    const r = await download;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(file).byteLength, 16 * MIB);
    assert.equal(await stopped, true, "shut down gracefully");
  });
});
