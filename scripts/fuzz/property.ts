/**
 * One fast-check property per parser. Inputs: valid generated seeds (unmutated or mutated),
 * hand-written corner cases (mutated), and random bytes; each delivered whole, split at
 * random points, and sometimes one byte at a time. The oracle:
 *
 * - no exception other than the documented parse errors (see `targets.ts`);
 * - the same outcome for every split (result, error, or "needs more bytes");
 * - unmutated seeds parse to what the generator wrote;
 * - every input finishes within `guardMs` (super-linear behaviour shows up here; a true hang
 *   is caught by the watchdog in `run.ts`).
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Expected } from "../../test/protocol/client-hello-builder.ts";
import type { ClientHello } from "../../src/protocol/client-hello.ts";
import type { ProxyHeader } from "../../src/protocol/proxy-header.ts";
import type { RequestHead } from "../../src/protocol/http-request-head.ts";
import type { ResponseHead } from "../../src/protocol/http-response-head.ts";
import { bytewise, cutsArb, mutate, mutationArb, type Seed, split } from "./mutate.ts";
import {
  CHUNKED_CORNERS,
  type ChunkedExpectation,
  chunkedSeedArb,
  type HeadExpectation,
  helloSeedArb,
  REQUEST_CORNERS,
  requestSeedArb,
  RESPONSE_CORNERS,
  responseSeedArb,
  type SeedCase,
} from "./seeds.ts";
import { PROXY_CORNERS, type ProxyExpectation, proxySeedArb, SOCKS_CORNERS, type SocksExpectation, socksSeedArb } from "./preamble-seeds.ts";
import { runProxy, runSocks, type SocksParsed } from "./preamble-targets.ts";
import { DEFAULT_LIMITS, type Limits, OracleError, type Outcome, runChunked, runHello, runRequest, runResponse, SMALL_LIMITS } from "./targets.ts";

/** The parsers fuzzed, in run order. */
export const PARSER_NAMES = ["request", "response", "chunked", "hello", "socks", "proxy"] as const;
export type ParserName = (typeof PARSER_NAMES)[number];

/** One generated input. */
export interface FuzzInput {
  readonly bytes: Uint8Array;
  readonly cuts: readonly number[];
  readonly bytewise: boolean;
  readonly limits: Limits;
  /** What the unmutated seed parses to; undefined for mutated or random inputs. */
  readonly expected: unknown;
}

/** Counters a property run fills in. */
export interface Stats {
  inputs: number;
  parses: number;
  bytes: number;
  accepted: number;
  rejected: number;
  incomplete: number;
  maxMs: number;
  /** Length of the slowest input. */
  maxMsBytes: number;
}

export function newStats(): Stats {
  return { inputs: 0, parses: 0, bytes: 0, accepted: 0, rejected: 0, incomplete: 0, maxMs: 0, maxMsBytes: 0 };
}

interface Target {
  readonly seeds: fc.Arbitrary<SeedCase<unknown>>;
  readonly corners: readonly Seed[];
  readonly run: (pieces: readonly Uint8Array[], limits: Limits) => Outcome;
  /** Checks an unmutated seed's outcome against what its generator expects. */
  readonly check: (outcome: Outcome, expected: unknown) => void;
}

function checkHead<H>(o: Outcome, e: HeadExpectation, start: (h: H) => readonly string[]): void {
  assert.ok(o.first !== undefined, `valid seed not accepted: ${o.key}`);
  assert.deepEqual(start(o.first as H), e.start);
  assert.deepEqual((o.first as { headers: { entries: unknown } }).headers.entries, e.headers);
  assert.equal(o.end, e.end);
}

