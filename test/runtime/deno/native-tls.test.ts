import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import type { Conn } from "../../../src/core/conn.ts";
import type { Listener, Runtime } from "../../../src/core/runtime.ts";
import type { TlsAcceptOptions, TlsConnectOptions, TlsSession } from "../../../src/core/tls.ts";
import { loopbackListenerPorts } from "../../../src/runtime/deno/loopback-tls.ts";
import { DenoTcpConn } from "../../../src/runtime/deno/tcp-conn.ts";
import { makeTestPki, type TestPki } from "../../e2e/support/certs.ts";
import { readAll } from "../../helpers/bytes.ts";
import { currentRuntime, runtimeName } from "../../helpers/runtime.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (s: string) => new TextEncoder().encode(s);
const fds = () => readdirSync("/proc/self/fd").length;

/** Whether a process holds the TCP socket from 127.0.0.1:`local` to 127.0.0.1:`remote` (/proc/net/tcp; an orphan has inode 0). */
function socketHeld(local: number, remote: number): boolean {
  const hex = (port: number) => `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return readFileSync("/proc/net/tcp", "utf8").split("\n").some((line) => {
    const f = line.trim().split(/\s+/);
    return f[1] === hex(local) && f[2] === hex(remote) && f[9] !== "0";
  });
}

/**
 * Deno's own TLS behind loopback hops (loopback-tls.ts, native-connect.ts), seen from the
 * adapter's interface with real sockets: what the generic suite (test/runtime/tls.test.ts)
 * cannot tell apart from `node:tls`.
 */
describe("Deno's own TLS for plain handshakes, deno.ownTls (loopback-tls.ts, native-connect.ts)", { skip: runtimeName === "deno" ? undefined : "Deno only", timeout: 60_000 }, () => {
  let rt: Runtime;
  let first: TestPki;
  let second: TestPki;
  const listeners: Listener[] = [];

  before(async () => {
    rt = await currentRuntime();
    rt.tls.preferOwnTls?.(true);
    first = makeTestPki(["rotate.test"]);
    second = makeTestPki(["rotate.test"]);
  });
  after(async () => {
    rt.tls.preferOwnTls?.(false);
    for (const l of listeners) await l.close();
    for (const p of [first, second]) rmSync(p.dir, { recursive: true, force: true });
  });

  /** Sessions the servers below accepted, and whether each ran on Deno's own TLS. */
  const sessions: { native: boolean }[] = [];

  /** A server answering each session with `hello from <name>`, keyed as `keyed()` says at the time. */
  async function server(keyed: () => Pick<TlsAcceptOptions, "certChainPem" | "keyPem">): Promise<number> {
    const l = await rt.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
      void (async () => {
        try {
          const s = await rt.tls.accept(conn, { ...keyed(), alpn: ["http/1.1"], minVersion: "TLSv1.2" });
          // node:tls sessions come as a Duplex-backed conn, Deno's own as a DenoTcpConn
          sessions.push({ native: s.conn instanceof DenoTcpConn });
          await say(s, `hello from ${s.servername}`);
        } catch {
          conn.close();
        }
      })();
    });
    listeners.push(l);
    return l.address.port;
  }

  async function say(s: TlsSession, what: string): Promise<void> {
    const w = s.conn.writable.getWriter();
    await w.write(text(what));
    await w.close();
    await readAll(s.conn);
  }

  /** Versions of the client sessions made, "TLSv1.2+" when on Deno's own TLS. */
  const versions: string[] = [];

  async function fetchHello(port: number, pki: TestPki, more: Partial<TlsConnectOptions> = {}): Promise<string> {
    const c = await rt.tls.connect({
      address: "127.0.0.1",
      port,
      servername: "rotate.test",
      verify: true,
      extraCaPem: [readFileSync(pki.caFile, "utf8")],
      alpn: ["http/1.1"],
      minVersion: "TLSv1.2",
      ...more,
    });
    versions.push(c.version);
    const closing = c.conn.writable.getWriter().close();
    const got = new TextDecoder().decode(await readAll(c.conn));
    await closing;
    c.conn.close();
    return got;
  }

  it("takes Deno's own TLS on both sides for a plain handshake, node:tls where it must", async () => {
    const port = await server(() => ({ certChainPem: first.certPem, keyPem: first.keyPem }));
    sessions.length = versions.length = 0;
    assert.equal(await fetchHello(port, first), "hello from rotate.test");
    assert.deepEqual(sessions, [{ native: true }]);
    assert.deepEqual(versions, ["TLSv1.2+"]);
    // the caller wants the server's certificate: node:tls, which gives it
    assert.equal(await fetchHello(port, first, { peerCertificate: true }), "hello from rotate.test");
    assert.deepEqual(sessions, [{ native: true }, { native: true }]);
    assert.match(versions[1]!, /^TLSv1\.[23]$/);
  });

  it("serves a name the certificate it has now, not the one Deno cached for it", async () => {
    let current = first;
    const port = await server(() => ({ certChainPem: current.certPem, keyPem: current.keyPem }));
    assert.equal(await fetchHello(port, first), "hello from rotate.test");
    current = second; // a renewed leaf for the same name
    assert.equal(await fetchHello(port, second), "hello from rotate.test");
    await assert.rejects(fetchHello(port, first), "the old certificate is no longer served");
    current = first; // and back
    assert.equal(await fetchHello(port, first), "hello from rotate.test");
  });

  it("a stray client asking a listener for a name first does not keep the name from being served", async () => {
    const poisoned = makeTestPki(["poisoned.test"]);
    try {
      const port = await server(() => ({ certChainPem: poisoned.certPem, keyPem: poisoned.keyPem }));
      await fetchHello(port, first).catch(() => {}); // a listener exists from here on
      const ca = readFileSync(poisoned.caFile, "utf8");
      // another local process talks to the loopback listeners directly, for a name not served yet
      for (const listener of loopbackListenerPorts()) {
        const tcp = await Deno.connect({ hostname: "127.0.0.1", port: listener });
        const tls = await Deno.startTls(tcp, { hostname: "poisoned.test", caCerts: [ca] });
        await assert.rejects(tls.handshake());
        tls.close();
      }
      assert.ok(loopbackListenerPorts().length > 0);
      sessions.length = 0;
      const c = await rt.tls.connect({ address: "127.0.0.1", port, servername: "poisoned.test", verify: true, extraCaPem: [ca], alpn: ["http/1.1"], minVersion: "TLSv1.2" });
      c.conn.writable.getWriter().close().catch(() => {});
      assert.equal(new TextDecoder().decode(await readAll(c.conn)), "hello from poisoned.test");
      assert.deepEqual(sessions, [{ native: true }]);
      c.conn.close();
    } finally {
      rmSync(poisoned.dir, { recursive: true, force: true });
    }
  });

  it("a session ended in order gives the client's socket back, also when the client never closes its TCP", async () => {
    const port = await server(() => ({ certChainPem: first.certPem, keyPem: first.keyPem }));
    // the client's TCP goes through a middle that passes bytes both ways but not the client's FIN
    const middle = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const clientTcp = await Deno.connect({ hostname: "127.0.0.1", port: middle.addr.port });
    const near = await middle.accept();
    const far = await Deno.connect({ hostname: "127.0.0.1", port });
    middle.close();
    const farPort = (far.localAddr as Deno.NetAddr).port;
    void (async () => {
      const b = new Uint8Array(65536);
      for (;;) {
        const n = await near.read(b).catch(() => null);
        if (n === null) break;
        await far.write(b.subarray(0, n));
      }
    })();
    void (async () => {
      const b = new Uint8Array(65536);
      for (;;) {
        const n = await far.read(b).catch(() => null);
        if (n === null) return;
        await near.write(b.subarray(0, n)).catch(() => {});
      }
    })();
    sessions.length = 0;
    const tls = await Deno.startTls(clientTcp, { hostname: "rotate.test", caCerts: [readFileSync(first.caFile, "utf8")] });
    await tls.handshake();
    await tls.closeWrite(); // close_notify; the TCP FIN stops at the middle
    const got: string[] = [];
    const b = new Uint8Array(100);
    for (;;) {
      const n = await tls.read(b).catch(() => null);
      if (n === null) break;
      got.push(new TextDecoder().decode(b.subarray(0, n)));
    }
    assert.equal(got.join(""), "hello from rotate.test");
    assert.deepEqual(sessions, [{ native: true }]);
    // the client stays silent and keeps its TCP open: the gateway closes its socket anyway
    // (left to the kernel as an orphan, inode 0), as node:tls's path does
    let open = socketHeld(port, farPort);
    for (let i = 0; i < 30 && open; i++) {
      await sleep(100);
      open = socketHeld(port, farPort);
    }
    assert.equal(open, false, "the gateway's socket to the client is closed");
    for (const c of [tls, near, far]) {
      try {
        c.close();
      } catch {
        // closed
      }
    }
  });

  it("a server that closes its TCP without close_notify ends the stream, as node:tls takes it", async () => {
    const server = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: first.certPem, key: first.keyPem });
    const middle = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      void (async () => {
        const s = await server.accept();
        await s.handshake();
        await s.write(text("hello, then a cut"));
        await sleep(1_000); // its close_notify would come later: the middle cuts before
        s.close();
      })().catch(() => {});
      // the middle passes the handshake and the data on, then closes the client's TCP
      void (async () => {
        const c = await middle.accept();
        const s = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
        void (async () => {
          const b = new Uint8Array(65536);
          for (;;) {
            const n = await c.read(b).catch(() => null);
            if (n === null) break;
            await s.write(b.subarray(0, n)).catch(() => {});
          }
        })();
        const b = new Uint8Array(65536);
        for (;;) {
          const n = await Promise.race([s.read(b).catch(() => null), sleep(300).then(() => null)]);
          if (n === null) break;
          await c.write(b.subarray(0, n));
        }
        c.close();
        s.close();
      })().catch(() => {});
      versions.length = 0;
      const c = await rt.tls.connect({ address: "127.0.0.1", port: middle.addr.port, servername: "rotate.test", verify: true, extraCaPem: [readFileSync(first.caFile, "utf8")], alpn: [], minVersion: "TLSv1.2" });
      assert.equal(c.version, "TLSv1.2+", "on Deno's own TLS");
      assert.equal(new TextDecoder().decode(await readAll(c.conn)), "hello, then a cut");
      c.conn.close();
    } finally {
      server.close();
      middle.close();
    }
  });

  it("leaves no descriptor behind: sessions, refused handshakes, aborted connects", async () => {
    const port = await server(() => ({ certChainPem: first.certPem, keyPem: first.keyPem }));
    const held: Conn[] = [];
    const tarpit = await rt.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => held.push(conn));
    listeners.push(tarpit);
    await fetchHello(port, first); // the hop listeners exist from here on
    await sleep(100);
    const before = fds();
    for (let i = 0; i < 10; i++) assert.equal(await fetchHello(port, first), "hello from rotate.test");
    // refused by the client (unknown CA): the native attempt and the node:tls retry both close
    for (let i = 0; i < 5; i++) await assert.rejects(fetchHello(port, second));
    // an upstream that accepts TCP and never answers, given up on
    for (let i = 0; i < 5; i++) await assert.rejects(fetchHello(tarpit.address.port, first, { signal: AbortSignal.timeout(50) }), /TimeoutError|timed out|aborted/i);
    // descriptors are given back once the last closes have run, while the tarpit still holds
    // its ends open (it never answers, never closes: only the gateway's side can end them)
    await sleep(100);
    assert.equal(held.length, 5);
    let now = fds();
    for (let i = 0; i < 50 && now > before + held.length; i++) {
      await sleep(100);
      now = fds();
    }
    assert.ok(now <= before + held.length, `descriptors before ${before}, after ${now} (the tarpit's own ${held.length} included)`);
    for (const c of held) c.close();
  });
});
