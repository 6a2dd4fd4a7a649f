/**
 * ALPN names no TLS peer can be offered (empty, over 255 bytes of UTF-8, or a list too long
 * for the extension) are refused by `accept` and `connect` at once with a TypeError, on
 * every path of both runtimes. Deno's `node:tls` took them and then hung until the caller's
 * signal fired; Bun's native TLS threw a RangeError and its `node:tls` an error of its own.
 * The Conn handed in is closed all the same (it is the adapter's once handed over).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Conn } from "../../src/core/conn.ts";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import type { TlsSession } from "../../src/core/tls.ts";
import { tlsSuite } from "../helpers/tls-suite.ts";
import { ends, outcome } from "../helpers/tls-probe.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lists no peer can be offered, and what the TypeError says about each. */
const INVALID: readonly (readonly [string, readonly string[], RegExp])[] = [
  ["an empty name", ["http/1.1", ""], /^ALPN protocol name 2 \(""\) is 0 bytes, not 1 to 255$/],
  ["a name of 256 bytes", ["x".repeat(256)], /^ALPN protocol name 1 \("x{32}…"\) is 256 bytes, not 1 to 255$/],
  ["a name of 128 characters in 256 bytes of UTF-8", ["é".repeat(128)], /is 256 bytes, not 1 to 255$/],
  ["a list of 66,048 bytes", Array.from({ length: 258 }, (_, i) => `${i}`.padStart(255, "x")), /^ALPN protocol list is 66050 bytes in the extension, over its limit of 65535$/],
];

/** Long enough for any runtime to have handshaken; a refusal must come well before. */
const AT_ONCE_MS = 1500;

const suite = (ownTls: boolean) => () => {
  const t = tlsSuite(ownTls);

  /** A TCP connection's two ends through the adapter: [ours, the far end]. */
  async function tcpPair(): Promise<[Conn, Conn]> {
    const accepted: Conn[] = [];
    const port = await t.listen((c) => void accepted.push(c));
    const near = await t.rt.dial({ address: "127.0.0.1", port });
    for (let i = 0; i < 100 && accepted.length === 0; i++) await sleep(10);
    assert.equal(accepted.length, 1);
    t.held.push(near, accepted[0]!);
    return [near, accepted[0]!];
  }

  /** Asserts `p` rejects with `message` as a TypeError before `AT_ONCE_MS`. */
  async function refusedAtOnce(p: Promise<unknown>, message: RegExp): Promise<void> {
    p.catch(() => {});
    assert.equal(await outcome(p, AT_ONCE_MS), "rejected", "an invalid ALPN list must be refused at once, not wait for the signal");
    await assert.rejects(p, (e: unknown) => e instanceof TypeError && message.test(e.message));
  }

  const accept = (conn: Conn, alpn: readonly string[]): Promise<TlsSession> =>
    t.rt.tls.accept(conn, {
      certChainPem: t.pki.certPem,
      keyPem: t.pki.keyPem,
      alpn,
      minVersion: "TLSv1.2",
      signal: AbortSignal.timeout(10_000),
    });

  const connect = (alpn: readonly string[], port: number, over?: Conn) =>
    t.rt.tls.connect({
      address: "127.0.0.1",
      port,
      servername: "origin.test",
      extraCaPem: [t.caPem],
      verify: true,
      alpn,
      minVersion: "TLSv1.2",
      signal: AbortSignal.timeout(10_000),
      ...(over ? { over } : {}),
    });

  for (const [name, alpn, message] of INVALID) {
    it(`accept on a socket refuses ${name}, and closes the client's connection`, async () => {
      const [client, server] = await tcpPair();
      await refusedAtOnce(accept(server, alpn), message);
      assert.equal(await ends(client, 1500), true, "the client's connection is still open");
    });

    it(`accept on a Conn that is not a socket refuses ${name}, and closes it`, async () => {
      const [client, server] = memoryConnPair();
      t.held.push(client, server);
      await refusedAtOnce(accept(server, alpn), message);
      assert.equal(await ends(client, 1500), true, "the Conn is still open");
    });

    it(`connect refuses ${name} without dialling`, async () => {
      let dialled = 0;
      const port = await t.listen((c) => {
        dialled++;
        t.held.push(c);
      });
      await refusedAtOnce(connect(alpn, port), message);
      await sleep(100);
      assert.equal(dialled, 0, "connect dialled the server for a list it cannot offer");
    });

    it(`connect over a socket refuses ${name}, and closes it`, async () => {
      const [over, far] = await tcpPair();
      await refusedAtOnce(connect(alpn, 443, over), message);
      assert.equal(await ends(far, 1500), true, "the Conn handed to connect() is still open");
    });
  }

  it("takes names of 1 and 255 bytes, offered and chosen as usual", async () => {
    // ASCII: Deno's own TLS client reports a UTF-8 name it negotiated as Latin-1
    const names = ["h", "x".repeat(255)];
    const sessions: Promise<TlsSession>[] = [];
    const port = await t.listen((conn) => {
      t.held.push(conn);
      const s = accept(conn, [names[1]!]);
      s.catch(() => {});
      sessions.push(s);
    });
    const client = await connect(names, port);
    t.held.push(client.conn);
    assert.equal(client.alpn, names[1]);
    assert.equal((await sessions[0]!).alpn, names[1]);
  });
};

describe("TLS refuses ALPN names no peer can be offered", { timeout: 120_000 }, suite(false));
describe("TLS refuses ALPN names no peer can be offered, Deno's own TLS preferred", { timeout: 120_000 }, suite(true));
