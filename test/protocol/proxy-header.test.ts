import { describe, it } from "node:test";
import { Buffer } from "node:buffer";
import assert from "node:assert/strict";
import { concatBytes, encodeLatin1 } from "../../src/core/bytes.ts";
import { crc32c } from "../../src/core/crc32c.ts";
import { DEFAULT_MAX_V2_BYTES, MAX_V1_BYTES, type ProxyHeader, ProxyHeaderError, ProxyHeaderReader } from "../../src/protocol/proxy-header.ts";
import { v1, v2 } from "./proxy-header-builder.ts";

/** Pushes `bytes` in one piece, then byte by byte; both must agree. */
function parse(bytes: Uint8Array, maxV2Bytes?: number): { header: ProxyHeader; rest: Uint8Array } {
  const whole = new ProxyHeaderReader(maxV2Bytes === undefined ? {} : { maxV2Bytes });
  const header = whole.push(bytes);
  assert.ok(header, "a whole header parses in one push");
  const slow = new ProxyHeaderReader(maxV2Bytes === undefined ? {} : { maxV2Bytes });
  let late: ProxyHeader | undefined;
  for (let i = 0; i < bytes.length && !late; i++) {
    late = slow.push(bytes.subarray(i, i + 1));
    if (!late) continue;
    assert.equal(i + 1, header.length, "complete exactly at its last byte");
  }
  assert.deepEqual(late, header);
  return { header, rest: whole.rest() };
}

/** The message of the error pushing `bytes` (whole, and byte by byte) throws. */
function refusal(bytes: Uint8Array, maxV2Bytes?: number): string {
  const options = maxV2Bytes === undefined ? {} : { maxV2Bytes };
  let message = "";
  assert.throws(() => new ProxyHeaderReader(options).push(bytes), (e: unknown) => {
    assert.ok(e instanceof ProxyHeaderError);
    message = e.message;
    return true;
  });
  const slow = new ProxyHeaderReader(options);
  assert.throws(() => {
    for (let i = 0; i < bytes.length; i++) slow.push(bytes.subarray(i, i + 1));
  }, ProxyHeaderError);
  return message;
}

const text = (s: string) => encodeLatin1(s);

describe("CRC-32C", () => {
  it("matches the standard check value", () => {
    assert.equal(crc32c(text("123456789")), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(0)), 0);
  });
});

