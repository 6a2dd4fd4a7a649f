import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { getHeapSpaceStatistics } from "node:v8";
import { readConn, readsDirect } from "../../../src/runtime/deno/conn-read.ts";
import { makeTestPki, type TestPki } from "../../e2e/support/certs.ts";
import { runtimeName } from "../../helpers/runtime.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** A connected pair of TCP conns on loopback. */
async function tcpPair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const dialled = Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    return [await dialled, await listener.accept()];
  } finally {
    listener.close();
  }
}

/** Bytes in use in V8's old generation. */
const oldSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === "old_space")!.space_used_size;

/** Where {@link promoteLiveObjects} puts its garbage (module-level, so no compiler can elide it). */
let sink: number[][] = [];

/** Enough short-lived garbage for several minor collections, so that what is alive now is promoted. */
function promoteLiveObjects(): void {
  for (let i = 0; i < 400_000; i++) {
    sink.push([i, i + 1, i + 2]);
    if (sink.length >= 1_000) sink = [];
  }
}

/** Old-generation bytes `reads` ping-pong reads through `read` add on a conn that is itself old. */
async function oldGrowthOver(reads: number, read: (conn: Deno.Conn, buf: Uint8Array) => Promise<number | null>): Promise<number> {
  const [a, b] = await tcpPair();
  try {
    const buf = new Uint8Array(64);
    const one = new Uint8Array([1]);
    promoteLiveObjects();
    promoteLiveObjects();
    const before = oldSpace();
    for (let i = 0; i < reads; i++) {
      await a.write(one);
      assert.equal(await read(b, buf), 1);
    }
    return oldSpace() - before;
  } finally {
    a.close();
    b.close();
  }
}

describe("reading a Deno conn (conn-read.ts)", { skip: runtimeName === "deno" ? undefined : "Deno only", timeout: 30_000 }, () => {
  let pki: TestPki;
  before(() => {
    pki = makeTestPki(["127.0.0.1"]);
  });
  after(() => rmSync(pki.dir, { recursive: true, force: true }));

  it("reads what was sent, null at the end of the stream, and the other half goes on", async () => {
    const [a, b] = await tcpPair();
    try {
      await a.write(text("hello"));
      await a.closeWrite();
      const buf = new Uint8Array(16);
      assert.equal(await readConn(b, buf), 5);
      assert.equal(new TextDecoder().decode(buf.subarray(0, 5)), "hello");
      assert.equal(await readConn(b, buf), null);
      assert.equal(await readConn(b, buf), null);
      // the read half ended; the write half still works (a half-closed TCP conn)
      await b.write(text("back"));
      await b.closeWrite();
      assert.equal(await readConn(a, buf), 4);
      assert.equal(await readConn(a, buf), null);
      assert.equal(await readConn(b, new Uint8Array(0)), 0, "an empty buffer reads nothing, as conn.read does");
    } finally {
      a.close();
      b.close();
    }
  });

  it("rejects as conn.read does: a read pending when the conn is closed, a read after close", async () => {
    const [a, b] = await tcpPair();
    try {
      const pending = readConn(b, new Uint8Array(16));
      b.close();
      const [viaRead, viaConn] = await Promise.allSettled([pending, b.read(new Uint8Array(16))]);
      assert.equal(viaRead.status, "rejected");
      assert.equal(viaConn.status, "rejected");
      await assert.rejects(readConn(b, new Uint8Array(16)), (e: unknown) => e instanceof Deno.errors.BadResource);
    } finally {
      a.close();
    }
  });

  it("reads the plaintext of a Deno TLS conn", async () => {
    const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: pki.certPem, key: pki.keyPem });
    try {
      const served = (async () => {
        const conn = await listener.accept();
        const buf = new Uint8Array(64);
        const n = await readConn(conn, buf);
        await conn.write(text(`got ${n === null ? "nothing" : new TextDecoder().decode(buf.subarray(0, n))}`));
        conn.close();
      })();
      const client = await Deno.connectTls({ hostname: "127.0.0.1", port: listener.addr.port, caCerts: [readFileSync(pki.caFile, "utf8")] });
      await client.write(text("ping"));
      const buf = new Uint8Array(64);
      const n = await readConn(client, buf);
      assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "got ping");
      await served;
      client.close();
    } finally {
      listener.close();
    }
  });

  it("leaves no old-generation garbage per read on a long-lived conn, where conn.read leaves ~120 bytes", async () => {
    assert.ok(readsDirect, "this Deno lacks the internal core.read / internalRidSymbol: reads fall back to conn.read and its garbage");
    const reads = 4_000;
    await oldGrowthOver(200, readConn); // compiled first, so that compiling is not counted
    const direct = await oldGrowthOver(reads, readConn);
    const viaConnRead = await oldGrowthOver(reads, (conn, buf) => conn.read(buf));
    // seen on Deno 2.9.6: about 0 KiB directly, 470 KiB through conn.read
    assert.ok(direct < 96 * 1024, `${reads} reads added ${Math.round(direct / 1024)} KiB to the old generation (conn.read: ${Math.round(viaConnRead / 1024)} KiB)`);
  });
});
