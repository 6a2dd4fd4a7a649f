import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ClientHelloError,
  ClientHelloReader,
  isGrease,
  type ClientHello,
  type ClientHelloErrorReason,
  type ClientHelloReaderOptions,
} from "../../src/protocol/client-hello.ts";
import {
  alpnExt,
  echExt,
  encodeHello,
  ext,
  groupsExt,
  keyShareExt,
  pskExt,
  recordize,
  sigAlgsExt,
  sniExt,
  u16,
  versionsExt,
  type ExtSpec,
  type HelloSpec,
} from "./client-hello-builder.ts";

const BASE: HelloSpec = {
  legacyVersion: 0x0303,
  sessionId: new Uint8Array(32),
  cipherSuites: [0x1301, 0x1302, 0xc02f],
  compressionMethods: [0],
  extensions: [sniExt("Example.COM"), alpnExt(["h2", "http/1.1"]), versionsExt([0x0304, 0x0303]), keyShareExt([[29, 32]])],
};

function hello(over: Partial<HelloSpec> = {}, cuts: number[] = []): Uint8Array {
  return recordize(encodeHello({ ...BASE, ...over }), cuts);
}

function parse(bytes: Uint8Array, options?: ClientHelloReaderOptions): ClientHello {
  const r = new ClientHelloReader(options).push(bytes);
  assert.ok(r !== undefined, "expected a complete ClientHello");
  return r;
}

function rejects(bytes: Uint8Array, reason: ClientHelloErrorReason, options?: ClientHelloReaderOptions): ClientHelloError {
  let caught: unknown;
  try {
    new ClientHelloReader(options).push(bytes);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ClientHelloError, `expected ClientHelloError "${reason}", got ${String(caught)}`);
  assert.ok(caught instanceof SyntaxError);
  assert.equal(caught.reason, reason, caught.message);
  return caught;
}

/** Push one byte at a time; returns the offset of the byte at which the reader threw. */
function failsAt(bytes: Uint8Array, reason: ClientHelloErrorReason, options?: ClientHelloReaderOptions): number {
  const reader = new ClientHelloReader(options);
  for (let i = 0; i < bytes.length; i++) {
    try {
      reader.push(bytes.subarray(i, i + 1));
    } catch (e) {
      assert.ok(e instanceof ClientHelloError, String(e));
      assert.equal(e.reason, reason, e.message);
      assert.equal(e.offset, i);
      return i;
    }
  }
  assert.fail(`no "${reason}" error`);
}

const withExts = (extensions: ExtSpec[]): Uint8Array => hello({ extensions });

