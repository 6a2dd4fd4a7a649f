import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseSocks4Request, SOCKS4_MAX_STRING, socks4Reply, Socks4Reply } from "../../src/protocol/socks4.ts";
import { SocksError, SocksMessageReader } from "../../src/protocol/socks5.ts";

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
/** A SOCKS4 request: `ip` four bytes; `name` makes it 4a. */
const request = (command: number, port: number, ip: readonly number[], userId: string, name?: string) =>
  Uint8Array.from([4, command, port >> 8, port & 0xff, ...ip, ...ascii(userId), 0, ...(name === undefined ? [] : [...ascii(name), 0])]);

/** Parses `bytes` pushed one at a time: the value once whole, and what followed it. */
function byteAtATime(bytes: Uint8Array) {
  const reader = new SocksMessageReader(parseSocks4Request);
  for (let i = 0; i < bytes.length; i++) {
    const value = reader.push(bytes.subarray(i, i + 1));
    if (value) return { value, at: i + 1, rest: reader.rest() };
  }
  return undefined;
}

describe("SOCKS4 and 4a requests", () => {
  it("SOCKS4: an IPv4 destination and a USERID, byte by byte", () => {
    const got = byteAtATime(request(1, 443, [192, 0, 2, 7], "alice"));
    assert.deepEqual(got?.value, { command: 1, port: 443, addressType: "ipv4", host: "192.0.2.7", userId: "alice" });
    assert.equal(got?.at, 14);
  });

  it("SOCKS4a: 0.0.0.x says a name follows the USERID; bytes after the request are left", () => {
    const bytes = Uint8Array.from([...request(1, 80, [0, 0, 0, 9], "", "Example.COM"), 0x47, 0x45]);
    const reader = new SocksMessageReader(parseSocks4Request);
    assert.deepEqual(reader.push(bytes), { command: 1, port: 80, addressType: "domain", host: "Example.COM", userId: "" });
    assert.deepEqual([...reader.rest()], [0x47, 0x45]);
    assert.equal(byteAtATime(request(1, 80, [0, 0, 0, 1], "u", "a.b"))?.value.host, "a.b");
    assert.equal(byteAtATime(request(1, 80, [0, 0, 0, 0], "u"))?.value.host, "0.0.0.0", "0.0.0.0 is an address, not 4a");
  });

  it("a USERID that is not UTF-8 (Java sends ISO-8859-1) does not refuse the request: it is read with U+FFFD", () => {
    const got = parseSocks4Request(Uint8Array.from([4, 1, 1, 187, 0, 0, 0, 1, 0x4a, 0x6f, 0x73, 0xe9, 0, ...ascii("a.test"), 0]));
    assert.deepEqual(got?.value, { command: 1, port: 443, addressType: "domain", host: "a.test", userId: "Jos\ufffd" });
  });

  it("any command parses (BIND is refused by the flow)", () => {
    assert.equal(byteAtATime(request(2, 21, [10, 0, 0, 1], ""))?.value.command, 2);
  });

  it("throws on what is not a SOCKS4 request: version, over-long or empty strings, bad UTF-8", () => {
    const cases: [Uint8Array, RegExp][] = [
      [Uint8Array.of(5, 1, 0), /version 5, expected 4/],
      [request(1, 80, [1, 2, 3, 4], "u".repeat(SOCKS4_MAX_STRING + 1)), /USERID longer than 255 bytes/],
      [request(1, 80, [0, 0, 0, 1], "", "n".repeat(SOCKS4_MAX_STRING + 1)), /destination name longer than 255 bytes/],
      [request(1, 80, [0, 0, 0, 1], "", ""), /empty destination name/],
      [Uint8Array.from([4, 1, 0, 80, 0, 0, 0, 1, 0, 0xff, 0xfe, 0]), /destination name is not UTF-8/],
    ];
    for (const [bytes, message] of cases) {
      assert.throws(() => parseSocks4Request(bytes), (e: unknown) => e instanceof SocksError && message.test(e.message), String(message));
    }
    // the longest strings allowed parse
    assert.equal(byteAtATime(request(1, 80, [0, 0, 0, 1], "u".repeat(255), "n".repeat(255)))?.value.host.length, 255);
    // a string without its NUL is incomplete up to the limit, then malformed
    assert.equal(parseSocks4Request(Uint8Array.from([4, 1, 0, 80, 1, 2, 3, 4, ...ascii("u".repeat(255))])), undefined);
  });

  it("replies: 8 bytes, VN 0, 90 granted or 91 rejected", () => {
    assert.deepEqual([...socks4Reply(Socks4Reply.granted)], [0, 90, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...socks4Reply(Socks4Reply.rejected)], [0, 91, 0, 0, 0, 0, 0, 0]);
  });
});