const TARGETS: { readonly [K in ParserName]: Target } = {
  request: {
    seeds: requestSeedArb,
    corners: REQUEST_CORNERS,
    run: runRequest,
    check: (o, e) => checkHead(o, e as HeadExpectation, (h: RequestHead) => [h.method, h.target, h.version]),
  },
  response: {
    seeds: responseSeedArb,
    corners: RESPONSE_CORNERS,
    run: runResponse,
    check: (o, e) => checkHead(o, e as HeadExpectation, (h: ResponseHead) => [h.version, String(h.status), h.reason]),
  },
  chunked: {
    seeds: chunkedSeedArb,
    corners: CHUNKED_CORNERS,
    run: runChunked,
    check: (o, expected) => {
      const e = expected as ChunkedExpectation;
      assert.ok(o.first !== undefined && o.end !== undefined, `valid seed not decoded: ${o.key}`);
      const got = o.first as { payload: Uint8Array; trailers: unknown };
      assert.deepEqual(got.payload, e.payload);
      assert.deepEqual(got.trailers, e.trailers);
      assert.equal(o.end, e.end);
    },
  },
  hello: {
    seeds: helloSeedArb,
    corners: [],
    run: runHello,
    check: (o, e) => {
      assert.ok(o.first !== undefined, `valid seed not parsed: ${o.key}`);
      const h = o.first as ClientHello;
      assert.deepEqual({ ...h, greaseValues: [...h.greaseValues].sort((a, b) => a - b) }, e as Expected);
    },
  },
  socks: {
    seeds: socksSeedArb,
    corners: SOCKS_CORNERS,
    run: runSocks,
    check: (o, expected) => {
      const e = expected as SocksExpectation;
      const side = (o.first as SocksParsed | undefined)?.[e.side];
      assert.ok(side !== undefined, `valid ${e.side} messages not parsed: ${o.key}`);
      assert.deepEqual(side, { values: e.values, end: e.end });
    },
  },
  proxy: {
    seeds: proxySeedArb,
    corners: PROXY_CORNERS,
    run: runProxy,
    check: (o, expected) => {
      const e = expected as ProxyExpectation;
      assert.ok(o.first !== undefined, `valid header not parsed: ${o.key}`);
      const h = o.first as ProxyHeader;
      assert.deepEqual({ version: h.version, source: h.source, length: h.length }, e);
    },
  },
};

/** Inputs for one parser: what to mutate, how, and how to deliver it. */
export function inputArb(name: ParserName): fc.Arbitrary<FuzzInput> {
  const t = TARGETS[name];
  const mutations = fc.array(mutationArb, { minLength: 1, maxLength: 6 });
  const bytes = fc.oneof(
    { arbitrary: fc.tuple(t.seeds, mutations).map(([s, m]) => ({ bytes: mutate(s.seed, m), expected: undefined as unknown })), weight: 12 },
    { arbitrary: t.seeds.map((s) => ({ bytes: s.seed.bytes, expected: s.expected as unknown })), weight: 3 },
    ...(t.corners.length > 0
      ? [{ arbitrary: fc.tuple(fc.constantFrom(...t.corners), fc.array(mutationArb, { maxLength: 3 })).map(([s, m]) => ({ bytes: mutate(s, m), expected: undefined as unknown })), weight: 2 }]
      : []),
    { arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => ({ bytes: b, expected: undefined as unknown })), weight: 1 },
  );
  return fc
    .record({ input: bytes, cuts: cutsArb, bytewise: fc.nat({ max: 15 }).map((n) => n === 0), small: fc.nat({ max: 4 }).map((n) => n === 0) })
    .map((g) => ({
      bytes: g.input.bytes,
      cuts: g.cuts,
      bytewise: g.bytewise,
      limits: g.small ? SMALL_LIMITS : DEFAULT_LIMITS,
      expected: g.small ? undefined : g.input.expected,
    }));
}

/**
 * The property for `name`: checks one input, updates `stats`, and calls `beforeInput` first
 * (the worker records the input there for the hang watchdog).
 */
export function propertyFor(name: ParserName, stats: Stats, guardMs: number, beforeInput: (bytes: Uint8Array) => void): (input: FuzzInput) => void {
  const t = TARGETS[name];
  return (input) => {
    beforeInput(input.bytes);
    const t0 = performance.now();
    const whole = t.run([input.bytes], input.limits);
    const parts = t.run(split(input.bytes, input.cuts), input.limits);
    stats.parses += 2;
    if (parts.key !== whole.key) {
      throw new OracleError(`split changed the outcome:\n  whole: ${whole.key.slice(0, 400)}\n  split: ${parts.key.slice(0, 400)}`);
    }
    if (input.bytewise && input.bytes.length <= 4096) {
      const bytes = t.run(bytewise(input.bytes), input.limits);
      stats.parses += 1;
      if (bytes.key !== whole.key) {
        throw new OracleError(`byte-at-a-time changed the outcome:\n  whole: ${whole.key.slice(0, 400)}\n  bytes: ${bytes.key.slice(0, 400)}`);
      }
    }
    if (input.expected !== undefined) t.check(whole, input.expected);
    const ms = performance.now() - t0;
    stats.inputs += 1;
    stats.bytes += input.bytes.length;
    if (ms > stats.maxMs) {
      stats.maxMs = ms;
      stats.maxMsBytes = input.bytes.length;
    }
    if (/(^|\n)error /.test(whole.key)) stats.rejected += 1;
    else if (whole.first === undefined) stats.incomplete += 1;
    else stats.accepted += 1;
    if (ms > guardMs) throw new OracleError(`one input took ${ms.toFixed(0)} ms (guard ${guardMs} ms), ${input.bytes.length} bytes`);
  };
}