describe("ClientHelloReader: parsing", () => {
  it("extracts the fields of a TLS 1.3 hello", () => {
    const h = parse(hello());
    assert.equal(h.sni, "example.com");
    assert.equal(h.sniIsIp, false);
    assert.deepEqual(h.alpn, ["h2", "http/1.1"]);
    assert.deepEqual(h.supportedVersions, [0x0304, 0x0303]);
    assert.equal(h.maxVersion, 0x0304);
    assert.equal(h.legacyVersion, 0x0303);
    assert.equal(h.recordVersion, 0x0301);
    assert.equal(h.recordCount, 1);
    assert.deepEqual(h.cipherSuites, [0x1301, 0x1302, 0xc02f]);
    assert.deepEqual(h.compressionMethods, [0]);
    assert.deepEqual(h.extensionTypes, [0, 16, 43, 51]);
    assert.deepEqual(h.keyShareGroups, [29]);
    assert.equal(h.sessionIdLength, 32);
    assert.equal(h.ech, false);
    assert.deepEqual(h.greaseValues, []);
  });

  it("waits for more bytes and keeps every pushed byte", () => {
    const bytes = hello({}, [1, 2, 3, 50]);
    const reader = new ClientHelloReader();
    assert.equal(reader.push(bytes.subarray(0, 7)), undefined);
    assert.equal(reader.push(bytes.subarray(7, bytes.length - 1)), undefined);
    assert.equal(reader.hello, undefined);
    assert.equal(reader.rest().length, 0);
    const h = reader.push(bytes.subarray(bytes.length - 1));
    assert.ok(h !== undefined);
    assert.equal(h.recordCount, 5);
    assert.deepEqual(reader.bytes(), bytes);
    assert.equal(reader.buffered, bytes.length);
  });

  it("keeps bytes after the last record as rest, also from later pushes", () => {
    const bytes = hello();
    const ccs = Uint8Array.from([0x14, 3, 3, 0, 1, 1]);
    const reader = new ClientHelloReader();
    const h = reader.push(Uint8Array.from([...bytes, ...ccs]));
    assert.ok(h !== undefined);
    const first = reader.bytes();
    assert.deepEqual(reader.rest(), ccs);
    assert.equal(reader.push(Uint8Array.from([0x17])), h);
    assert.deepEqual(reader.rest(), Uint8Array.from([...ccs, 0x17]));
    assert.deepEqual(reader.bytes(), Uint8Array.from([...bytes, ...ccs, 0x17]));
    assert.deepEqual(first, Uint8Array.from([...bytes, ...ccs]), "an earlier view is unchanged");
  });

  it("accepts a hello without extensions (pre-TLS 1.3 style)", () => {
    const h = parse(hello({ extensions: undefined, legacyVersion: 0x0301 }));
    assert.equal(h.sni, undefined);
    assert.deepEqual(h.extensionTypes, []);
    assert.deepEqual(h.supportedVersions, []);
    assert.equal(h.maxVersion, 0x0301);
    const empty = parse(hello({ extensions: [] }));
    assert.deepEqual(empty.extensionTypes, []);
  });

  it("collects GREASE values and ignores them in maxVersion", () => {
    const h = parse(
      hello({
        cipherSuites: [0x2a2a, 0x1301],
        extensions: [ext(0x5a5a, []), versionsExt([0xdada, 0x0304, 0x0303]), groupsExt([0x8a8a, 29]), keyShareExt([[0x8a8a, 1], [29, 32]]), sigAlgsExt([0x0403]), ext(0xfafa, [0])],
      }),
    );
    assert.deepEqual(h.greaseValues, [0x2a2a, 0x5a5a, 0xdada, 0x8a8a, 0xfafa]);
    assert.equal(h.maxVersion, 0x0304);
    assert.deepEqual(h.keyShareGroups, [0x8a8a, 29]);
    assert.deepEqual(h.supportedGroups, [0x8a8a, 29]);
    assert.deepEqual(h.signatureAlgorithms, [0x0403]);
    assert.equal(isGrease(0x0a0a), true);
    assert.equal(isGrease(0x0a1a), false);
    assert.equal(isGrease(0x1a0a), false);
  });

  it("reports encrypted_client_hello and skips unknown extensions", () => {
    const h = parse(withExts([sniExt("public.example"), ext(0x4469, [1, 2, 3]), echExt(), ext(0xffff, [])]));
    assert.equal(h.ech, true);
    assert.equal(h.sni, "public.example");
    assert.deepEqual(h.extensionTypes, [0, 0x4469, 0xfe0d, 0xffff]);
  });

  it("reports the drafts' encrypted_client_hello code points and ESNI as hidden names; neighbours are not", () => {
    for (const type of [0xfe08, 0xfe09, 0xfe0a, 0xfe0b, 0xfe0c, 0xffce]) {
      assert.equal(parse(withExts([sniExt("public.example"), ext(type, [0, 1, 2])])).ech, true, type.toString(16));
    }
    for (const type of [0xfe07, 0xfe0e, 0xffcd, 0xffcf]) {
      assert.equal(parse(withExts([sniExt("public.example"), ext(type, [0, 1, 2])])).ech, false, type.toString(16));
    }
  });

  it("accepts pre_shared_key as the last extension", () => {
    assert.deepEqual(parse(withExts([sniExt("a.b"), pskExt()])).extensionTypes, [0, 41]);
  });

  it("flags IP-literal SNI and lowercases names", () => {
    const cases: [string, string, boolean][] = [
      ["192.0.2.1", "192.0.2.1", true],
      ["::1", "::1", true],
      ["2001:DB8::1", "2001:db8::1", true],
      ["127.1", "127.1", true],
      ["a.0x7F", "a.0x7f", true],
      ["010.0.0.1", "010.0.0.1", true],
      ["My_Host-1.Example.COM", "my_host-1.example.com", false],
      ["1.2.3.com", "1.2.3.com", false],
      ["localhost", "localhost", false],
    ];
    for (const [name, sni, ip] of cases) {
      const h = parse(withExts([sniExt(name)]));
      assert.equal(h.sni, sni, name);
      assert.equal(h.sniIsIp, ip, name);
    }
  });

  it("ignores server_name entries of unknown type", () => {
    const body = [...u16(8), 5, ...u16(1), 0x41, 0, ...u16(1), 0x62];
    assert.equal(parse(withExts([ext(0, body)])).sni, "b");
    assert.equal(parse(withExts([ext(0, [...u16(4), 5, ...u16(1), 0x41])])).sni, undefined);
  });

  it("honours larger configured limits", () => {
    const big = hello({ extensions: [ext(0x1234, new Array(60000).fill(1))] }, [16000, 32000, 48000]);
    assert.equal(parse(big).recordCount, 4);
  });

  it("rejects invalid limits", () => {
    assert.throws(() => new ClientHelloReader({ maxRecords: 0 }), RangeError);
    assert.throws(() => new ClientHelloReader({ maxBytes: Number.NaN }), RangeError);
  });
});

