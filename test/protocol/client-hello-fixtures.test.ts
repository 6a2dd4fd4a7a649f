import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { ClientHelloReader, type ClientHello } from "../../src/protocol/client-hello.ts";

/** Captured ClientHellos with the fields `openssl s_server -trace` decoded from them (see README.md there). */
const DIR = new URL("../fixtures/client-hello/", import.meta.url);

interface Fixture {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly synthetic: boolean;
  readonly expected: Record<string, unknown>;
}

const fixtures: Fixture[] = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => {
    const name = f.replace(/\.json$/, "");
    const meta = JSON.parse(readFileSync(new URL(f, DIR), "utf8")) as { synthetic: boolean; bytes: number; expected: Record<string, unknown> };
    const bytes = new Uint8Array(readFileSync(new URL(`${name}.bin`, DIR)));
    assert.equal(bytes.length, meta.bytes, name);
    return { name, bytes, synthetic: meta.synthetic, expected: meta.expected };
  });

/** Offsets just past each TLS record (plain framing, independent of the parser). */
function recordEnds(bytes: Uint8Array): number[] {
  const ends: number[] = [];
  for (let off = 0; off + 5 <= bytes.length; ) {
    off += 5 + (((bytes[off + 3] ?? 0) << 8) | (bytes[off + 4] ?? 0));
    ends.push(off);
  }
  return ends;
}

function pushAll(pieces: Uint8Array[]): { hello: ClientHello | undefined; reader: ClientHelloReader; completedAt: number } {
  const reader = new ClientHelloReader();
  let hello: ClientHello | undefined;
  let completedAt = -1;
  pieces.forEach((p, i) => {
    const h = reader.push(p);
    if (h !== undefined && hello === undefined) completedAt = i;
    hello = h ?? hello;
  });
  return { hello, reader, completedAt };
}

function check(name: string, hello: ClientHello | undefined, expected: Record<string, unknown>): void {
  assert.ok(hello !== undefined, `${name}: incomplete`);
  const got = hello as unknown as Record<string, unknown>;
  for (const [key, want] of Object.entries(expected)) {
    const have: unknown = key === "greaseValues" ? [...hello.greaseValues].sort((a, b) => a - b) : key === "sni" ? (hello.sni ?? null) : got[key];
    assert.deepEqual(have, want, `${name}: ${key}`);
  }
}

describe("ClientHelloReader on captured ClientHellos", () => {
  it("has the fixtures the README lists, including a post-quantum one over 1500 bytes", () => {
    const names = fixtures.map((f) => f.name);
    for (const n of ["curl-openssl", "openssl-s-client", "openssl-noservername", "openssl-tls12", "openssl-fragmented", "node-tls", "bun-tls", "bun-fetch", "deno-fetch", "python-ssl", "java-sslsocket"]) {
      assert.ok(names.includes(n), n);
    }
    const pq = fixtures.filter((f) => !f.synthetic && (f.expected.keyShareGroups as number[]).includes(0x11ec));
    assert.ok(pq.some((f) => f.bytes.length > 1500), "a real X25519MLKEM768 hello over 1500 bytes");
    assert.ok(fixtures.some((f) => !f.synthetic && (f.expected.recordCount as number) > 1), "a real multi-record hello");
    const readme = readFileSync(new URL("README.md", DIR), "utf8");
    for (const n of names) assert.ok(readme.includes(`\`${n}.bin\``), `README lists ${n}`);
  });

  for (const f of fixtures) {
    it(`${f.name} (${f.bytes.length} bytes): whole, byte by byte, per record, and cut anywhere`, () => {
      const whole = pushAll([f.bytes]);
      check(f.name, whole.hello, f.expected);
      assert.deepEqual(whole.reader.bytes(), f.bytes);
      assert.equal(whole.reader.rest().length, 0);

      const bytewise = pushAll(Array.from(f.bytes, (b) => Uint8Array.of(b)));
      assert.equal(bytewise.completedAt, f.bytes.length - 1, "complete exactly at the last byte");
      assert.deepEqual(bytewise.hello, whole.hello);
      assert.deepEqual(bytewise.reader.bytes(), f.bytes);

      const ends = recordEnds(f.bytes);
      assert.equal(ends.length, f.expected.recordCount);
      const perRecord = pushAll(ends.map((end, i) => f.bytes.subarray(i === 0 ? 0 : (ends[i - 1] ?? 0), end)));
      assert.equal(perRecord.completedAt, ends.length - 1);
      assert.deepEqual(perRecord.hello, whole.hello);

      for (let cut = 1; cut < f.bytes.length; cut++) {
        const two = pushAll([f.bytes.subarray(0, cut), f.bytes.subarray(cut)]);
        assert.equal(two.completedAt, 1, `cut at ${cut}`);
        assert.deepEqual(two.hello, whole.hello, `cut at ${cut}`);
      }

      // Truncated anywhere: never complete, never an error.
      const reader = new ClientHelloReader();
      assert.equal(reader.push(f.bytes.subarray(0, f.bytes.length - 1)), undefined);
    });
  }
});
