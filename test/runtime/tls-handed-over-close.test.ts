/**
 * `close()` of a Conn whose socket went on into a TLS session (TLS accept on it, TLS connect
 * `over` it) tears the connection down: a handshake under way fails, a session ends, the peer
 * sees the end. The gateway closes a client's raw Conn to revoke its flow (`LiveFlows`).
 * On Bun, `upgradeTLS` puts the connection on a new socket object and `close()` used to
 * `terminate()` the old one, which did nothing: the handshake went on (no signal: forever),
 * and so did a session. Deno closed the socket in every case; the test holds it to that too.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Conn } from "../../src/core/conn.ts";
import type { TlsClientSession, TlsSession } from "../../src/core/tls.ts";
import { tlsSuite } from "../helpers/tls-suite.ts";
import { clientHello, ends, outcome } from "../helpers/tls-probe.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("close() of a Conn handed over to TLS", { timeout: 30_000 }, () => {
  const t = tlsSuite();
  let hello: Uint8Array;
  before(async () => {
    hello = await clientHello(t.caPem);
  });

  /** A listener that TLS-accepts (no signal: only close() can end a handshake) and hands out the raw Conn with it. */
  const acceptingServer = async () => {
    const got: { raw: Conn; session: Promise<TlsSession> }[] = [];
    const port = await t.listen((raw) => {
      const session = t.rt.tls.accept(raw, { certChainPem: t.pki.certPem, keyPem: t.pki.keyPem, alpn: ["http/1.1"], minVersion: "TLSv1.2" });
      session.catch(() => {});
      got.push({ raw, session });
    });
    const next = async () => {
      for (let i = 0; i < 100 && got.length === 0; i++) await sleep(10);
      const g = got.shift();
      assert.ok(g, "a connection was accepted");
      return g;
    };
    return { port, next };
  };
  const connect = (port: number, over?: Conn): Promise<TlsClientSession> =>
    t.rt.tls.connect({ address: "127.0.0.1", port, servername: "origin.test", extraCaPem: [t.caPem], verify: true, alpn: ["http/1.1"], minVersion: "TLSv1.2", ...(over ? { over } : {}) });

  it("accept: closing the client's Conn mid-handshake fails the handshake and closes the connection", async () => {
    const srv = await acceptingServer();
    const c = await t.rt.dial({ address: "127.0.0.1", port: srv.port });
    const w = c.writable.getWriter();
    await w.write(hello.slice(0, 40)); // half a ClientHello: the handshake is under way
    w.releaseLock();
    const { raw, session } = await srv.next();
    await sleep(50);
    raw.close(); // as a revoked flow's client is closed
    const result = await outcome(session, 2000);
    const clientSawEnd = await ends(c, 1000);
    c.close();
    assert.equal(result, "rejected", "the handshake must fail once its Conn is closed");
    assert.ok(clientSawEnd, "the client's connection must be closed");
  });

  it("accept: closing the client's Conn after the handshake ends the session", async () => {
    const srv = await acceptingServer();
    const c = await connect(srv.port);
    const { raw, session } = await srv.next();
    const s = await session;
    raw.close();
    const clientSawEnd = await ends(c.conn, 1000);
    const sessionSawEnd = await ends(s.conn, 1000);
    c.conn.close();
    s.conn.close();
    assert.ok(clientSawEnd, "the client's connection must be closed");
    assert.ok(sessionSawEnd, "the session on the closed Conn must end");
  });

  it("connect over an open Conn: closing that Conn mid-handshake fails the handshake", async () => {
    const port = await t.listen((conn) => void t.held.push(conn)); // never answers
    const over = await t.rt.dial({ address: "127.0.0.1", port });
    const connecting = connect(port, over);
    connecting.catch(() => {});
    await sleep(100);
    over.close();
    assert.equal(await outcome(connecting, 2000), "rejected", "the handshake must fail once the Conn under it is closed");
  });

  it("connect over an open Conn: closing that Conn after the handshake ends the session", async () => {
    const srv = await acceptingServer();
    const over = await t.rt.dial({ address: "127.0.0.1", port: srv.port });
    const c = await connect(srv.port, over);
    const s = await (await srv.next()).session;
    over.close();
    const serverSawEnd = await ends(s.conn, 1000);
    const sessionSawEnd = await ends(c.conn, 1000);
    c.conn.close();
    s.conn.close();
    assert.ok(serverSawEnd, "the server's connection must be closed");
    assert.ok(sessionSawEnd, "the session over the closed Conn must end");
  });
});
