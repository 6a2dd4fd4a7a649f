import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { readFileSync } from "node:fs";
import { concatBytes } from "../../src/core/bytes.ts";
import type { Conn } from "../../src/core/conn.ts";
import { RelayedConn, socketOf } from "../../src/core/relayed-conn.ts";
import type { Listener, Runtime } from "../../src/core/runtime.ts";
import type { TlsSession } from "../../src/core/tls.ts";
import { ConnReader } from "../../src/flows/conn-reader.ts";
import { admitRelayed } from "../../src/flows/proxy-protocol.ts";
import { splice } from "../../src/flows/splice.ts";
import { parseCidr } from "../../src/core/ip.ts";
import { makeTestPki, type TestPki } from "../e2e/support/certs.ts";
import { FlowHarness } from "../helpers/flow-harness.ts";
import { readAll } from "../helpers/bytes.ts";
import { currentRuntime, runtimeName } from "../helpers/runtime.ts";

const text = (s: string) => new TextEncoder().encode(s);
const HEADER = "PROXY TCP4 192.0.2.7 127.0.0.1 4000 443\r\n";

/** Counts calls of a Bun socket method (the adapter's native paths), where it exists. */
async function countCalls(method: "handOver" | "takeOver"): Promise<{ count: () => number; restore: () => void }> {
  if (runtimeName !== "bun") return { count: () => 0, restore: () => {} };
  const { BunSocketConn } = await import(`../../src/runtime/${"bun"}/socket-conn.ts`) as { BunSocketConn: { prototype: Record<string, (...a: unknown[]) => unknown> } };
  const proto = BunSocketConn.prototype;
  const original = proto[method]!;
  let n = 0;
  proto[method] = function (this: unknown, ...args: unknown[]) {
    n++;
    return original.apply(this, args);
  };
  return { count: () => n, restore: () => void (proto[method] = original) };
}

describe("a relayed (PROXY protocol) connection over the runtime's real sockets", { timeout: 60_000 }, () => {
  let rt: Runtime;
  let pki: TestPki;
  const listeners: Listener[] = [];
  const ctx = new FlowHarness().ctx;
  const from = [parseCidr("127.0.0.0/8")];

  before(async () => {
    rt = await currentRuntime();
    pki = makeTestPki();
  });
  after(async () => {
    for (const l of listeners) await l.close();
  });

  async function listen(onConn: (relayed: Conn) => Promise<void>): Promise<number> {
    const l = await rt.listen({ hostname: "127.0.0.1", port: 0 }, (socket) => {
      void admitRelayed(socket, ctx, from).then((c) => c && onConn(c));
    });
    listeners.push(l);
    return l.address.port;
  }

  it("terminates TLS on it (natively on Bun); the session's client is the header's", async () => {
    const calls = await countCalls("handOver");
    try {
      let session: Promise<TlsSession> | undefined;
      const port = await listen(async (relayed) => {
        const src = new ConnReader(relayed);
        const first = (await src.read(5000))!;
        const rest = src.release();
        session = rt.tls.accept(relayed, {
          certChainPem: pki.certPem,
          keyPem: pki.keyPem,
          alpn: ["http/1.1"],
          minVersion: "TLSv1.2",
          initialData: rest ? concatBytes([first, rest]) : first,
        });
        const s = await session;
        const w = s.conn.writable.getWriter();
        await w.write(text("hello over tls"));
        await w.close();
      });
      const tcp = netConnect({ host: "127.0.0.1", port });
      await new Promise((r) => tcp.once("connect", r));
      tcp.write(HEADER);
      const tls = tlsConnect({ socket: tcp, servername: "origin.test", ca: readFileSync(pki.caFile, "utf8"), ALPNProtocols: ["http/1.1"] });
      let got = "";
      tls.setEncoding("utf8");
      tls.on("data", (d: string) => (got += d));
      await new Promise((r) => tls.once("end", r));
      tls.destroy();
      assert.equal(got, "hello over tls");
      const s = await session!;
      assert.deepEqual(s.conn.remote, { address: "192.0.2.7", port: 4000 });
      if (runtimeName === "bun") assert.equal(calls.count(), 1, "Bun upgraded its own socket in place");
    } finally {
      calls.restore();
    }
  });

  it("splices it (natively on Bun), bytes after the header first", async () => {
    const calls = await countCalls("takeOver");
    try {
      const origin = await rt.listen({ hostname: "127.0.0.1", port: 0 }, (c) => {
        void (async () => {
          const got = await readAll(c);
          const w = c.writable.getWriter();
          await w.write(text(`origin got ${new TextDecoder().decode(got)}`));
          await w.close();
        })();
      });
      listeners.push(origin);
      const port = await listen(async (relayed) => {
        const src = new ConnReader(relayed);
        const first = await src.read(5000);
        const rest = src.release();
        const up = await rt.dial({ address: "127.0.0.1", port: origin.address.port });
        const head = concatBytes([first ?? new Uint8Array(0), rest ?? new Uint8Array(0)]);
        await splice(rt, relayed, up, { idleTimeoutMs: 10_000, headA: head });
      });
      const c = netConnect({ host: "127.0.0.1", port });
      await new Promise((r) => c.once("connect", r));
      c.end(HEADER + "early+late");
      let got = "";
      c.setEncoding("utf8");
      c.on("data", (d: string) => (got += d));
      await new Promise((r) => c.once("close", r));
      assert.equal(got, "origin got early+late");
      if (runtimeName === "bun") assert.equal(calls.count(), 2, "both sides relayed by Bun's native splice");
    } finally {
      calls.restore();
    }
  });

  it("refuses to hand the socket to an adapter while bytes after the header are unread", () => {
    const [a] = [{ readable: new ReadableStream<Uint8Array>(), writable: new WritableStream<Uint8Array>(), remote: { address: "10.0.0.1", port: 1 }, local: { address: "10.0.0.2", port: 2 }, close() {} }];
    const relayed = new RelayedConn(a, { address: "192.0.2.7", port: 4000 }, text("GET"));
    assert.throws(() => socketOf(relayed), /not read/);
    new ConnReader(relayed);
    assert.equal(socketOf(relayed), a);
  });
});
