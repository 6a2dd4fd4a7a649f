/**
 * Byte-level mutations for the parser fuzzer: each mutation is plain data (so fast-check can
 * generate, print and shrink it) applied in order to a seed input.
 *
 * @module
 */
import fc from "fast-check";

/** A multi-byte big-endian length field of a binary seed, as stream offsets of its bytes (most significant first). */
export type LengthField = readonly number[];

/** A seed input: bytes, and (for binary formats) where its length fields are. */
export interface Seed {
  readonly bytes: Uint8Array;
  readonly fields: readonly LengthField[];
}

/** One mutation. Positions are taken modulo the current length, so any number is valid. */
export type Mutation =
  | { readonly op: "flip"; readonly at: number; readonly bit: number }
  | { readonly op: "set"; readonly at: number; readonly value: number }
  | { readonly op: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: "delete"; readonly at: number; readonly length: number }
  | { readonly op: "truncate"; readonly at: number }
  | { readonly op: "repeat"; readonly at: number; readonly length: number; readonly times: number }
  | { readonly op: "number"; readonly index: number; readonly text: string }
  | { readonly op: "field"; readonly index: number; readonly how: FieldValue };

/** How a binary length field is rewritten. */
export type FieldValue = "zero" | "one" | "max" | "max-1" | "+1" | "-1" | "double" | "record-limit" | { readonly random: number };

/** Largest input a mutation may produce (the parsers' limits are far below). */
export const MAX_INPUT = 256 * 1024;

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** Bytes worth injecting into an HTTP head or a TLS record: line ends, NUL, separators, framing fields. */
export const TOKENS: readonly Uint8Array[] = [
  "\r", "\n", "\0", "\r\n", "\r\n\r\n", "\n\n", "\r\r\n", " ", "\t", ":", ";", ",", "\x7f", "\xff", "\x80", "\x16\x03\x01",
  "\r\n ", "\r\n\t", "Transfer-Encoding: chunked\r\n", "Content-Length: 5\r\n", "Content-Length: 0\r\n",
  "Transfer-Encoding: gzip, chunked\r\n", "Host: a\r\nHost: b\r\n", "Host: \r\n", "Connection: close\r\n",
  "Upgrade: websocket\r\n", " HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "CONNECT ", "http://", "https://", "[::1]", "@", "#",
  "%00", "0\r\n\r\n", "ffffffff\r\n", ";ext=\"x\"", "\"", "\\", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
].map(enc);

/** Replacements for a run of digits (or hex digits): extremes of every length field a head can carry. */
export const NUMBERS: readonly string[] = [
  "0", "1", "00000000000000000000001", "-1", "+1", "9007199254740991", "9007199254740992", "18446744073709551616",
  "99999999999999999999999999", "ffffffffffffffff", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "7fffffff", "80000000",
  "4294967296", "65535", "65536", "0x10", "1e3", "1.0", "", " 1", "1 ", "1,1", "1, 2", "NaN", "Infinity", "١",
];

const numberRun = /[0-9A-Fa-f]+/g;

function mod(n: number, m: number): number {
  return m <= 0 ? 0 : n % m;
}

/** Applies `mutations` in order to a copy of the seed. */
export function mutate(seed: Seed, mutations: readonly Mutation[]): Uint8Array {
  let b = seed.bytes;
  for (const m of mutations) {
    b = applyOne(b, seed.fields, m);
    if (b.length > MAX_INPUT) b = b.subarray(0, MAX_INPUT);
  }
  return b;
}

function splice(b: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length - remove + insert.length);
  out.set(b.subarray(0, at), 0);
  out.set(insert, at);
  out.set(b.subarray(at + remove), at + insert.length);
  return out;
}

