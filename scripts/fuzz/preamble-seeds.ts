/**
 * Valid seeds for the preamble targets (`preamble-targets.ts`), with what a correct parser
 * reports for each, and hand-written corner cases.
 *
 * @module
 */
import fc from "fast-check";
import { concatBytes } from "../../src/core/bytes.ts";
import { formatIp } from "../../src/core/ip.ts";
import { v1, v2 } from "../../test/protocol/proxy-header-builder.ts";
import { bytes, socksCredentials, socksRequestArb } from "../../test/protocol/socks5-builder.ts";
import type { Seed } from "./mutate.ts";
import type { SeedCase } from "./seeds.ts";

const seed = (b: Uint8Array): Seed => ({ bytes: b, fields: [] });
const port = fc.integer({ min: 0, max: 65535 });
const utf8Text = (max: number, min = 1) =>
  fc.string({ minLength: min, maxLength: max, unit: "grapheme" }).filter((s) => new TextEncoder().encode(s).length <= 255);

/** What a SOCKS5 seed parses to on the side it was written for: its messages in order, and where the last ended. */
export interface SocksExpectation {
  readonly side: "server" | "client";
  readonly values: readonly unknown[];
  readonly end: number;
}


/** A client's whole opening: greeting (with or without method 2), credentials when offered, request, then its first bytes. */
const openingArb: fc.Arbitrary<SeedCase<SocksExpectation>> = fc
  .record({
    methods: fc.uniqueArray(fc.integer({ min: 0, max: 254 }), { minLength: 1, maxLength: 6 }),
    user: utf8Text(20),
    password: utf8Text(20, 0),
    request: socksRequestArb,
    tail: fc.uint8Array({ maxLength: 24 }),
  })
  .map((g) => {
    const greeting = bytes(5, g.methods.length, Uint8Array.from(g.methods));
    const signIn = g.methods.includes(2);
    const parts = [greeting, ...(signIn ? [socksCredentials(g.user, g.password)] : []), g.request.wire];
    const opening = concatBytes(parts);
    const values = [{ methods: g.methods }, ...(signIn ? [{ user: g.user, password: g.password }] : []), g.request.value];
    return { seed: seed(concatBytes([opening, g.tail])), expected: { side: "server", values, end: opening.length } };
  });

/** A parent's answers: method choice, the sign-in answer after method 2, then (unless refused) its reply and first bytes. */
const answersArb: fc.Arbitrary<SeedCase<SocksExpectation>> = fc
  .record({
    method: fc.oneof(fc.constantFrom(0, 2, 2, 0xff), fc.integer({ min: 0, max: 254 })),
    signedIn: fc.nat({ max: 4 }).map((n) => n !== 0),
    code: fc.integer({ min: 0, max: 8 }),
    bound: socksRequestArb,
    tail: fc.uint8Array({ maxLength: 24 }),
  })
  .map((g) => {
    const parts: Uint8Array[] = [bytes(5, g.method)];
    const values: unknown[] = [g.method];
    let replies = g.method !== 0xff;
    if (g.method === 2) {
      parts.push(bytes(1, g.signedIn ? 0 : 1));
      values.push(g.signedIn);
      replies = g.signedIn;
    }
    if (replies) {
      const wire = Uint8Array.from(g.bound.wire);
      wire[1] = g.code;
      parts.push(wire);
      const { command: _, ...address } = g.bound.value;
      values.push({ reply: g.code, ...address });
    }
    const answers = concatBytes(parts);
    return { seed: seed(concatBytes([answers, g.tail])), expected: { side: "client", values, end: answers.length } };
  });

/** A SOCKS4 or 4a client's request (a name makes it 4a), then its first bytes. */
const socks4Arb: fc.Arbitrary<SeedCase<SocksExpectation>> = fc
  .record({
    command: fc.constantFrom(1, 1, 2),
    port,
    ip: fc.tuple(fc.integer({ min: 1, max: 255 }), fc.nat({ max: 255 }), fc.nat({ max: 255 }), fc.nat({ max: 255 })),
    userId: utf8Text(30, 0).filter((s) => !s.includes("\0")),
    name: fc.option(utf8Text(40).filter((s) => !s.includes("\0")), { nil: undefined }),
    tail: fc.uint8Array({ maxLength: 24 }),
  })
  .map((g) => {
    const enc = new TextEncoder();
    const ip = g.name === undefined ? g.ip : [0, 0, 0, 1];
    const request = concatBytes([
      Uint8Array.from([4, g.command, g.port >> 8, g.port & 0xff, ...ip]),
      enc.encode(g.userId),
      Uint8Array.of(0),
      ...(g.name === undefined ? [] : [enc.encode(g.name), Uint8Array.of(0)]),
    ]);
    const value = g.name === undefined
      ? { command: g.command, port: g.port, addressType: "ipv4", host: ip.join("."), userId: g.userId }
      : { command: g.command, port: g.port, addressType: "domain", host: g.name, userId: g.userId };
    return { seed: seed(concatBytes([request, g.tail])), expected: { side: "server", values: [value], end: request.length } };
  });

