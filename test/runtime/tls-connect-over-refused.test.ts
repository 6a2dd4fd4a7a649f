/**
 * `TlsConnectOptions.over`: "the session owns it from then on, and closes it when the
 * handshake fails" — also when the connect fails before any handshake, on options the TLS
 * layer refuses at once (a client key that cannot be read, an ALPN name of 0 bytes). On Bun
 * such options threw before the code that closes `over` (`alpnWire`, the client context:
 * tls-connect.ts), and its `node:tls` throws in `tls.connect()` for a bad key (connect.ts);
 * the connect rejected and `over` stayed open: a descriptor, or a tunnel through a parent
 * proxy, per attempt, until the peer closed it. Both kinds of `over` are tried: a native
 * socket (Bun: `upgradeTLS`) and a Conn that is not one (`node:tls` on every runtime).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Conn } from "../../src/core/conn.ts";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import type { TlsConnectOptions } from "../../src/core/tls.ts";
import { tlsSuite } from "../helpers/tls-suite.ts";
import { ends } from "../helpers/tls-probe.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("TLS connect over an open Conn, refused before the handshake", { timeout: 30_000 }, () => {
  const t = tlsSuite();

  /** `over` and its far end (which never answers, never closes: a tunnel, say). */
  const overs = {
    "a native socket": async (): Promise<[Conn, Conn]> => {
      const accepted: Conn[] = [];
      const l = await t.rt.listen({ hostname: "127.0.0.1", port: 0 }, (c) => void accepted.push(c));
      t.listeners.push(l);
      const over = await t.rt.dial({ address: "127.0.0.1", port: l.address.port });
      for (let i = 0; i < 100 && accepted.length === 0; i++) await sleep(10);
      assert.equal(accepted.length, 1);
      return [over, accepted[0]!];
    },
    "a Conn that is not a socket": (): Promise<[Conn, Conn]> => Promise.resolve(memoryConnPair()),
  };
  const refused: Record<string, () => Partial<TlsConnectOptions>> = {
    "a client key that cannot be read": () => ({ clientCertPem: t.pki.certPem, clientKeyPem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }),
    "an empty ALPN name": () => ({ alpn: [""] }),
    "an ALPN name of 256 bytes": () => ({ alpn: ["x".repeat(256)] }),
  };
  for (const [overName, makeOver] of Object.entries(overs)) {
    for (const [name, extra] of Object.entries(refused)) {
      it(`over ${overName}: closes it when the connect rejects for ${name}`, async () => {
        const [over, far] = await makeOver();
        t.held.push(over, far);
        await assert.rejects(t.rt.tls.connect({
          address: "127.0.0.1",
          port: 443,
          servername: "origin.test",
          extraCaPem: [t.caPem],
          verify: true,
          alpn: ["http/1.1"],
          minVersion: "TLSv1.2",
          signal: AbortSignal.timeout(500), // where the TLS layer takes such options after all (Deno: a client key)
          over,
          ...extra(),
        }));
        assert.equal(await ends(far, 1500), true, "the Conn handed to connect() is still open after connect() rejected");
      });
    }
  }
});
