import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import fc from "fast-check";
import { concatBytes, encodeLatin1 } from "../../src/core/bytes.ts";
import { formatIp } from "../../src/core/ip.ts";
import { type ProxyHeader, ProxyHeaderError, ProxyHeaderReader } from "../../src/protocol/proxy-header.ts";
import { chunks } from "./client-hello-builder.ts";
import { v1, v2 } from "./proxy-header-builder.ts";

/** Runs per property; `FUZZ_RUNS=100000 bun test test/protocol/proxy-header-property.test.ts` to scale up. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300) || 300;
const params = { numRuns: RUNS };

type Outcome = { header: ProxyHeader; after: Uint8Array } | { incomplete: true } | { error: string };

/** Pushes the pieces until a header; anything thrown but a ProxyHeaderError fails the property. */
function run(pieces: readonly Uint8Array[]): Outcome {
  const reader = new ProxyHeaderReader();
  for (let i = 0; i < pieces.length; i++) {
    let header: ProxyHeader | undefined;
    try {
      header = reader.push(pieces[i]!);
    } catch (e) {
      if (!(e instanceof ProxyHeaderError)) throw e;
      return { error: e.message };
    }
    if (header) return { header, after: concatBytes([reader.rest(), ...pieces.slice(i + 1)]) };
  }
  return { incomplete: true };
}

const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIp(b));
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIp(b));
const port = fc.integer({ min: 0, max: 65535 });
const tail = fc.uint8Array({ maxLength: 64 });
const cuts = fc.array(fc.nat(), { maxLength: 8 });

const v1Header = fc.oneof(
  fc.tuple(ipv4, ipv4, port, port).map(([s, d, sp, dp]) => v1("TCP4", s, d, sp, dp)),
  fc.tuple(ipv6, ipv6, port, port).map(([s, d, sp, dp]) => v1("TCP6", s, d, sp, dp)),
);
const tlv = fc.record({ type: fc.integer({ min: 0, max: 255 }).filter((t) => t !== 0x03), value: fc.uint8Array({ maxLength: 40 }) });
const v2Header = fc.record({
  command: fc.integer({ min: 0, max: 1 }),
  family: fc.constantFrom("v4", "v6"),
  src4: ipv4,
  dst4: ipv4,
  src6: ipv6,
  dst6: ipv6,
  sport: port,
  dport: port,
  tlvs: fc.array(tlv, { maxLength: 4 }),
  crc: fc.boolean(),
}).map((r) =>
  v2({
    command: r.command,
    src: r.family === "v4" ? r.src4 : r.src6,
    dst: r.family === "v4" ? r.dst4 : r.dst6,
    sport: r.sport,
    dport: r.dport,
    tlvs: r.tlvs,
    crc: r.crc,
  })
);

describe("PROXY header reader (property)", () => {
  it("any valid header, cut anywhere, parses as it does whole; what follows it is left intact", () => {
    fc.assert(
      fc.property(fc.oneof(v1Header, v2Header), tail, cuts, (header, after, at) => {
        const bytes = concatBytes([header, after]);
        const whole = run([bytes]);
        const cut = run(chunks(bytes, at));
        assert.ok("header" in whole && "header" in cut, JSON.stringify({ whole, cut }));
        assert.deepEqual(cut.header, whole.header);
        assert.equal(whole.header.length, header.byteLength);
        assert.deepEqual([...cut.after], [...after]);
      }),
      params,
    );
  });

  it("a checksummed v2 header with any one byte changed never parses with its checksum", () => {
    fc.assert(
      fc.property(v2Header, fc.nat(), fc.integer({ min: 1, max: 255 }), (header, where, xor) => {
        if (!hasCrc(header)) return;
        const bad = header.slice();
        const at = where % bad.byteLength;
        bad[at] = bad[at]! ^ xor;
        const outcome = run([bad]);
        // a change of the checksum TLV's type, or a shorter length that ends the header before
        // it, leaves a header without a checksum: the protocol cannot tell, so neither can we
        if ("header" in outcome) assert.ok(!outcome.header.tlvs.some((t) => t.type === 0x03), `byte ${at} ^ ${xor} went unnoticed`);
      }),
      params,
    );
  });

  it("arbitrary bytes, after a valid prefix or not, end in a header, a wait or a ProxyHeaderError", () => {
    const prefixes = [new Uint8Array(0), encodeLatin1("PROXY "), encodeLatin1("PROXY TCP4 "), v2().subarray(0, 12), v2().subarray(0, 16)];
    fc.assert(
      fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 300 }), cuts, (prefix, junk, at) => {
        run(chunks(concatBytes([prefix, junk]), at));
      }),
      params,
    );
  });
});

/** True when the builder appended a CRC TLV (its last 7 bytes are type 0x03, length 4, value). */
function hasCrc(header: Uint8Array): boolean {
  const n = header.byteLength;
  return n >= 16 + 7 && header[n - 7] === 0x03 && header[n - 6] === 0 && header[n - 5] === 4;
}
