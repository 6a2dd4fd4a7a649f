/**
 * Server-side TLS on `node:tls` (`acceptNodeTls`, the Deno adapter's default path and Bun's
 * fallback for Conns that are not native sockets) settles at once when the client ends its
 * connection (FIN) before the handshake completes. The TLS socket emits only `end` then (no
 * `error`, no `close`); before, the accept waited for the caller's signal (the gateway's
 * `headerTimeoutMs`, 10 s by default), holding the client's socket (and, when decrypting,
 * the upstream connection), and the flow reported a timeout instead of the client leaving.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Conn } from "../../src/core/conn.ts";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import type { TlsSession } from "../../src/core/tls.ts";
import { tlsSuite } from "../helpers/tls-suite.ts";
import { clientHello, outcome } from "../helpers/tls-probe.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("TLS accept when the client ends before the handshake is done", { timeout: 30_000 }, () => {
  const t = tlsSuite();
  let hello: Uint8Array;
  before(async () => {
    hello = await clientHello(t.caPem);
  });

  const accept = (conn: Conn): Promise<TlsSession> => {
    // no signal: the adapter alone must notice that the client is gone
    const p = t.rt.tls.accept(conn, { certChainPem: t.pki.certPem, keyPem: t.pki.keyPem, alpn: ["http/1.1"], minVersion: "TLSv1.2" });
    p.catch(() => {});
    return p;
  };

  for (const sent of ["nothing", "a ClientHello"] as const) {
    it(`over TCP: rejects when the client sends ${sent} and then FIN`, async () => {
      const accepted: Promise<TlsSession>[] = [];
      const l = await t.rt.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => void accepted.push(accept(conn)));
      t.listeners.push(l);
      const c = await t.rt.dial({ address: "127.0.0.1", port: l.address.port });
      const w = c.writable.getWriter();
      if (sent !== "nothing") await w.write(hello.slice());
      await w.close();
      for (let i = 0; i < 100 && accepted.length === 0; i++) await sleep(10);
      assert.equal(accepted.length, 1);
      const result = await outcome(accepted[0]!, 2000);
      c.close();
      assert.equal(result, "rejected", "accept must reject once the client has gone, not wait for the caller's timeout");
    });
  }

  it("over a Conn that is not a socket (node:tls on every runtime): rejects when the client sends FIN", async () => {
    const [client, server] = memoryConnPair();
    const p = accept(server);
    await client.writable.close();
    const result = await outcome(p, 2000);
    client.close();
    server.close();
    assert.equal(result, "rejected", "accept must reject once the client has gone, not wait for the caller's timeout");
  });
});
