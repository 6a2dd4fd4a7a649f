import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import process from "node:process";
import fc from "fast-check";
import { ClientHelloError, ClientHelloReader, type ClientHello } from "../../src/protocol/client-hello.ts";
import { chunks, helloArb } from "./client-hello-builder.ts";

/** Runs per property; `FUZZ_RUNS=100000 bun test test/protocol/client-hello-property.test.ts` to scale up. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300) || 300;
const params = { numRuns: RUNS };

const DIR = new URL("../fixtures/client-hello/", import.meta.url);
const fixtures: Uint8Array[] = readdirSync(DIR)
  .filter((f) => f.endsWith(".bin"))
  .sort()
  .map((f) => new Uint8Array(readFileSync(new URL(f, DIR))));

type Outcome = { hello: ClientHello | undefined; rest: Uint8Array; bytes: Uint8Array } | { error: string };

/** Push the pieces; any exception other than ClientHelloError fails the property. */
function run(pieces: Uint8Array[]): Outcome {
  const reader = new ClientHelloReader();
  let hello: ClientHello | undefined;
  try {
    for (const p of pieces) hello = reader.push(p) ?? hello;
  } catch (e) {
    if (!(e instanceof ClientHelloError)) throw e;
    assert.ok(e instanceof SyntaxError);
    assert.ok(Number.isInteger(e.offset) && e.offset >= 0 && e.offset < reader.buffered, `offset ${e.offset}`);
    return { error: e.reason };
  }
  if (hello !== undefined) wellFormed(hello);
  return { hello, rest: reader.rest(), bytes: reader.bytes() };
}

const isU16 = (v: unknown): boolean => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffff;

/** No `undefined`, NaN or out-of-range value anywhere in a result. */
function wellFormed(h: ClientHello): void {
  for (const [key, value] of Object.entries(h)) {
    if (key !== "sni") assert.notEqual(value, undefined, key);
    if (Array.isArray(value)) {
      for (const v of value) {
        if (key === "alpn") assert.ok(typeof v === "string" && v.length > 0 && /^[\0-\xff]+$/.test(v), key);
        else assert.ok(isU16(v), `${key}: ${String(v)}`);
      }
    } else if (key === "sni") {
      assert.ok(value === undefined || (typeof value === "string" && /^[a-z0-9._:-]+$/.test(value)), String(value));
    } else if (key === "ech" || key === "sniIsIp") {
      assert.equal(typeof value, "boolean", key);
    } else {
      assert.ok(isU16(value) || (key === "handshakeLength" && Number.isInteger(value)), `${key}: ${String(value)}`);
    }
  }
  for (const v of h.compressionMethods) assert.ok(v <= 0xff);
  assert.ok(h.sessionIdLength <= 32);
  if (h.sni === undefined) assert.equal(h.sniIsIp, false);
}

function normalize(h: ClientHello | undefined): unknown {
  return h === undefined ? undefined : { ...h, greaseValues: [...h.greaseValues].sort((a, b) => a - b) };
}

const cutsArb = fc.array(fc.nat({ max: 20000 }), { maxLength: 40 });

describe("ClientHelloReader properties", () => {
  it("parses generated ClientHellos back to what was generated", () => {
    fc.assert(
      fc.property(helloArb, (g) => {
        const out = run([g.bytes]);
        assert.ok(!("error" in out), "error" in out ? out.error : "");
        assert.deepEqual(normalize(out.hello), g.expected);
        assert.deepEqual(out.bytes, g.bytes);
        assert.equal(out.rest.length, 0);
      }),
      params,
    );
  });

  it("gives the same result for any split into chunks, and keeps trailing bytes", () => {
    fc.assert(
      fc.property(helloArb, cutsArb, fc.uint8Array({ maxLength: 30 }), (g, cuts, tail) => {
        const all = new Uint8Array(g.bytes.length + tail.length);
        all.set(g.bytes);
        all.set(tail, g.bytes.length);
        const whole = run([all]);
        const split = run(chunks(all, cuts));
        assert.deepEqual(split, whole);
        assert.ok(!("error" in split));
        assert.deepEqual(split.rest, tail);
        assert.deepEqual(split.bytes, all);
      }),
      params,
    );
  });

  it("single-byte pushes complete exactly at the last byte", () => {
    fc.assert(
      fc.property(helloArb, (g) => {
        const reader = new ClientHelloReader();
        for (let i = 0; i < g.bytes.length - 1; i++) assert.equal(reader.push(g.bytes.subarray(i, i + 1)), undefined);
        assert.deepEqual(normalize(reader.push(g.bytes.subarray(g.bytes.length - 1))), g.expected);
      }),
      { numRuns: Math.max(1, Math.floor(RUNS / 3)) },
    );
  });

  const mutationArb = fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant("set" as const), pos: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant("length" as const), pos: fc.nat(), value: fc.constantFrom(0, 1, 0xff, 0x100, 0x3fff, 0x4000, 0x4001, 0x7fff, 0xffff) }),
    fc.record({ kind: fc.constant("insert" as const), pos: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant("delete" as const), pos: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant("truncate" as const), pos: fc.nat() }),
  );
  type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

  function mutate(input: Uint8Array, mutations: Mutation[]): Uint8Array {
    let b = input.slice();
    for (const m of mutations) {
      if (b.length === 0) break;
      const pos = m.pos % b.length;
      if (m.kind === "flip") b[pos] = (b[pos] ?? 0) ^ (1 << m.bit);
      else if (m.kind === "set") b[pos] = m.value;
      else if (m.kind === "length") {
        b[pos] = m.value >> 8;
        if (pos + 1 < b.length) b[pos + 1] = m.value & 0xff;
      } else if (m.kind === "insert") b = Uint8Array.from([...b.subarray(0, pos), ...m.bytes, ...b.subarray(pos)]);
      else if (m.kind === "delete") b = Uint8Array.from([...b.subarray(0, pos), ...b.subarray(pos + m.n)]);
      else b = b.slice(0, pos);
    }
    return b;
  }

  const sourceArb = fc.oneof(fc.constantFrom(...fixtures), helloArb.map((g) => g.bytes));

  it("mutated hellos only ever throw ClientHelloError, the same way for any chunking", () => {
    fc.assert(
      fc.property(sourceArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), cutsArb, (src, mutations, cuts) => {
        const bytes = mutate(src, mutations);
        const whole = run([bytes]);
        const split = run(chunks(bytes, cuts));
        assert.deepEqual(split, whole);
        if (!("error" in whole) && whole.hello !== undefined) assert.ok(whole.rest.length <= bytes.length);
      }),
      params,
    );
  });

  it("random bytes after a plausible record header only ever throw ClientHelloError", () => {
    const prefix = fc.constantFrom([], [0x16], [0x16, 3, 1], [0x16, 3, 3, 0x02, 0], [0x16, 3, 1, 0x40, 0, 1], [0x16, 3, 1, 0, 60, 1, 0, 0, 56, 3, 3]);
    fc.assert(
      fc.property(prefix, fc.uint8Array({ maxLength: 600 }), cutsArb, (head, body, cuts) => {
        const bytes = Uint8Array.from([...head, ...body]);
        assert.deepEqual(run(chunks(bytes, cuts)), run([bytes]));
      }),
      params,
    );
  });

  it("truncations of valid hellos are incomplete, never errors", () => {
    fc.assert(
      fc.property(sourceArb, fc.nat(), (src, n) => {
        const out = run([src.subarray(0, n % src.length)]);
        assert.ok(!("error" in out) && out.hello === undefined);
      }),
      params,
    );
  });
});
