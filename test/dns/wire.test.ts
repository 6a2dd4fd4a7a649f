import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeResponse, DnsWireError, EDNS_UDP_PAYLOAD, encodeQuery, TYPE_A, TYPE_AAAA } from "../../src/dns/wire.ts";
import { buildResponse, ednsPayloadOf, questionOf } from "./_dns-message.ts";

const query = (name: string, type: typeof TYPE_A | typeof TYPE_AAAA = TYPE_A, id = 0x1234) => encodeQuery(id, name, type);

describe("encodeQuery", () => {
  it("writes a recursive query with one question", () => {
    const q = query("www.example.com");
    assert.deepEqual([...q.subarray(0, 12)], [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(questionOf(q), { name: "www.example.com", type: 1 });
    assert.deepEqual([...q.subarray(-4)], [0, 1, 0, 1]);
    assert.equal(questionOf(query("a.test", TYPE_AAAA)).type, 28);
    assert.equal(ednsPayloadOf(q), undefined);
  });

  it("with a payload size, adds one OPT record offering it (EDNS version 0, no flags)", () => {
    const plain = query("www.example.com");
    const q = encodeQuery(0x1234, "www.example.com", TYPE_A, EDNS_UDP_PAYLOAD);
    assert.deepEqual([...q.subarray(0, 12)], [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual([...q.subarray(12, plain.length)], [...plain.subarray(12)], "the same question");
    assert.deepEqual([...q.subarray(plain.length)], [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    assert.equal(ednsPayloadOf(q), 1232);
  });
});

describe("decodeResponse", () => {
  it("reads addresses and the smallest TTL", () => {
    const q = query("a.test");
    const r = buildResponse(q, { answers: [{ name: "a.test", ttl: 300, address: "192.0.2.1" }, { name: "a.test", ttl: 60, address: "192.0.2.2" }] });
    assert.deepEqual(decodeResponse(r, 0x1234, "a.test", TYPE_A), { rcode: 0, addresses: ["192.0.2.1", "192.0.2.2"], ttlSeconds: 60 });
  });

  it("follows a CNAME chain (compressed names) to the addresses, TTL the smallest along it", () => {
    const q = query("www.a.test", TYPE_AAAA);
    const r = buildResponse(q, {
      answers: [
        { name: "www.a.test", ttl: 30, cname: "edge.a.test" },
        { name: "edge.a.test", ttl: 600, cname: "x.cdn.test" },
        { name: "x.cdn.test", ttl: 120, address: "2001:db8::1" },
        { name: "other.test", ttl: 1, address: "2001:db8::2" },
      ],
    });
    assert.deepEqual(decodeResponse(r, 0x1234, "www.a.test", TYPE_AAAA), { rcode: 0, addresses: ["2001:db8::1"], ttlSeconds: 30 });
  });

  it("matches names without regard to case, and ignores records of other types", () => {
    const q = query("a.test");
    const r = buildResponse(q, { answers: [{ name: "A.TEST", ttl: 5, address: "192.0.2.9" }, { name: "a.test", ttl: 5, address: "2001:db8::9" }] });
    assert.deepEqual(decodeResponse(r, 0x1234, "a.test", TYPE_A).addresses, ["192.0.2.9"]);
  });

  it("tells no such name and no data apart from addresses", () => {
    const q = query("gone.test");
    assert.deepEqual(decodeResponse(buildResponse(q, { rcode: 3 }), 0x1234, "gone.test", TYPE_A), { rcode: 3, addresses: [], ttlSeconds: undefined });
    assert.deepEqual(decodeResponse(buildResponse(q, {}), 0x1234, "gone.test", TYPE_A), { rcode: 0, addresses: [], ttlSeconds: undefined });
    assert.equal(decodeResponse(buildResponse(q, { rcode: 2 }), 0x1234, "gone.test", TYPE_A).rcode, 2);
  });

  it("tells a referral (no data from a server neither recursive nor authoritative) from no data", () => {
    const q = query("a.test");
    const ns = { name: "test", ttl: 3600, cname: "ns.test" }; // any authority record: it is not read for addresses
    const referral = buildResponse(q, { flags: { ra: false }, authority: [ns] });
    assert.deepEqual(decodeResponse(referral, 0x1234, "a.test", TYPE_A), { rcode: 0, addresses: [], ttlSeconds: undefined, referral: true });
    // authoritative no data, or a recursive server's, is an answer
    assert.equal(decodeResponse(buildResponse(q, { flags: { ra: false, aa: true } }), 0x1234, "a.test", TYPE_A).referral, undefined);
    assert.equal(decodeResponse(buildResponse(q, { flags: { ra: true } }), 0x1234, "a.test", TYPE_A).referral, undefined);
    // addresses, or no such name, from a server that does not recurse are still what they say
    const withAddress = buildResponse(q, { flags: { ra: false }, answers: [{ name: "a.test", ttl: 60, address: "192.0.2.1" }] });
    assert.deepEqual(decodeResponse(withAddress, 0x1234, "a.test", TYPE_A), { rcode: 0, addresses: ["192.0.2.1"], ttlSeconds: 60 });
    assert.deepEqual(decodeResponse(buildResponse(q, { flags: { ra: false }, rcode: 3 }), 0x1234, "a.test", TYPE_A), { rcode: 3, addresses: [], ttlSeconds: undefined });
  });

  it("reads the OPT record's upper response code bits, and takes no address from the other sections", () => {
    const q = encodeQuery(0x1234, "a.test", TYPE_A, EDNS_UDP_PAYLOAD);
    const withOpt = buildResponse(q, { answers: [{ name: "a.test", ttl: 60, address: "192.0.2.1" }] });
    assert.deepEqual(decodeResponse(withOpt, 0x1234, "a.test", TYPE_A), { rcode: 0, addresses: ["192.0.2.1"], ttlSeconds: 60 });
    // BADVERS (16): 0 in the header, 1 in the OPT record
    assert.equal(decodeResponse(buildResponse(q, { rcode: 16 }), 0x1234, "a.test", TYPE_A).rcode, 16);
    const glue = buildResponse(q, { authority: [{ name: "a.test", ttl: 60, address: "203.0.113.66" }] });
    assert.deepEqual(decodeResponse(glue, 0x1234, "a.test", TYPE_A).addresses, []);
  });

  it("reads a TTL with the top bit set as 0 (RFC 2181)", () => {
    const q = query("a.test");
    for (const ttl of [0x80000010, 0xffffffff, 0x80000000]) {
      const r = buildResponse(q, { answers: [{ name: "a.test", ttl, address: "192.0.2.1" }] });
      assert.equal(decodeResponse(r, 0x1234, "a.test", TYPE_A).ttlSeconds, 0, ttl.toString(16));
    }
    const top = buildResponse(q, { answers: [{ name: "a.test", ttl: 0x7fffffff, address: "192.0.2.1" }] });
    assert.equal(decodeResponse(top, 0x1234, "a.test", TYPE_A).ttlSeconds, 0x7fffffff);
  });

  it("refuses a response to another ID or question, and a query", () => {
    const q = query("a.test");
    const r = buildResponse(q, { answers: [{ name: "a.test", ttl: 5, address: "192.0.2.1" }] });
    assert.throws(() => decodeResponse(r, 0x4321, "a.test", TYPE_A), /another query/);
    assert.throws(() => decodeResponse(r, 0x1234, "b.test", TYPE_A), /another question/);
    assert.throws(() => decodeResponse(r, 0x1234, "a.test", TYPE_AAAA), /another question/);
    assert.throws(() => decodeResponse(q, 0x1234, "a.test", TYPE_A), /not a response/);
  });

  it("throws DnsWireError, never anything else, on every truncation of a response", () => {
    const q = encodeQuery(0x1234, "www.a.test", TYPE_A, EDNS_UDP_PAYLOAD);
    const r = buildResponse(q, {
      answers: [{ name: "www.a.test", ttl: 30, cname: "x.cdn.test" }, { name: "x.cdn.test", ttl: 30, address: "192.0.2.7" }],
      authority: [{ name: "cdn.test", ttl: 30, cname: "ns.cdn.test" }],
    });
    for (let n = 0; n < r.length; n++) {
      const cut = r.subarray(0, n);
      try {
        decodeResponse(cut, 0x1234, "www.a.test", TYPE_A);
        // a cut at a record boundary is a shorter, valid message only if the counts agree: they do not here
        assert.fail(`a response cut to ${n} bytes was accepted`);
      } catch (e) {
        assert.ok(e instanceof DnsWireError, `cut to ${n}: ${String(e)}`);
      }
    }
  });

  it("refuses compression loops, forward pointers, bad lengths and long CNAME chains", () => {
    const q = query("a.test");
    const r = buildResponse(q, { answers: [{ name: "a.test", ttl: 5, address: "192.0.2.1" }] });
    const answerAt = q.length;
    const loop = r.slice();
    loop[answerAt] = 0xc0;
    loop[answerAt + 1] = answerAt; // points at itself
    assert.throws(() => decodeResponse(loop, 0x1234, "a.test", TYPE_A), /pointer loop/);
    const badA = r.slice();
    badA[answerAt + 11] = 5; // rdlength 5 for an A record
    assert.throws(() => decodeResponse(badA, 0x1234, "a.test", TYPE_A), DnsWireError);
    const chain = Array.from({ length: 20 }, (_, i) => ({ name: i === 0 ? "a.test" : `c${i}.test`, ttl: 5, cname: `c${i + 1}.test` }));
    assert.throws(() => decodeResponse(buildResponse(q, { answers: chain }), 0x1234, "a.test", TYPE_A), /more than 16 CNAMEs/);
    const cycle = [{ name: "a.test", ttl: 5, cname: "b.test" }, { name: "b.test", ttl: 5, cname: "a.test" }];
    assert.throws(() => decodeResponse(buildResponse(q, { answers: cycle }), 0x1234, "a.test", TYPE_A), /more than 16 CNAMEs/);
  });
});
