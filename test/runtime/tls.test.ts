import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as nodeTls from "node:tls";
import type { Conn } from "../../src/core/conn.ts";
import type { Listener, Runtime } from "../../src/core/runtime.ts";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import { TlsValidationError } from "../../src/core/tls.ts";
import type { TlsAcceptOptions, TlsSession } from "../../src/core/tls.ts";
import { connToDuplex } from "../../src/runtime/node-tls/conn-duplex.ts";
import { makeTestPki } from "../e2e/support/certs.ts";
import type { TestPki } from "../e2e/support/certs.ts";
import { currentRuntime, runtimeName } from "../helpers/runtime.ts";
import { flood, pattern, readAll, readSlowly, sha } from "../helpers/bytes.ts";




async function writeAll(conn: Conn, data: Uint8Array, close = true): Promise<void> {
  const w = conn.writable.getWriter();
  for (let o = 0; o < data.byteLength; o += 1 << 20) await w.write(data.subarray(o, o + (1 << 20)));
  if (close) await w.close();
  else w.releaseLock();
}

const text = (s: string) => new TextEncoder().encode(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What one accepted connection came to: the session, or the reason accept rejected. */
type Accepted = { session: TlsSession } | { error: Error };

/** The suite, for one choice of `preferOwnTls` (Deno: `node:tls`, or its own TLS through loopback hops). */
const suite = (ownTls: boolean) => () => {
  let rt: Runtime;
  let pki: TestPki;
  let caPem: string;
  const listeners: Listener[] = [];

  before(async () => {
    rt = await currentRuntime();
    rt.tls.preferOwnTls?.(ownTls);
    pki = makeTestPki();
    caPem = readFileSync(pki.caFile, "utf8");
  });
  after(async () => {
    rt.tls.preferOwnTls?.(false);
    for (const l of listeners) await l.close();
  });

  /**
   * A gateway-like TLS server: accepts TCP through the adapter, reads the first chunk itself
   * (a peeked ClientHello), optionally waits so more bytes queue up in the Conn, then
   * `tls.accept`s with that chunk as `initialData`.
   */
  async function tlsServer(
    onSession: (s: TlsSession) => void | Promise<void>,
    opts: Partial<TlsAcceptOptions> & { waitMs?: number } = {},
  ): Promise<{ port: number; accepted: Promise<Accepted>[] }> {
    const accepted: Promise<Accepted>[] = [];
    const l = await rt.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
      accepted.push((async (): Promise<Accepted> => {
        const reader = conn.readable.getReader();
        const first = await reader.read();
        reader.releaseLock();
        if (first.done) throw new Error("client sent nothing");
        if (opts.waitMs) await sleep(opts.waitMs);
        try {
          const session = await rt.tls.accept(conn, {
            certChainPem: pki.certPem,
            keyPem: pki.keyPem,
            alpn: ["http/1.1"],
            minVersion: "TLSv1.2",
            ...opts,
            initialData: first.value,
          });
          await onSession(session);
          return { session };
        } catch (e) {
          return { error: e as Error };
        }
      })());
    });
    listeners.push(l);
    return { port: l.address.port, accepted };
  }

  /** The server says "ok" and ends: a client that reads it knows both sides finished the handshake. */
  const sayOk = (s: TlsSession) => writeAll(s.conn, text("ok"));
  const readOk = async (c: { conn: Conn }) => {
    assert.equal(new TextDecoder().decode(await readAll(c.conn)), "ok");
    c.conn.close();
  };

  const connectTo = (port: number, extra: Partial<Parameters<Runtime["tls"]["connect"]>[0]> = {}) =>
    rt.tls.connect({
      address: "127.0.0.1",
      port,
      servername: "origin.test",
      extraCaPem: [caPem],
      verify: true,
      alpn: ["http/1.1"],
      minVersion: "TLSv1.2",
      ...extra,
    });

  it("relays 16 MiB byte-identical both ways with half-close, ALPN, SNI and the peer certificate", async () => {
    const payload = pattern(16 * 1024 * 1024);
    const upload = pattern(3 * 1024 * 1024 + 7, 5);
    const srv = await tlsServer(async (s) => {
      // read the whole upload (ends with the client's half-close) while writing the payload
      const writing = writeAll(s.conn, payload, false);
      const got = await readAll(s.conn);
      await writing;
      // our direction is still open after the client's FIN: the answer comes after it
      await writeAll(s.conn, text(`\nupload ${await sha(got)}`));
    });
    const c = await connectTo(srv.port);
    assert.equal(c.alpn, "http/1.1");
    assert.equal(c.servername, "origin.test");
    // "TLSv1.2+" where the runtime does not say (Deno's own TLS)
    assert.match(c.version, /^TLSv1\.[23]\+?$/);
    // the peer certificate only when asked for (an adapter may leave it out otherwise)
    assert.ok(c.peerCertificateDer === null || c.peerCertificateDer[0] === 0x30);
    const sending = writeAll(c.conn, upload);
    const got = await readAll(c.conn);
    await sending;
    const trailer = new TextDecoder().decode(got.subarray(payload.byteLength));
    assert.equal(trailer, `\nupload ${await sha(upload)}`);
    assert.equal(await sha(got.slice(0, payload.byteLength)), await sha(payload));
    const a = await srv.accepted[0]!;
    assert.ok("session" in a, "accept failed");
    assert.equal(a.session.alpn, "http/1.1");
    assert.equal(a.session.servername, "origin.test");
    assert.equal(a.session.conn.remote.address, "127.0.0.1");
  });

  it("gives the peer certificate when asked for it", async () => {
    const srv = await tlsServer(sayOk);
    const c = await connectTo(srv.port, { peerCertificate: true });
    assert.ok(c.peerCertificateDer && c.peerCertificateDer.byteLength > 100);
    assert.equal(c.peerCertificateDer[0], 0x30);
    await readOk(c);
  });

  it("connects over an open connection (a tunnel), native or not, byte-identical", async () => {
    const payload = pattern(4 * 1024 * 1024 + 3, 9);
    const srv = await tlsServer((s) => writeAll(s.conn, payload));
    // the adapter's own TCP connection: upgraded in place where the runtime can
    const tcp = await rt.dial({ address: "127.0.0.1", port: srv.port });
    const c = await connectTo(srv.port, { over: tcp });
    assert.equal(c.alpn, "http/1.1");
    assert.equal(c.servername, "origin.test");
    assert.ok(c.peerCertificateDer && c.peerCertificateDer[0] === 0x30);
    assert.equal(await sha(await readAll(c.conn)), await sha(payload));
    c.conn.close();
    // an in-memory Conn bridged to TCP: the portable path
    const [near, far] = memoryConnPair();
    const tcp2 = await rt.dial({ address: "127.0.0.1", port: srv.port });
    const bridged = Promise.all([far.readable.pipeTo(tcp2.writable), tcp2.readable.pipeTo(far.writable)]).catch(() => {});
    const c2 = await connectTo(srv.port, { over: near });
    assert.equal(c2.alpn, "http/1.1");
    assert.equal(await sha(await readAll(c2.conn)), await sha(payload));
    c2.conn.close();
    tcp2.close();
    await bridged;
  });

  it("over an open connection: a bad certificate or early bytes fail the handshake and close it", async () => {
    const srv = await tlsServer(() => {});
    const tcp = await rt.dial({ address: "127.0.0.1", port: srv.port });
    await assert.rejects(connectTo(srv.port, { over: tcp, servername: "other.test" }), (e: unknown) => {
      assert.ok(e instanceof TlsValidationError, String(e));
      assert.equal(e.code, "ERR_TLS_CERT_ALTNAME_INVALID");
      return true;
    });
    // a peer that speaks first (not a TLS server): no session, the connection is closed
    let seen: Conn | undefined;
    const l = await rt.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
      seen = conn;
      void writeAll(conn, text("220 smtp.example ESMTP\r\n"), false);
    });
    listeners.push(l);
    const talker = await rt.dial({ address: "127.0.0.1", port: l.address.port });
    await sleep(50); // the banner is in
    await assert.rejects(connectTo(l.address.port, { over: talker, signal: AbortSignal.timeout(3000) }));
    assert.ok(seen);
    const r = seen.readable.getReader();
    for (;;) {
      const x = await r.read().catch(() => ({ done: true }));
      if (x.done) break;
    }
    seen.close();
  });

  it("keeps the client's direction open after the server's half-close", async () => {
    const upload = pattern(1024 * 1024 + 3, 9);
    let serverGot = "";
    const srv = await tlsServer(async (s) => {
      await writeAll(s.conn, text("hello")); // FIN (after close_notify) first
      serverGot = await sha(await readAll(s.conn));
    });
    const c = await connectTo(srv.port);
    assert.equal(new TextDecoder().decode(await readAll(c.conn)), "hello");
    await writeAll(c.conn, upload);
    const a = await srv.accepted[0]!;
    assert.ok("session" in a);
    assert.equal(serverGot, await sha(upload));
  });

  it("drains bytes still queued in the Conn after the peeked chunk", async () => {
    const srv = await tlsServer(async (s) => {
      const got = await readAll(s.conn);
      await writeAll(s.conn, text(`echo:${new TextDecoder().decode(got)}`));
    }, { waitMs: 150 });
    // a client whose ClientHello reaches the server in two TCP segments, 40 ms apart
    const tcp = await rt.dial({ address: "127.0.0.1", port: srv.port });
    const tw = tcp.writable.getWriter();
    let first = true;
    const split: Conn = {
      ...tcp,
      readable: tcp.readable,
      close: () => tcp.close(),
      writable: new WritableStream<Uint8Array>({
        async write(chunk) {
          if (first && chunk.byteLength > 10) {
            first = false;
            await tw.write(chunk.slice(0, 10));
            await sleep(40);
            await tw.write(chunk.slice(10));
          } else {
            await tw.write(chunk);
          }
        },
        close: () => tw.close(),
        abort: () => tcp.close(),
      }),
    };
    const client = nodeTls.connect({
      socket: connToDuplex(split).duplex,
      servername: "origin.test",
      ca: caPem,
      ALPNProtocols: ["http/1.1"],
    });
    const reply = await new Promise<string>((resolve, reject) => {
      let out = "";
      client.on("secureConnect", () => client.end("hello through a split ClientHello"));
      client.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
      client.on("end", () => resolve(out));
      client.on("error", reject);
    });
    client.destroy();
    assert.equal(reply, "echo:hello through a split ClientHello");
    const a = await srv.accepted[0]!;
    assert.ok("session" in a);
    assert.equal(a.session.alpn, "http/1.1");
  });

  it("accepts on a Conn that is not a socket (in-memory)", async () => {
    const [server, client] = memoryConnPair();
    const tlsClient = nodeTls.connect({ socket: connToDuplex(client).duplex, servername: "origin.test", ca: caPem, ALPNProtocols: ["http/1.1"] });
    const reply = new Promise<string>((resolve, reject) => {
      let out = "";
      tlsClient.on("secureConnect", () => tlsClient.write("ping"));
      tlsClient.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
      tlsClient.on("end", () => resolve(out));
      tlsClient.on("error", reject);
    });
    const session = await rt.tls.accept(server, {
      certChainPem: pki.certPem,
      keyPem: pki.keyPem,
      alpn: ["http/1.1"],
      minVersion: "TLSv1.2",
    });
    assert.equal(session.alpn, "http/1.1");
    assert.equal(session.servername, "origin.test");
    // (no write after the client's close_notify here: Bun's node:tls over a Duplex cannot)
    const r = session.conn.readable.getReader();
    const got = await r.read();
    r.releaseLock();
    await writeAll(session.conn, text(`pong after ${new TextDecoder().decode(got.value)}`));
    assert.equal(await reply, "pong after ping");
    tlsClient.end();
    tlsClient.destroy();
  });

  it("chooses our first protocol the client offered; accepts a client without ALPN", async () => {
    const srv = await tlsServer(sayOk, { alpn: ["http/1.1", "h2"] });
    const c = await connectTo(srv.port, { alpn: ["h2", "http/1.1"] });
    assert.equal(c.alpn, "http/1.1");
    await readOk(c);
    const none = await connectTo(srv.port, { alpn: [] });
    assert.equal(none.alpn, null);
    await readOk(none);
    const [a, b] = await Promise.all(srv.accepted);
    assert.ok(a && "session" in a && b && "session" in b);
    assert.equal(a.session.alpn, "http/1.1");
    assert.equal(b.session.alpn, null);
  });

  it("refuses a client that offers only h2 (no_application_protocol)", async () => {
    const srv = await tlsServer(() => {});
    // the client must get the alert itself, not just a closed connection
    await assert.rejects(connectTo(srv.port, { alpn: ["h2"] }), /no common ALPN protocol \(ours: "h2"\)/);
    const a = await srv.accepted[0]!;
    assert.ok("error" in a, "accept should reject");
    assert.match(a.error.message, /no common ALPN protocol \(ours: "http\/1\.1"\)/);
  });

  it("rejects (and drops the client) when the key does not fit", async () => {
    const srv = await tlsServer(sayOk, { keyPem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" });
    await assert.rejects(connectTo(srv.port));
    const a = await srv.accepted[0]!;
    assert.ok("error" in a, "accept should reject");
  });

  it("honours minVersion on both sides", async () => {
    const srv = await tlsServer(() => {}, { minVersion: "TLSv1.3" });
    const old = nodeTls.connect({ host: "127.0.0.1", port: srv.port, servername: "origin.test", ca: caPem, maxVersion: "TLSv1.2" });
    await new Promise<void>((resolve, reject) => {
      old.on("secureConnect", () => reject(new Error("a TLS 1.2 client got through")));
      old.on("error", () => resolve());
      old.on("close", () => resolve());
    });
    old.destroy();
    const a = await srv.accepted[0]!;
    assert.ok("error" in a);

    const tls12 = nodeTls.createServer({ cert: pki.certPem, key: pki.keyPem, maxVersion: "TLSv1.2" }, (s) => s.end());
    tls12.on("tlsClientError", () => {});
    await new Promise<void>((r) => tls12.listen(0, "127.0.0.1", r));
    const port = (tls12.address() as { port: number }).port;
    try {
      // one extra-CA list, as the config passes it, with both minimums in turn: an adapter
      // that keeps a context per list must keep one per minimum too
      const extraCaPem = [caPem];
      await assert.rejects(connectTo(port, { minVersion: "TLSv1.3", extraCaPem }));
      const ok = await connectTo(port, { minVersion: "TLSv1.2", extraCaPem });
      assert.match(ok.version, /^TLSv1\.2\+?$/);
      ok.conn.close();
      await assert.rejects(connectTo(port, { minVersion: "TLSv1.3", extraCaPem }));
    } finally {
      await new Promise((r) => tls12.close(r));
    }
  });

  it("rejects a certificate for another name, or from an unknown CA, with TlsValidationError", async () => {
    const srv = await tlsServer(() => {});
    await assert.rejects(connectTo(srv.port, { servername: "other.test" }), (e: unknown) => {
      assert.ok(e instanceof TlsValidationError, String(e));
      assert.equal(e.code, "ERR_TLS_CERT_ALTNAME_INVALID");
      assert.match(e.message, /"other\.test"/);
      return true;
    });
    await assert.rejects(connectTo(srv.port, { extraCaPem: [] }), (e: unknown) => {
      assert.ok(e instanceof TlsValidationError, String(e));
      assert.match(e.code, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
      assert.match(e.message, /"origin\.test"/);
      return true;
    });
  });

  it("rejects an expired certificate with CERT_HAS_EXPIRED", async () => {
    // the same key and names, re-signed by the test CA with notAfter one day before notBefore
    execFileSync("openssl", ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
      "-CAcreateserial", "-out", "expired.pem", "-days", "-1", "-extfile", "ext.cnf"], { cwd: pki.dir, stdio: "pipe" });
    const expired = readFileSync(join(pki.dir, "expired.pem"), "utf8");
    const srv = await tlsServer(sayOk, { certChainPem: expired });
    await assert.rejects(connectTo(srv.port), (e: unknown) => {
      assert.ok(e instanceof TlsValidationError, String(e));
      assert.equal(e.code, "CERT_HAS_EXPIRED");
      assert.match(e.message, /"origin\.test"/);
      return true;
    });
    const c = await connectTo(srv.port, { verify: false });
    await readOk(c);
  });

  it("rejects a self-signed certificate with DEPTH_ZERO_SELF_SIGNED_CERT", async () => {
    execFileSync("openssl", ["req", "-x509", "-key", "server.key", "-out", "self.pem", "-days", "2",
      "-subj", "/CN=origin.test", "-addext", "subjectAltName=DNS:origin.test"], { cwd: pki.dir, stdio: "pipe" });
    const self = readFileSync(join(pki.dir, "self.pem"), "utf8");
    const srv = await tlsServer(sayOk, { certChainPem: self });
    await assert.rejects(connectTo(srv.port), (e: unknown) => {
      assert.ok(e instanceof TlsValidationError, String(e));
      assert.equal(e.code, "DEPTH_ZERO_SELF_SIGNED_CERT");
      assert.match(e.message, /"origin\.test" is not trusted: self.signed certificate/);
      return true;
    });
  });

  it("checks an IP-literal name against IP SANs and sends no SNI for it", async () => {
    const srv = await tlsServer(sayOk);
    const c = await connectTo(srv.port, { servername: "127.0.0.1" });
    assert.equal(c.servername, null);
    await readOk(c);
    const a = await srv.accepted[0]!;
    assert.ok("session" in a);
    assert.equal(a.session.servername, null);
    await assert.rejects(connectTo(srv.port, { servername: "127.0.0.2" }), (e: unknown) => {
      assert.ok(e instanceof TlsValidationError, String(e));
      assert.equal(e.code, "ERR_TLS_CERT_ALTNAME_INVALID");
      return true;
    });
  });

  it("accepts anything with verify: false", async () => {
    const srv = await tlsServer(sayOk);
    const c = await connectTo(srv.port, { servername: "other.test", extraCaPem: [], verify: false });
    assert.equal(c.peerCertificateDer?.[0], 0x30);
    await readOk(c);
  });

  it("aborts a connect whose server never answers", async () => {
    let seen: Conn | undefined;
    const l = await rt.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => (seen = conn));
    listeners.push(l);
    const ac = new AbortController();
    const p = connectTo(l.address.port, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error("gave up")), 100);
    await assert.rejects(p, /gave up/);
    await sleep(20);
    assert.ok(seen, "the TCP connection was made");
    const r = seen.readable.getReader();
    // the client went away: its hello, then the end of the stream (FIN or reset)
    for (;;) {
      const x = await r.read().catch(() => ({ done: true }));
      if (x.done) break;
    }
    seen.close();
  });

  it("aborts an accept whose client never finishes the handshake", async () => {
    const srv = await tlsServer(() => {}, { signal: AbortSignal.timeout(100) });
    const c = await rt.dial({ address: "127.0.0.1", port: srv.port });
    const w = c.writable.getWriter();
    await w.write(Uint8Array.of(0x16, 0x03, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0xfc, 0x03, 0x03)); // a hello's start
    w.releaseLock();
    const a = await srv.accepted[0]!;
    assert.ok("error" in a);
    assert.equal(a.error.name, "TimeoutError");
    // the server dropped us
    const r = c.readable.getReader();
    for (;;) {
      const x = await r.read().catch(() => ({ done: true }));
      if (x.done) break;
    }
    c.close();
  });

  it("a session ended in order (writable.close() then close()) still delivers everything to a slow client", async () => {
    const size = 8 << 20;
    let closedAt = 0;
    const { port } = await tlsServer(async (s) => {
      await writeAll(s.conn, pattern(size)); // then close_notify and FIN
      s.conn.close(); // as the flows end a connection: not a reset, what is on its way still goes
      closedAt = performance.now();
    });
    const c = await connectTo(port);
    // the server is done writing long before this client has read it all
    const { got, lastAt } = await readSlowly(c.conn, 2);
    c.conn.close();
    assert.ok(closedAt > 0 && lastAt > closedAt, "the server closed while the client was still reading");
    assert.equal(got, size);
  });

  it("applies backpressure through TLS: a client that does not read stalls the server", async () => {
    let written = 0;
    // what stalls is the socket buffers in the path: ~8.5 MiB with node:tls on Deno, ~17 MiB
    // through Deno's own TLS (each side adds a loopback hop's two sockets, loopback-hop.ts)
    const total = 128 * 1024 * 1024;
    const srv = await tlsServer((s) => flood(s.conn, total, (n) => (written = n)));
    const c = await connectTo(srv.port);
    const reader = c.conn.readable.getReader();
    const first = await reader.read();
    assert.ok(!first.done);
    await sleep(500);
    assert.ok(written < 40 * 1024 * 1024, `server wrote ${written} bytes to a client that does not read`);
    let n = first.value.byteLength;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.byteLength;
    }
    assert.equal(n, total);
    await c.conn.writable.close();
  });

  const sClient = (port: number, alpn: string) =>
    new Promise<string>((resolve) => {
      const child = execFile(
        "openssl",
        ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "origin.test", "-CAfile", pki.caFile,
          "-alpn", alpn, "-verify_return_error"],
        { timeout: 10_000 },
        (_err, stdout, stderr) => resolve(`${stdout}\n${stderr}`),
      );
      child.stdin?.end();
    });

  it("completes a handshake with openssl s_client, and sends it the ALPN alert", async () => {
    const srv = await tlsServer(async (s) => {
      await writeAll(s.conn, text("hello openssl\n"));
    });
    const out = await sClient(srv.port, "http/1.1");
    assert.match(out, /Verify return code: 0 \(ok\)/);
    assert.match(out, /ALPN protocol: http\/1\.1/);
    const a = await srv.accepted[0]!;
    assert.ok("session" in a);
    assert.equal(a.session.servername, "origin.test");
    const refused = await sClient(srv.port, "h2");
    assert.match(refused, /alert no application protocol/);
  });
};

// on Deno both ways a handshake can go; elsewhere preferOwnTls does not exist
for (const ownTls of runtimeName === "deno" ? [false, true] : [false]) {
  describe(`runtime adapter TLS accept + connect${ownTls ? " (Deno's own TLS)" : ""}`, { timeout: 60_000 }, suite(ownTls));
}