function applyOne(b: Uint8Array, fields: readonly LengthField[], m: Mutation): Uint8Array {
  switch (m.op) {
    case "flip": {
      if (b.length === 0) return b;
      const out = b.slice();
      const i = mod(m.at, b.length);
      out[i] = (out[i] ?? 0) ^ (1 << (m.bit & 7));
      return out;
    }
    case "set": {
      if (b.length === 0) return b;
      const out = b.slice();
      out[mod(m.at, b.length)] = m.value & 0xff;
      return out;
    }
    case "insert":
      return splice(b, mod(m.at, b.length + 1), 0, m.bytes);
    case "delete": {
      const at = mod(m.at, b.length + 1);
      return splice(b, at, Math.min(m.length, b.length - at), new Uint8Array(0));
    }
    case "truncate":
      return b.subarray(0, mod(m.at, b.length + 1));
    case "repeat": {
      const at = mod(m.at, b.length + 1);
      const slice = b.subarray(at, Math.min(b.length, at + m.length));
      if (slice.length === 0) return b;
      const times = Math.min(m.times, Math.floor(MAX_INPUT / slice.length));
      const rep = new Uint8Array(slice.length * times);
      for (let k = 0; k < times; k++) rep.set(slice, k * slice.length);
      return splice(b, at, 0, rep);
    }
    case "number": {
      const text = String.fromCharCode(...b.subarray(0, Math.min(b.length, 4096)));
      const runs = [...text.matchAll(numberRun)];
      const run = runs[mod(m.index, runs.length)];
      if (run === undefined || run.index === undefined) return b;
      return splice(b, run.index, run[0].length, enc(m.text));
    }
    case "field": {
      const field = fields[mod(m.index, fields.length)];
      if (field === undefined) return b;
      const offs = field.filter((o) => o < b.length);
      if (offs.length === 0) return b;
      let orig = 0;
      for (const o of offs) orig = orig * 256 + (b[o] ?? 0);
      const max = 256 ** offs.length - 1;
      const want = fieldValue(m.how, orig, max);
      const out = b.slice();
      let v = Math.max(0, Math.min(max, want));
      for (let k = offs.length - 1; k >= 0; k--) {
        out[offs[k] ?? 0] = v & 0xff;
        v = Math.floor(v / 256);
      }
      return out;
    }
  }
}

function fieldValue(how: FieldValue, orig: number, max: number): number {
  if (typeof how === "object") return how.random % (max + 1);
  switch (how) {
    case "zero": return 0;
    case "one": return 1;
    case "max": return max;
    case "max-1": return max - 1;
    case "+1": return orig + 1;
    case "-1": return orig - 1;
    case "double": return orig * 2;
    case "record-limit": return 16385;
  }
}

const fieldValueArb: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.constantFrom<FieldValue>("zero", "one", "max", "max-1", "+1", "-1", "double", "record-limit"),
  fc.nat().map((random): FieldValue => ({ random })),
);

/** Mutations weighted toward what breaks parsers: line ends, NULs, length fields, truncation, repetition. */
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("set" as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0, 0x0d, 0x0a, 0x20, 0x3a, 0xff, 0x7f, 0x16), fc.nat({ max: 255 })) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.oneof(fc.constantFrom(...TOKENS), fc.uint8Array({ minLength: 1, maxLength: 16 })) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("repeat" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }), times: fc.oneof(fc.integer({ min: 2, max: 8 }), fc.constantFrom(100, 1000, 5000)) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("number" as const), index: fc.nat(), text: fc.constantFrom(...NUMBERS) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("field" as const), index: fc.nat(), how: fieldValueArb }), weight: 4 },
);

/** Split points for delivering one input in pieces (any offsets; taken modulo length + 1). */
export const cutsArb: fc.Arbitrary<number[]> = fc.array(fc.nat(), { maxLength: 16 });

/** Splits bytes at the given offsets (modulo length + 1), keeping empty pieces out. */
export function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    if (p > prev) out.push(bytes.subarray(prev, p));
    prev = Math.max(prev, p);
  }
  if (prev < bytes.length || out.length === 0) out.push(bytes.subarray(prev));
  return out;
}

/** One byte per piece. */
export function bytewise(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(bytes.subarray(i, i + 1));
  return out;
}
