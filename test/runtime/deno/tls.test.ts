import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { markReceived } from "../../../src/core/received-chunk.ts";
import type { DialOptions } from "../../../src/core/runtime.ts";
import { DenoTcpConn } from "../../../src/runtime/deno/tcp-conn.ts";
import { denoTls } from "../../../src/runtime/deno/tls.ts";
import { makeTestPki } from "../../e2e/support/certs.ts";
import { spy } from "./support/conn-spy.ts";
import { spyOnDrainEncOut } from "./support/drain-spy.ts";
import { pattern, readAll, sha } from "../../helpers/bytes.ts";
import { runtimeName } from "../../helpers/runtime.ts";

/** A validating client session to `origin.test` on `listener`. */
function connectTo(tls: ReturnType<typeof denoTls>, listener: Deno.Listener, caFile: string) {
  return tls.connect({
    address: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
    servername: "origin.test",
    extraCaPem: [readFileSync(caFile, "utf8")],
    verify: true,
    alpn: [],
    minVersion: "TLSv1.2",
  });
}

const freed = (chunks: Uint8Array[]) => chunks.filter((c) => c.byteLength === 0).length;

describe("Deno TLS (node:tls over Deno.TcpConn)", { skip: runtimeName === "deno" ? undefined : "Deno's node:tls only", timeout: 60_000 }, () => {
  it("frees encrypted and decrypted buffers once passed on, and keeps every byte", async () => {
    const pki = makeTestPki(["origin.test"]);
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      let serverSide: ReturnType<typeof spy> | undefined;
      let clientSide: ReturnType<typeof spy> | undefined;
      let head: Uint8Array | undefined;
      const echoed: Uint8Array[] = [];
      const tls = denoTls(async (o: DialOptions) => {
        const c = spy(new DenoTcpConn(await Deno.connect({ hostname: o.address, port: o.port })));
        clientSide = c;
        return c.conn;
      });
      // the server echoes every decrypted chunk back as it is (the core's relay does the same)
      const server = (async () => {
        const s = spy(new DenoTcpConn((await listener.accept()) as Deno.TcpConn));
        serverSide = s;
        const reader = s.conn.readable.getReader();
        const first = await reader.read();
        reader.releaseLock();
        head = first.value;
        const session = await tls.accept(s.conn, { certChainPem: pki.certPem, keyPem: pki.keyPem, alpn: [], minVersion: "TLSv1.2", initialData: head });
        const w = session.conn.writable.getWriter();
        for await (const chunk of session.conn.readable) {
          echoed.push(chunk);
          await w.write(chunk);
        }
        await w.close();
      })();
      const client = await connectTo(tls, listener, pki.caFile);
      const payload = pattern(4 * 1024 * 1024 + 5);
      const sent: Uint8Array[] = [];
      const sending = (async () => {
        const w = client.conn.writable.getWriter();
        for (let o = 0; o < payload.byteLength; o += 65536) {
          const chunk = markReceived(payload.slice(o, o + 65536)); // as a Conn hands them out
          sent.push(chunk);
          await w.write(chunk);
        }
        await w.close();
      })();
      const got = await readAll(client.conn);
      await sending;
      await server;
      assert.equal(await sha(got), await sha(payload));

      // plaintext: written by the client, decrypted and echoed by the server
      assert.equal(freed(sent), sent.length, "chunks written to a TLS conn are freed");
      assert.ok(echoed.length > 0);
      assert.equal(freed(echoed), echoed.length, "decrypted chunks are freed once written on");
      // ciphertext on both TCP conns: what the TLS layer read was freed once consumed, what it
      // wrote once sent; the server's first chunk (the caller's ClientHello) was left alone
      for (const side of [clientSide!, serverSide!]) {
        const read = side.read.filter((c) => c !== head);
        assert.ok(read.length > 10 && side.written.length > 10);
        assert.equal(freed(read), read.length, "encrypted input is freed once consumed");
        assert.equal(freed(side.written), side.written.length, "encrypted output is freed once sent");
      }
      assert.ok(head && head.byteLength > 0, "the ClientHello passed as initialData stays intact");
      client.conn.close();
      rmSync(pki.dir, { recursive: true, force: true });
    } finally {
      listener.close();
    }
  });

  it("sends the TLS layer's own encrypted buffers, not copies of them (enc-out.ts)", async () => {
    const { drained, restore } = spyOnDrainEncOut();
    const pki = makeTestPki(["origin.test"]);
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      let serverSide: ReturnType<typeof spy> | undefined;
      const tls = denoTls(async (o: DialOptions) => new DenoTcpConn(await Deno.connect({ hostname: o.address, port: o.port })));
      const payload = pattern(2 * 1024 * 1024 + 3);
      // the server sends the payload: its encrypted writes are what is checked
      const server = (async () => {
        const s = spy(new DenoTcpConn((await listener.accept()) as Deno.TcpConn));
        serverSide = s;
        const session = await tls.accept(s.conn, { certChainPem: pki.certPem, keyPem: pki.keyPem, alpn: [], minVersion: "TLSv1.2" });
        const w = session.conn.writable.getWriter();
        for (let o = 0; o < payload.byteLength; o += 65536) await w.write(markReceived(payload.slice(o, o + 65536)));
        await w.close();
      })();
      const client = await connectTo(tls, listener, pki.caFile);
      const got = await readAll(client.conn);
      await server;
      assert.equal(await sha(got), await sha(payload));
      const written = serverSide!.written;
      assert.ok(written.length > 20);
      const copies = written.filter((c) => !drained.has(c.buffer)).length;
      assert.equal(copies, 0, `${copies} of ${written.length} encrypted chunks were copies of what the TLS layer drained`);
      assert.equal(freed(written), written.length, "and each was freed once sent");
      client.conn.close();
    } finally {
      listener.close();
      rmSync(pki.dir, { recursive: true, force: true });
      restore(); // unless the adapter's wrapper sits around the spy now (it only records)
    }
  });

  // the case above passes once either call site wrapped drainEncOut (one prototype per
  // process), so each site runs alone in a fresh process against a plain node:tls peer
  for (const side of ["accept", "connect"] as const) {
    it(`${side} alone makes the TLS layer send its own encrypted buffers (fresh process)`, async () => {
      const pki = makeTestPki(["origin.test"]);
      try {
        const child = new URL("./support/enc-out-child.ts", import.meta.url).pathname;
        // --check: nothing else type-checks the child; the child exits by itself within 15 s
        const out = await new Promise<string>((resolve, reject) =>
          execFile(Deno.execPath(), ["run", "--check", "-A", child, side, pki.dir], { encoding: "utf8", timeout: 40_000 }, (e, stdout, stderr) =>
            e ? reject(new Error(`child ${e.killed ? `killed (${e.signal})` : `failed (${e.code})`}:\n${stdout}\n${stderr}`)) : resolve(stdout))
        );
        let r: { written: number; copies: number; freed: number; intact: boolean };
        try {
          r = JSON.parse(out.trim().split("\n").pop()!);
        } catch {
          throw new Error(`the child printed no result:\n${out}`);
        }
        assert.equal(r.intact, true, "the peer received every byte");
        assert.ok(r.written > 20, `only ${r.written} encrypted chunks written`);
        assert.equal(r.copies, 0, `${r.copies} of ${r.written} encrypted chunks were copies of what the TLS layer drained`);
        assert.equal(r.freed, r.written, "and each was freed once sent");
      } finally {
        rmSync(pki.dir, { recursive: true, force: true });
      }
    });
  }
});