/** SOCKS seeds for both sides: a client's opening (SOCKS5, or SOCKS4/4a: what a SOCKS listener reads) and a parent's answers. */
export const socksSeedArb: fc.Arbitrary<SeedCase<SocksExpectation>> = fc.oneof(openingArb, socks4Arb, answersArb);

/** What a PROXY seed parses to (the fields a builder sets). */
export interface ProxyExpectation {
  readonly version: 1 | 2;
  readonly source: { readonly address: string; readonly port: number } | undefined;
  readonly length: number;
}

const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIp(b));
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIp(b));
const tlv = fc.record({ type: fc.integer({ min: 0, max: 255 }).filter((t) => t !== 0x03), value: fc.uint8Array({ maxLength: 40 }) });

/** v1 lines and v2 headers (PROXY or LOCAL, IPv4 or IPv6, TLVs, a CRC), then the client's first bytes. */
export const proxySeedArb: fc.Arbitrary<SeedCase<ProxyExpectation>> = fc
  .record({
    v: fc.constantFrom(1, 2),
    six: fc.boolean(),
    src4: ipv4,
    dst4: ipv4,
    src6: ipv6,
    dst6: ipv6,
    sport: port,
    dport: port,
    local: fc.nat({ max: 4 }).map((n) => n === 0),
    tlvs: fc.array(tlv, { maxLength: 4 }),
    crc: fc.boolean(),
    tail: fc.uint8Array({ maxLength: 24 }),
  })
  .map((g) => {
    const [src, dst] = g.six ? [g.src6, g.dst6] : [g.src4, g.dst4];
    const header = g.v === 1
      ? v1(g.six ? "TCP6" : "TCP4", src, dst, g.sport, g.dport)
      : v2({ command: g.local ? 0 : 1, src, dst, sport: g.sport, dport: g.dport, tlvs: g.tlvs, crc: g.crc });
    const relayed = g.v === 1 || !g.local;
    return {
      seed: seed(concatBytes([header, g.tail])),
      expected: { version: g.v as 1 | 2, source: relayed ? { address: src, port: g.sport } : undefined, length: header.length },
    };
  });

/** SOCKS corner cases: SOCKS4, HTTP and TLS on the port, zero methods, empty names, odd address types. */
export const SOCKS_CORNERS: readonly Seed[] = [
  bytes(4, 1, 0, 80, 127, 0, 0, 1, 0),
  bytes("CONNECT a.test:443 HTTP/1.1\r\n\r\n"),
  bytes(0x16, 3, 1, 0, 5),
  bytes(5, 0),
  bytes(5, 1, 2, 1, 0, 0),
  bytes(5, 1, 2, 1, 1, 0x61, 0),
  bytes(5, 1, 2, 1, 2, 0xff, 0xfe, 1, 0x61),
  bytes(5, 1, 0, 5, 1, 0, 3, 0, 0, 80),
  bytes(5, 1, 0, 5, 1, 0, 2, 0, 0, 80),
  bytes(5, 1, 0, 5, 1, 1, 1, 127, 0, 0, 1, 0, 80),
  bytes(5, 1, 0, 5, 9, 0, 3, 1, 0xc3, 0, 80),
  bytes(5, 0xff, ...Array.from({ length: 255 }, (_, i) => i)),
].map(seed);

/** PROXY corner cases: near-misses of both versions, limits, UNKNOWN, unix family, bad CRC. */
export const PROXY_CORNERS: readonly Seed[] = [
  bytes("PROXY UNKNOWN\r\n"),
  bytes("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"),
  bytes("PROXY TCP4 1.2.3.4 5.6.7.8 80 443\n"),
  bytes("PROXY TCP4 1.2.3.4 5.6.7.8 080 443\r\n"),
  bytes("PROXY TCP4 1.2.3.4 5.6.7.8 65536 443\r\n"),
  bytes("PROXY TCP6 1.2.3.4 5.6.7.8 80 443\r\n"),
  bytes(`PROXY TCP4 ${"1".repeat(120)}\r\n`),
  v2({ familyByte: 0x31, addressBlock: new Uint8Array(216) }),
  v2({ familyByte: 0x00, addressBlock: new Uint8Array(0) }),
  v2({ crc: true, badCrc: true }),
  v2({ version: 1 }),
  v2({ command: 2 }),
  v2({ familyByte: 0x11, addressBlock: new Uint8Array(5) }),
].map(seed);
