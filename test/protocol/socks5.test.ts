import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  credentialsAnswer,
  methodChoice,
  parseCredentials,
  parseCredentialsAnswer,
  parseGreeting,
  parseMethodChoice,
  parseReply,
  parseRequest,
  type Parsed,
  SocksError,
  SocksMessageReader,
  SocksReply,
  socksConnectRequest,
  socksCredentials,
  socksGreeting,
  socksReply,
} from "../../src/protocol/socks5.ts";
import { bytes } from "./socks5-builder.ts";

/** Every strict prefix is incomplete, and feeding the message a byte at a time gives the same value. */
function checkIncremental<T>(parse: (b: Uint8Array) => Parsed<T>, message: Uint8Array, trailing = bytes()): T {
  const whole = parse(message);
  assert.ok(whole, "the whole message parses");
  assert.equal(whole.length, message.length);
  for (let i = 0; i < message.length; i++) assert.equal(parse(message.subarray(0, i)), undefined, `prefix of ${i} bytes`);
  const reader = new SocksMessageReader(parse);
  const all = bytes(message, trailing);
  let value: T | undefined;
  for (let i = 0; i < all.length && value === undefined; i++) value = reader.push(all.subarray(i, i + 1));
  assert.deepEqual(value, whole.value);
  const split = new SocksMessageReader(parse);
  assert.deepEqual(split.push(all), whole.value);
  assert.deepEqual(Array.from(split.rest()), Array.from(trailing), "bytes after the message are kept");
  return whole.value;
}

describe("SOCKS5 greeting", () => {
  it("parses the methods, incrementally", () => {
    assert.deepEqual(checkIncremental(parseGreeting, bytes(5, 2, 0, 2), bytes(5, 1, 0)), { methods: [0, 2] });
    assert.deepEqual(checkIncremental(parseGreeting, bytes(5, 255, ...new Array<number>(255).fill(1))).methods.length, 255);
  });
  it("refuses other protocols at the first byte, saying which", () => {
    const cases: [Uint8Array, RegExp][] = [
      [bytes(4, 1, 0, 80), /SOCKS version 4 is not supported/],
      [bytes("GET / HTTP/1.1\r\n"), /HTTP on a SOCKS5 listener/],
      [bytes("CONNECT a:443 HTTP/1.1\r\n"), /HTTP on a SOCKS5 listener/],
      [bytes(0x16, 3, 1), /TLS on a SOCKS5 listener/],
      [bytes(0), /first byte is 0x00, expected 0x05/],
    ];
    for (const [input, message] of cases) {
      assert.throws(() => parseGreeting(input.subarray(0, 1)), (e: unknown) => e instanceof SocksError && message.test(e.message));
    }
  });
  it("refuses a greeting without methods", () => {
    assert.throws(() => parseGreeting(bytes(5, 0)), /offers no authentication method/);
  });
});

describe("SOCKS5 credentials (RFC 1929)", () => {
  it("parses user and password in UTF-8, incrementally", () => {
    assert.deepEqual(checkIncremental(parseCredentials, bytes(1, 5, "alice", 6, "s3cr3t"), bytes(5, 1)), { user: "alice", password: "s3cr3t" });
    const user = new TextEncoder().encode("jürgen");
    assert.deepEqual(checkIncremental(parseCredentials, bytes(1, user.length, user, 0)), { user: "jürgen", password: "" });
    const long = "p".repeat(255);
    assert.equal(checkIncremental(parseCredentials, bytes(1, 255, "u".repeat(255), 255, long)).password, long);
  });
  it("refuses a wrong version, an empty user and bytes that are not UTF-8", () => {
    assert.throws(() => parseCredentials(bytes(5, 1, 0)), /sub-negotiation version 5, expected 1/);
    assert.throws(() => parseCredentials(bytes(1, 0, 0)), /Empty user name/);
    assert.throws(() => parseCredentials(bytes(1, 1, 0xff, 0)), /not UTF-8/);
  });
});

describe("SOCKS5 request", () => {
  it("parses a name, IPv4 and IPv6 destination, incrementally", () => {
    assert.deepEqual(checkIncremental(parseRequest, bytes(5, 1, 0, 3, 11, "example.com", 1, 187), bytes(0x16, 3, 1)), {
      command: 1,
      addressType: "domain",
      host: "example.com",
      port: 443,
    });
    assert.deepEqual(checkIncremental(parseRequest, bytes(5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90)), {
      command: 1,
      addressType: "ipv4",
      host: "127.0.0.1",
      port: 8080,
    });
    assert.deepEqual(checkIncremental(parseRequest, bytes(5, 2, 0, 4, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff)), {
      command: 2,
      addressType: "ipv6",
      host: "2001:db8::1",
      port: 65535,
    });
  });
  it("refuses malformed requests with the reply that fits", () => {
    const reply = (input: Uint8Array) => {
      try {
        parseRequest(input);
      } catch (e) {
        assert.ok(e instanceof SocksError);
        return [e.reply, e.message];
      }
      assert.fail("expected a SocksError");
    };
    assert.deepEqual(reply(bytes(4, 1, 0, 1)), [SocksReply.generalFailure, "Request version 4, expected 5"]);
    assert.deepEqual(reply(bytes(5, 1, 1, 1)), [SocksReply.generalFailure, "Reserved request byte is 1, expected 0"]);
    assert.deepEqual(reply(bytes(5, 1, 0, 2)), [SocksReply.addressTypeNotSupported, "Address type 2 is not one of 1 (IPv4), 3 (name), 4 (IPv6)"]);
    assert.deepEqual(reply(bytes(5, 1, 0, 3, 0)), [SocksReply.hostUnreachable, "Empty destination name"]);
    assert.deepEqual(reply(bytes(5, 1, 0, 3, 1, 0xc3, 0, 80)), [SocksReply.hostUnreachable, "Destination name is not UTF-8"]);
  });
  it("never reads past the bounds of its message, whatever the length bytes say", () => {
    for (let n = 0; n < 256; n++) {
      const input = bytes(5, 1, 0, 3, n, "x".repeat(n), 0, 80);
      const parsed = n === 0 ? undefined : parseRequest(input);
      if (n > 0) assert.equal(parsed?.length, input.length);
    }
  });
});

