import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { alpnError, alpnWire, refusingInvalidAlpn } from "../../src/core/alpn.ts";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import type { TlsCapability, TlsClientSession, TlsSession } from "../../src/core/tls.ts";
import { ends } from "../helpers/tls-probe.ts";

/** 255 names of 255 bytes and one of `last`: the extension's data is 65283 + `last` bytes. */
const nearLimit = (last: number) => [...Array.from({ length: 255 }, (_, i) => `${i}`.padStart(255, "n")), "l".repeat(last)];

describe("alpnError", () => {
  it("takes names of 1 to 255 bytes of UTF-8, and no names at all", () => {
    assert.equal(alpnError([]), undefined);
    assert.equal(alpnError(["h2", "http/1.1"]), undefined);
    assert.equal(alpnError(["x", "x".repeat(255)]), undefined);
    assert.equal(alpnError(["é".repeat(127) + "x"]), undefined, "255 bytes of UTF-8");
  });

  it("refuses an empty name, saying which", () => {
    assert.equal(alpnError(["h2", ""])?.message, 'ALPN protocol name 2 ("") is 0 bytes, not 1 to 255');
  });

  it("refuses a name over 255 bytes, counted in UTF-8, and quotes only its start", () => {
    const e = alpnError(["é".repeat(128)]);
    assert.ok(e instanceof TypeError);
    assert.equal(e.message, `ALPN protocol name 1 ("${"é".repeat(32)}…") is 256 bytes, not 1 to 255`);
  });

  it("takes a list whose extension data is 65535 bytes, and refuses one a byte longer", () => {
    assert.equal(alpnError(nearLimit(252)), undefined);
    assert.equal(alpnError(nearLimit(253))?.message, "ALPN protocol list is 65536 bytes in the extension, over its limit of 65535");
  });
});

describe("alpnWire", () => {
  it("puts each name after its length in bytes", () => {
    assert.deepEqual(alpnWire(["h2", "é"]), new Uint8Array([2, 0x68, 0x32, 2, 0xc3, 0xa9]));
    assert.equal(alpnWire([]), undefined);
  });

  it("throws the TypeError of alpnError", () => {
    assert.throws(() => alpnWire(["x".repeat(256)]), { name: "TypeError", message: /is 256 bytes, not 1 to 255$/ });
  });
});

describe("refusingInvalidAlpn", () => {
  /** A capability that records what reached it. */
  const recording = () => {
    const reached: string[] = [];
    const tls: TlsCapability = {
      accept: () => {
        reached.push("accept");
        return Promise.resolve({} as TlsSession);
      },
      connect: () => {
        reached.push("connect");
        return Promise.resolve({} as TlsClientSession);
      },
      preferOwnTls: () => void reached.push("preferOwnTls"),
    };
    return { tls: refusingInvalidAlpn(tls), reached };
  };
  const acceptOptions = { certChainPem: "", keyPem: "", minVersion: "TLSv1.2" } as const;
  const connectOptions = { address: "127.0.0.1", port: 443, servername: "a.test", verify: true, minVersion: "TLSv1.2" } as const;

  it("passes valid lists, and the other members, on", async () => {
    const { tls, reached } = recording();
    await tls.accept(memoryConnPair()[1], { ...acceptOptions, alpn: ["http/1.1"] });
    await tls.connect({ ...connectOptions, alpn: [] });
    tls.preferOwnTls?.(true);
    assert.deepEqual(reached, ["accept", "connect", "preferOwnTls"]);
  });

  it("rejects an invalid list itself, closing the Conn it was handed", async () => {
    const { tls, reached } = recording();
    const [client, server] = memoryConnPair();
    await assert.rejects(tls.accept(server, { ...acceptOptions, alpn: [""] }), TypeError);
    assert.equal(await ends(client, 500), true, "accept left the client's Conn open");
    const [near, far] = memoryConnPair();
    await assert.rejects(tls.connect({ ...connectOptions, alpn: ["x".repeat(256)], over: near }), TypeError);
    assert.equal(await ends(far, 500), true, "connect left `over` open");
    await assert.rejects(tls.connect({ ...connectOptions, alpn: [""] }), TypeError);
    assert.deepEqual(reached, []);
  });
});