describe("ClientHelloReader: errors, as early as possible", () => {
  it("fails on the first byte of plain HTTP", () => {
    const e = rejects(new TextEncoder().encode("G"), "not-tls");
    assert.equal(e.offset, 0);
    assert.match(e.message, /"0x47"/);
  });

  it("checks record headers byte by byte", () => {
    assert.equal(failsAt(Uint8Array.from([0x16, 2, 0]), "bad-record"), 1);
    assert.equal(failsAt(Uint8Array.from([0x16, 3, 5]), "bad-record"), 2);
    assert.equal(failsAt(Uint8Array.from([0x16, 3, 1, 0x41, 0]), "bad-record"), 3);
    assert.equal(failsAt(Uint8Array.from([0x16, 3, 1, 0x40, 1]), "bad-record"), 4);
    assert.equal(failsAt(Uint8Array.from([0x16, 3, 1, 0, 0]), "bad-record"), 4);
  });

  it("rejects a handshake message other than ClientHello at its type byte", () => {
    assert.equal(failsAt(Uint8Array.from([0x16, 3, 3, 0, 10, 2, 0, 0, 6]), "not-client-hello"), 5);
  });

  it("rejects a ClientHello over the size limit at the length byte that proves it", () => {
    assert.equal(failsAt(Uint8Array.from([0x16, 3, 1, 0, 10, 1, 2, 0, 0]), "too-large"), 6);
    assert.equal(failsAt(Uint8Array.from([0x16, 3, 1, 0, 10, 1, 0, 4, 0]), "too-large", { maxBytes: 1000 }), 7);
    assert.equal(failsAt(Uint8Array.from([0x16, 3, 1, 0, 10, 1, 0, 3, 0xe9]), "too-large", { maxBytes: 1000 }), 8);
    const ok = hello({ extensions: [ext(0x1234, new Array(900).fill(1))] });
    rejects(ok, "too-large", { maxBytes: ok.length - 10 });
    assert.ok(parse(ok, { maxBytes: ok.length - 9 }));
  });

  it("limits the number of records", () => {
    const bytes = hello({}, [10, 20, 30]);
    assert.equal(parse(bytes, { maxRecords: 4 }).recordCount, 4);
    const at = failsAt(bytes, "too-many-records", { maxRecords: 3 });
    assert.equal(bytes[at], 0x16);
  });

  it("rejects a record that carries bytes after the ClientHello", () => {
    const msg = encodeHello(BASE);
    const padded = recordize(Uint8Array.from([...msg, 0x0f]));
    assert.equal(failsAt(padded, "bad-record"), 8);
    // Known only once a later record header arrives.
    const two = recordize(Uint8Array.from([...msg, 0x0f]), [4]);
    assert.equal(failsAt(two, "bad-record"), 13);
  });

  it("rejects another content type in the middle of the ClientHello", () => {
    const bytes = hello({}, [40]);
    const bad = bytes.slice();
    bad[45] = 0x17;
    assert.equal(failsAt(bad, "bad-record"), 45);
  });

  it("rejects malformed fixed fields", () => {
    rejects(hello({ legacyVersion: 0x0203 }), "bad-version");
    rejects(recordize(Uint8Array.from([1, 0, 0, 0])), "bad-length");
    rejects(recordize(Uint8Array.from([1, 0, 0, 10, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0])), "bad-length");
    rejects(hello({ cipherSuites: [] }), "bad-cipher-suites");
    rejects(hello({ compressionMethods: [] }), "bad-compression");
    rejects(hello({ compressionMethods: [1] }), "bad-compression");
  });

  it("rejects an over-long session id at its length byte", () => {
    const bytes = hello({ sessionId: new Uint8Array(32) }).slice();
    bytes[5 + 4 + 34] = 33;
    assert.equal(failsAt(bytes, "bad-session-id"), 43);
  });

  it("rejects an odd cipher suites length before the suites arrive", () => {
    const bytes = hello().slice();
    const at = 5 + 4 + 2 + 32 + 1 + 32 + 1;
    bytes[at] = 5;
    assert.equal(failsAt(bytes, "bad-cipher-suites"), at);
  });

  it("rejects lengths that overrun the message as soon as they are read", () => {
    const msg = encodeHello(BASE);
    const csLenAt = 4 + 2 + 32 + 1 + 32;
    const bad = msg.slice();
    bad[csLenAt] = 0x7f;
    assert.equal(failsAt(recordize(bad), "bad-cipher-suites"), 5 + csLenAt + 1);
  });

  it("rejects an extensions block whose length does not match", () => {
    const msg = encodeHello(BASE);
    const extLenAt = 4 + 2 + 32 + 1 + 32 + 2 + 6 + 2;
    const bad = msg.slice();
    bad[extLenAt + 1] = (bad[extLenAt + 1] ?? 0) - 1;
    rejects(recordize(bad), "bad-length");
  });

  it("rejects extension lengths that overrun the block", () => {
    const msg = encodeHello({ ...BASE, extensions: [ext(0x1234, [1, 2, 3]), ext(0x2345, [4])] });
    const bad = msg.slice();
    bad[bad.length - 2] = 2; // last extension claims 2 bytes, 1 left
    rejects(recordize(bad), "truncated-extension");
  });

  it("rejects duplicate extensions and pre_shared_key not last", () => {
    rejects(withExts([ext(0x1234, []), ext(0x1234, [])]), "duplicate-extension");
    rejects(withExts([sniExt("a.b"), alpnExt(["h2"]), sniExt("c.d")]), "duplicate-extension");
    rejects(withExts([pskExt(), sniExt("a.b")]), "psk-not-last");
  });

  it("rejects malformed known extensions", () => {
    rejects(withExts([ext(16, [0, 0])]), "bad-extension");
    rejects(withExts([ext(16, [0, 3, 0, 1, 0x61])]), "bad-extension");
    rejects(withExts([ext(16, [0, 2, 2, 0x61])]), "bad-extension");
    rejects(withExts([ext(16, [0, 3, 2, 0x61, 0x62, 0x63])]), "bad-extension");
    rejects(withExts([ext(43, [3, 3, 4, 3])]), "bad-extension");
    rejects(withExts([ext(43, [0])]), "bad-extension");
    rejects(withExts([ext(43, [])]), "bad-extension");
    rejects(withExts([ext(10, [0, 1, 29])]), "bad-extension");
    rejects(withExts([ext(13, [0, 0])]), "bad-extension");
    rejects(withExts([ext(11, [0])]), "bad-extension");
    rejects(withExts([ext(51, [0, 4, 0, 29, 0, 0])]), "bad-extension");
    rejects(withExts([ext(51, [0, 5, 0, 29, 0, 2, 1])]), "bad-extension");
    rejects(withExts([ext(51, [0, 2, 0, 29])]), "bad-extension");
    assert.deepEqual(parse(withExts([ext(51, [0, 0])])).keyShareGroups, []);
  });

  it("rejects malformed server_name", () => {
    const name = (bytes: number[]): Uint8Array => withExts([ext(0, [...u16(bytes.length + 3), 0, ...u16(bytes.length), ...bytes])]);
    const text = (s: string): Uint8Array => withExts([sniExt(s)]);
    rejects(withExts([ext(0, [])]), "bad-sni");
    rejects(withExts([ext(0, [0, 0])]), "bad-sni");
    rejects(withExts([ext(0, [0, 2, 0, 0])]), "bad-sni");
    rejects(withExts([ext(0, [0, 4, 0, 0, 2, 0x61])]), "bad-sni");
    rejects(withExts([ext(0, [0, 8, 0, 0, 1, 0x61, 0, 0, 1, 0x62])]), "bad-sni");
    rejects(name([]), "bad-sni");
    rejects(name([0x61, 0xc3, 0xa9]), "bad-sni");
    rejects(name([0x61, 0x00]), "bad-sni");
    rejects(text("example.com."), "bad-sni");
    rejects(text(".example.com"), "bad-sni");
    rejects(text("a..b"), "bad-sni");
    rejects(text("a b"), "bad-sni");
    rejects(text("a/b"), "bad-sni");
    rejects(text("[::1]"), "bad-sni");
    rejects(text("a:b"), "bad-sni");
    rejects(text(`${"a".repeat(64)}.com`), "bad-sni");
    rejects(text(Array(64).fill("abc").join(".")), "bad-sni");
    assert.equal(parse(text(`${"a".repeat(63)}.com`)).sni?.length, 67);
    const e = rejects(name([0x61, 0x0a]), "bad-sni");
    assert.match(e.message, /"a\\x0a"/);
  });

  it("stays failed: later pushes throw the same error", () => {
    const reader = new ClientHelloReader();
    let first: unknown;
    try {
      reader.push(Uint8Array.from([0x47, 0x45]));
    } catch (e) {
      first = e;
    }
    assert.ok(first instanceof ClientHelloError);
    assert.throws(() => reader.push(hello()), (e: unknown) => e === first);
    assert.deepEqual(reader.bytes(), Uint8Array.from([0x47, 0x45]), "the bytes stay available, e.g. for an HTTP fallback");
  });
});

describe("ClientHelloReader: large input", () => {
  // Speed is measured in scripts/bench/client-hello.ts, never asserted here.
  it("completes a 64 KiB hello pushed one byte at a time, equal to parsing it whole", () => {
    const big = hello({ extensions: [ext(0x1234, new Array(65000).fill(7))] }, [16000, 32000, 48000, 64000]);
    const reader = new ClientHelloReader();
    let h: ClientHello | undefined;
    for (let i = 0; i < big.length; i++) {
      h = reader.push(big.subarray(i, i + 1));
      if (i < big.length - 1) assert.equal(h, undefined);
    }
    assert.ok(h !== undefined);
    assert.deepEqual(h, parse(big));
  });
});