describe("PROXY protocol v1", () => {
  it("TCP4: source, destination and the bytes after the line", () => {
    const { header, rest } = parse(concatBytes([v1("TCP4", "192.0.2.7", "10.0.0.1", 5555, 443), text("GET / HTTP/1.1\r\n")]));
    assert.deepEqual(header, {
      version: 1,
      command: "proxy",
      source: { address: "192.0.2.7", port: 5555 },
      destination: { address: "10.0.0.1", port: 443 },
      tlvs: [],
      length: 40,
    });
    assert.equal(new TextDecoder().decode(rest), "GET / HTTP/1.1\r\n");
  });

  it("TCP6: canonical text, and IPv4-mapped addresses as IPv4", () => {
    const { header } = parse(v1("TCP6", "2001:DB8:0:0:0:0:0:7", "::ffff:10.0.0.1", 0, 65535));
    assert.deepEqual(header.source, { address: "2001:db8::7", port: 0 });
    assert.deepEqual(header.destination, { address: "10.0.0.1", port: 65535 });
  });

  it("UNKNOWN: the receiver uses the connection's own addresses", () => {
    assert.deepEqual(parse(text("PROXY UNKNOWN\r\n")).header, { version: 1, command: "local", tlvs: [], length: 15 });
    assert.equal(parse(text("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n")).header.command, "local");
  });

  it("the longest allowed line (107 bytes) parses; one byte more is refused", () => {
    const addr = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    const longest = v1("TCP6", addr, addr, 65535, 65535);
    assert.equal(longest.byteLength, 104);
    const padded = text(`PROXY UNKNOWN ${"x".repeat(MAX_V1_BYTES - 16)}\r\n`);
    assert.equal(padded.byteLength, MAX_V1_BYTES);
    assert.equal(parse(padded).header.length, MAX_V1_BYTES);
    assert.match(refusal(text(`PROXY UNKNOWN ${"x".repeat(MAX_V1_BYTES - 15)}\r\n`)), /longer than 107 bytes/);
    assert.match(refusal(text(`PROXY UNKNOWN ${"x".repeat(200)}`)), /longer than 107 bytes/);
  });

  it("waits for more bytes while the line is incomplete", () => {
    const r = new ProxyHeaderReader();
    assert.equal(r.push(text("PRO")), undefined);
    assert.equal(r.push(text("XY TCP4 1.2.3.4 5.6.7.8 1 2\r")), undefined);
    assert.equal(r.push(text("\nrest"))?.source?.address, "1.2.3.4");
    assert.equal(new TextDecoder().decode(r.rest()), "rest");
  });

  const bad: [string, string, RegExp][] = [
    ["plain HTTP", "GET / HTTP/1.1\r\n\r\n", /Expected a PROXY protocol header, got "GET \/ HTTP\/1\.1/],
    ["a TLS ClientHello", "\x16\x03\x01\x02\x00", /Expected a PROXY protocol header/],
    ["lowercase", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", /Expected a PROXY protocol header/],
    ["bare LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", /bare LF/],
    ["CR without LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", /CR not followed by LF/],
    ["unknown protocol", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", /unknown protocol "UDP4"/],
    ["missing field", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", /expected "PROXY TCP4 src dst sport dport"/],
    ["double space", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", /expected "PROXY TCP4 src dst sport dport"/],
    ["IPv6 in TCP4", "PROXY TCP4 ::1 5.6.7.8 1 2\r\n", /source address "::1" is not IPv4/],
    ["IPv4 in TCP6", "PROXY TCP6 ::1 5.6.7.8 1 2\r\n", /destination address "5\.6\.7\.8" is not IPv6/],
    ["leading zero octet", "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", /source address "01\.2\.3\.4" is not IPv4/],
    ["port out of range", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", /source port "65536" is not 0-65535/],
    ["port with leading zero", "PROXY TCP4 1.2.3.4 5.6.7.8 1 080\r\n", /destination port "080"/],
    ["negative port", "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", /source port "-1"/],
    ["control byte", "PROXY TCP4 1.2.3.4\x00 5.6.7.8 1 2\r\n", /non-printable byte 0x00/],
  ];
  for (const [name, input, message] of bad) {
    it(`refuses ${name}`, () => assert.match(refusal(text(input)), message));
  }

  it("after an error the reader stays dead", () => {
    const r = new ProxyHeaderReader();
    assert.throws(() => r.push(text("GET")), ProxyHeaderError);
    assert.throws(() => r.push(text("PROXY UNKNOWN\r\n")), ProxyHeaderError);
  });
});

describe("PROXY protocol v2", () => {
  it("PROXY over IPv4: addresses, ports, and the bytes after the header", () => {
    const h = v2({ src: "192.0.2.7", dst: "198.51.100.1", sport: 40000, dport: 443 });
    const { header, rest } = parse(concatBytes([h, text("\x16\x03\x01")]));
    assert.deepEqual(header, {
      version: 2,
      command: "proxy",
      source: { address: "192.0.2.7", port: 40000 },
      destination: { address: "198.51.100.1", port: 443 },
      tlvs: [],
      length: 28,
    });
    assert.deepEqual([...rest], [0x16, 0x03, 0x01]);
  });

  it("PROXY over IPv6, mapped addresses as IPv4", () => {
    assert.deepEqual(parse(v2({ src: "2001:db8::7", dst: "2001:db8::1" })).header.source, { address: "2001:db8::7", port: 5555 });
    assert.deepEqual(parse(v2({ src: "::ffff:192.0.2.9", dst: "::1" })).header.source, { address: "192.0.2.9", port: 5555 });
  });

  it("LOCAL (a health check), UNSPEC and unix sockets leave the connection's addresses", () => {
    const local = parse(v2({ command: 0 })).header;
    assert.equal(local.command, "local");
    assert.equal(local.source, undefined);
    assert.equal(parse(v2({ command: 0, familyByte: 0x00, addressBlock: new Uint8Array(0) })).header.command, "local");
    assert.equal(parse(v2({ familyByte: 0x00, addressBlock: new Uint8Array(0) })).header.command, "local");
    assert.equal(parse(v2({ familyByte: 0x31, addressBlock: new Uint8Array(216) })).header.command, "local");
    // LOCAL discards the block, family and all: a family with no address block is still LOCAL
    for (const familyByte of [0x11, 0x21, 0x31]) {
      const h = parse(v2({ command: 0, familyByte, addressBlock: new Uint8Array(0) })).header;
      assert.deepEqual(h, { version: 2, command: "local", tlvs: [], length: 16 }, `family 0x${familyByte.toString(16)}`);
    }
    assert.throws(() => parse(v2({ familyByte: 0x11, addressBlock: new Uint8Array(0) })), /cannot hold the 12-byte address block/, "PROXY still needs its addresses");
  });

  it("TLVs come back in order; a correct CRC-32C passes", () => {
    const authority = text("app.example");
    const { header } = parse(v2({ tlvs: [{ type: 0x02, value: authority }, { type: 0xe0, value: new Uint8Array([1, 2]) }], crc: true }));
    assert.deepEqual(header.tlvs.map((t) => t.type), [0x02, 0xe0, 0x03]);
    assert.deepEqual(header.tlvs[0]!.value, authority);
  });

  it("a checksummed header in a Node Buffer (whose slice() is a view, as Bun's socket data is) verifies, and leaves the input intact", () => {
    const bytes = Buffer.from(v2({ tlvs: [{ type: 0x02, value: text("a.example") }], crc: true }));
    const before = Buffer.from(bytes);
    const header = new ProxyHeaderReader().push(bytes);
    assert.deepEqual(header?.tlvs.map((t) => t.type), [0x02, 0x03]);
    assert.ok(before.equals(bytes), "the received bytes are not changed");
    assert.notEqual(header?.tlvs[1]?.value.buffer, bytes.buffer, "TLV values are copies");
  });

  it("a header up to the limit is taken, one over it refused before it arrives", () => {
    const at = v2({ tlvs: [{ type: 0x04, value: new Uint8Array(DEFAULT_MAX_V2_BYTES - 16 - 12 - 3) }] });
    assert.equal(at.byteLength, DEFAULT_MAX_V2_BYTES);
    assert.equal(parse(at).header.length, DEFAULT_MAX_V2_BYTES);
    const over = v2({ tlvs: [{ type: 0x04, value: new Uint8Array(DEFAULT_MAX_V2_BYTES - 16 - 12 - 2) }] });
    assert.match(refusal(over.subarray(0, 16)), /over the 4096-byte limit/);
    assert.match(refusal(v2({ tlvs: [{ type: 0x04, value: new Uint8Array(100) }] }), 64), /of 131 bytes is over the 64-byte limit/);
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ["a broken signature", concatBytes([text("\r\n\r\n\x00\r\nQUIX"), new Uint8Array(8)]), /bad v2 signature/],
    ["version 1 in a v2 header", v2({ version: 1 }), /version 1, expected 2/],
    ["an unknown command", v2({ command: 2 }), /unknown command 2/],
    ["an unknown family", v2({ familyByte: 0x41 }), /unknown address family\/protocol byte 0x41/],
    ["an unknown transport", v2({ familyByte: 0x13 }), /unknown address family\/protocol byte 0x13/],
    ["a datagram transport", v2({ familyByte: 0x12 }), /datagram transport on a stream connection/],
    ["a length too short for the addresses", v2({ familyByte: 0x21 }), /cannot hold the 36-byte address block/],
    ["a truncated TLV", v2({ addressBlock: concatBytes([new Uint8Array(12), new Uint8Array([0xe0, 0x00])]) }), /truncated TLV/],
    ["a TLV overrunning the header", v2({ addressBlock: concatBytes([new Uint8Array(12), new Uint8Array([0xe0, 0x00, 0x09, 1])]) }), /overruns the header/],
    ["a wrong CRC-32C", v2({ crc: true, badCrc: true }), /checksum does not match/],
    ["a checksum TLV of the wrong size", v2({ tlvs: [{ type: 0x03, value: new Uint8Array(2) }] }), /checksum TLV of 2 bytes/],
  ];
  for (const [name, input, message] of bad) {
    it(`refuses ${name}`, () => assert.match(refusal(input), message));
  }
});