describe("SOCKS5 answers", () => {
  it("encodes method choices, credential answers and replies", () => {
    assert.deepEqual(Array.from(methodChoice(2)), [5, 2]);
    assert.deepEqual(Array.from(methodChoice(0xff)), [5, 0xff]);
    assert.deepEqual(Array.from(credentialsAnswer(true)), [1, 0]);
    assert.deepEqual(Array.from(credentialsAnswer(false)), [1, 1]);
    assert.deepEqual(Array.from(socksReply(SocksReply.succeeded)), [5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(socksReply(SocksReply.notAllowed, { address: "10.1.2.3", port: 1080 })), [5, 2, 0, 1, 10, 1, 2, 3, 4, 56]);
    assert.deepEqual(Array.from(socksReply(SocksReply.hostUnreachable, { address: "::1", port: 1 })), [5, 4, 0, 4, ...new Array<number>(15).fill(0), 1, 0, 1]);
    assert.throws(() => socksReply(SocksReply.succeeded, { address: "example.com", port: 1 }), TypeError);
  });
  it("round-trip: a reply parses as a request-shaped message with the same address", () => {
    const reply = socksReply(SocksReply.succeeded, { address: "192.0.2.7", port: 443 });
    const asRequest = Uint8Array.from(reply);
    asRequest[1] = 1;
    assert.deepEqual(parseRequest(asRequest)?.value, { command: 1, addressType: "ipv4", host: "192.0.2.7", port: 443 });
  });
});

describe("SOCKS5 client side", () => {
  it("encodes the greeting, credentials and a request by name, IPv4 or IPv6, as the server side parses them", () => {
    assert.deepEqual(Array.from(socksGreeting([0, 2])), [5, 2, 0, 2]);
    assert.deepEqual(parseGreeting(socksGreeting([0]))?.value, { methods: [0] });
    assert.deepEqual(parseCredentials(socksCredentials("gw", "pä ss"))?.value, { user: "gw", password: "pä ss" });
    assert.deepEqual(Array.from(socksConnectRequest("a.b", 443)), [5, 1, 0, 3, 3, 0x61, 0x2e, 0x62, 1, 187]);
    assert.deepEqual(parseRequest(socksConnectRequest("192.0.2.1", 25))?.value, { command: 1, addressType: "ipv4", host: "192.0.2.1", port: 25 });
    assert.deepEqual(parseRequest(socksConnectRequest("2001:db8::1", 8443))?.value, { command: 1, addressType: "ipv6", host: "2001:db8::1", port: 8443 });
    assert.throws(() => socksConnectRequest("x".repeat(256), 1), /1-255 bytes, got 256/);
    assert.throws(() => socksCredentials("", "pw"), TypeError);
    assert.throws(() => socksCredentials("gw", "p".repeat(256)), TypeError);
  });
  it("reads the method choice, the sign-in answer and a reply, incrementally", () => {
    assert.equal(checkIncremental(parseMethodChoice, bytes(5, 2)), 2);
    assert.throws(() => parseMethodChoice(bytes(0x48, 0x54)), /Method choice version 72, expected 5 \(is it a SOCKS5 proxy\?\)/);
    assert.equal(checkIncremental(parseCredentialsAnswer, bytes(1, 0)), true);
    assert.equal(checkIncremental(parseCredentialsAnswer, bytes(1, 7)), false);
    assert.throws(() => parseCredentialsAnswer(bytes(5, 0)), /Sign-in answer version 5, expected 1/);
    assert.deepEqual(checkIncremental(parseReply, socksReply(SocksReply.ttlExpired, { address: "::1", port: 1080 }), bytes(9, 9)), {
      reply: 6,
      addressType: "ipv6",
      host: "::1",
      port: 1080,
    });
    assert.deepEqual(checkIncremental(parseReply, bytes(5, 0, 0, 3, 4, "edge", 0, 80)), { reply: 0, addressType: "domain", host: "edge", port: 80 });
    assert.throws(() => parseReply(bytes(5, 0, 1, 1)), /Reserved reply byte is 1, expected 0/);
    assert.throws(() => parseReply(bytes(4, 90)), /Reply version 4, expected 5/);
  });
});
