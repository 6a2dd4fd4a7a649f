import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import fc from "fast-check";
import { parseCredentials, parseGreeting, parseRequest, type Parsed, SocksError, SocksMessageReader } from "../../src/protocol/socks5.ts";
import { chunks } from "./client-hello-builder.ts";
import { bytes, socksCredentials, socksRequestArb, socksTextArb } from "./socks5-builder.ts";

/** Runs per property; `FUZZ_RUNS=100000 bun test test/protocol/socks5-property.test.ts` to scale up. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300) || 300;
const params = { numRuns: RUNS };

type Outcome<T> = { value: T; rest: number[] } | { incomplete: true } | { error: string };

/** Feeds the pieces to a reader; anything thrown but a SocksError fails the property. */
function run<T>(parse: (b: Uint8Array) => Parsed<T>, pieces: readonly Uint8Array[]): Outcome<T> {
  const reader = new SocksMessageReader(parse);
  for (let i = 0; i < pieces.length; i++) {
    let value: T | undefined;
    try {
      value = reader.push(pieces[i]!);
    } catch (e) {
      if (!(e instanceof SocksError)) throw e;
      return { error: e.message };
    }
    if (value !== undefined) return { value, rest: [...reader.rest(), ...pieces.slice(i + 1).flatMap((p) => [...p])] };
  }
  return { incomplete: true };
}

const PARSERS = { greeting: parseGreeting, credentials: parseCredentials, request: parseRequest } as const;
const text = socksTextArb;
const cuts = fc.array(fc.nat(), { maxLength: 8 });

const requests = socksRequestArb;

describe("SOCKS5 parsers: properties", () => {
  it("valid messages parse to what was written, however they are split, keeping what follows", () => {
    fc.assert(
      fc.property(requests, fc.uint8Array({ maxLength: 32 }), cuts, (req, tail, c) => {
        const out = run(parseRequest, chunks(bytes(req.wire, tail), c));
        assert.deepEqual(out, { value: req.value, rest: [...tail] });
      }),
      params,
    );
    fc.assert(
      fc.property(text, fc.string({ maxLength: 40 }).filter((s) => new TextEncoder().encode(s).length <= 255), cuts, (user, password, c) => {
        assert.deepEqual(run(parseCredentials, chunks(socksCredentials(user, password), c)), { value: { user, password }, rest: [] });
      }),
      params,
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 255 }), cuts, (methods, c) => {
        assert.deepEqual(run(parseGreeting, chunks(bytes(5, methods.length, methods), c)), { value: { methods: [...methods] }, rest: [] });
      }),
      params,
    );
  });

  it("arbitrary bytes: a value, incomplete or a SocksError — the same for every split, never past the message", () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      // mostly-valid starts, so the length and type fields get exercised
      fc.tuple(fc.constantFrom(1, 5), fc.uint8Array({ maxLength: 300 })).map(([v, rest]) => bytes(v, rest)),
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 })).map(([t, rest]) => bytes(5, 1, 0, t, rest)),
    );
    fc.assert(
      fc.property(input, cuts, fc.constantFrom(...Object.keys(PARSERS) as (keyof typeof PARSERS)[]), (b, c, which) => {
        const parse: (b: Uint8Array) => Parsed<unknown> = PARSERS[which];
        const whole = run(parse, [b]);
        assert.deepEqual(run(parse, chunks(b, c)), whole);
        if ("value" in whole) assert.ok(b.length - whole.rest.length <= 513, "a message is at most 513 bytes");
      }),
      params,
    );
  });
});
