/**
 * `parents.<name>.forwardedFor`: a parent proxy (here a small recording proxy on 127.0.0.1)
 * learns each flow's client address in `X-Forwarded-For`: on the CONNECT of a tunnel, on
 * the CONNECT of a decrypted session's upstream connection (which is then not pooled for
 * another client), and on a forwarded http:// request in place of any the client wrote. A
 * parent without it learns nothing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { tempDir } from "../helpers/temp-dir.ts";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";

/** A parent proxy that records every request head: CONNECTs are tunnelled to 127.0.0.1, other requests answered "ok". */
async function recordingParent(): Promise<{ port: number; heads: string[]; close(): Promise<void> }> {
  const heads: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    let got = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      for (;;) {
        const end = got.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = got.subarray(0, end).toString("latin1");
        got = got.subarray(end + 4);
        heads.push(head);
        const m = /^CONNECT [^ ]+:(\d+) /.exec(head);
        if (m) {
          s.off("data", onData);
          const up = net.connect(Number(m[1]), "127.0.0.1", () => {
            s.write("HTTP/1.1 200 Connection Established\r\n\r\n");
            if (got.length) up.write(got);
            s.pipe(up).pipe(s);
          });
          up.on("error", () => s.destroy());
          return;
        }
        s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }
    };
    s.on("data", onData);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    heads,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

const xff = (head: string) => head.split("\r\n").filter((l) => /^x-forwarded-for:/i.test(l)).map((l) => l.slice(l.indexOf(":") + 1).trim());

describe("X-Forwarded-For to parent proxies (forwardedFor)", { timeout: 90_000 }, () => {
  let pki: TestPki;
  let origin: Origin;
  let parent: Awaited<ReturnType<typeof recordingParent>>;
  let gw: GatewayProcess;
  let gatewayCa: string;
  let config: { parents: Record<string, Record<string, unknown>> } & Record<string, unknown>;

  before(async () => {
    const work = tempDir("tollgate-xff-");
    pki = makeTestPki(["origin.test", "secure.test", "quiet.test"]);
    origin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
    parent = await recordingParent();
    const [cmd, ...args] = cliCommand();
    execFileSync(cmd!, [...args, "ca", "init", "--out", join(work, "ca")], { encoding: "utf8" });
    gatewayCa = join(work, "ca", "ca.pem");
    config = {
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      ca: { cert: gatewayCa, key: join(work, "ca", "ca.key") },
      interception: { upstreamCaFiles: [pki.caFile] },
      parents: {
        told: { url: `http://127.0.0.1:${parent.port}`, forwardedFor: true },
        quiet: { url: `http://127.0.0.1:${parent.port}` },
      },
      policy: {
        defaultAction: "deny",
        defaultParent: "told",
        rules: [
          { id: "inspect", hosts: ["secure.test"], action: "allow", decryption: "decrypt" },
          { id: "quiet", hosts: ["quiet.test"], action: "allow", parent: "quiet" },
          { id: "others", hosts: [".test"], action: "allow" },
        ],
      },
      addressGuard: { allow: ["127.0.0.0/8"] },
    };
    gw = await startGateway(config);
  });

  after(async () => {
    const graceful = await gw?.stop();
    await parent?.close();
    await origin?.close();
    assert.equal(graceful, true);
  });

  it("a tunnel's CONNECT carries the client's address; a parent without forwardedFor gets none", async () => {
    const r = await curl(["-sS", "-x", `http://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, `https://origin.test:${origin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from origin");
    const connect = parent.heads.find((h) => h.startsWith(`CONNECT origin.test:${origin.port} `));
    assert.ok(connect, parent.heads.join("\n---\n"));
    assert.deepEqual(xff(connect), ["127.0.0.1"]);
    const quiet = await curl(["-sS", "-x", `http://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, `https://quiet.test:${origin.port}/hello`]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.deepEqual(xff(parent.heads.find((h) => h.startsWith("CONNECT quiet.test:"))!), []);
  });

  it("a forwarded http:// request carries the client's address, not the one it claimed", async () => {
    const claims = ["X-Forwarded-For: 198.51.100.7", "Forwarded: for=198.51.100.7", "X-Real-IP: 198.51.100.7"].flatMap((h) => ["-H", h]);
    const r = await curl(["-sS", "-x", `http://127.0.0.1:${gw.port}`, ...claims, "http://plain.test/x"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "ok");
    const get = parent.heads.find((h) => h.startsWith("GET http://plain.test/x "));
    assert.ok(get, parent.heads.join("\n---\n"));
    assert.deepEqual(xff(get), ["127.0.0.1"], "the client's own X-Forwarded-For is not passed on");
    assert.doesNotMatch(get, /198\.51\.100\.7/, "nor any other field in which it named an address");
  });

  it("a decrypted session's upstream connection is not reused for another client", async () => {
    for (const from of ["127.0.0.1", "127.0.0.2"]) {
      const r = await curl(["-sS", "--interface", from, "-x", `http://127.0.0.1:${gw.port}`, "--cacert", gatewayCa, `https://secure.test:${origin.port}/hello`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "hello from origin");
      // the session has ended (its upstream connection went idle) before the next client comes
      await gw.waitForFlow((f) => f.type === "flow" && f.host === "secure.test" && String(f.client).startsWith(`${from}:`));
    }
    const connects = parent.heads.filter((h) => h.startsWith(`CONNECT secure.test:${origin.port} `));
    assert.deepEqual(connects.map((h) => xff(h)[0]), ["127.0.0.1", "127.0.0.2"], "one CONNECT per client, each naming it");
  });

  it("a reload that turns forwardedFor off holds for a client's connection opened before it", async () => {
    // one keep-alive connection to the gateway: a request, the reload, another request
    const sock = net.connect(gw.port, "127.0.0.1");
    await new Promise<void>((r) => sock.once("connect", r));
    let got = "";
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => (got += d));
    const ask = async (path: string) => {
      const before = (got.match(/\r\n\r\nok/g) ?? []).length;
      sock.write(`GET http://plain.test${path} HTTP/1.1\r\nHost: plain.test\r\n\r\n`);
      const until = Date.now() + 5000;
      while ((got.match(/\r\n\r\nok/g) ?? []).length === before && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    };
    await ask("/before");
    writeFileSync(gw.configFile!, JSON.stringify({ ...config, parents: { ...config.parents, told: { ...config.parents["told"], forwardedFor: false } } }));
    assert.match(await gw.reload(), /SIGHUP: config reloaded/);
    await ask("/after");
    sock.destroy();
    assert.deepEqual(xff(parent.heads.find((h) => h.startsWith("GET http://plain.test/before "))!), ["127.0.0.1"]);
    const after = parent.heads.find((h) => h.startsWith("GET http://plain.test/after "));
    assert.ok(after, parent.heads.join("\n---\n"));
    assert.deepEqual(xff(after), [], "not sent once the reload turned it off");
  });
});
