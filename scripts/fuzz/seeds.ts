/**
 * Valid seed inputs for each parser, as fast-check arbitraries, each with what a correct
 * parser reports for it (checked on unmutated seeds), plus hand-written corner cases.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { type Expected, helloArb } from "../../test/protocol/client-hello-builder.ts";
import { helloLengthFields } from "./hello-fields.ts";
import type { Seed } from "./mutate.ts";

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
const text = (s: string): Seed => ({ bytes: enc(s), fields: [] });

/** A seed with what a correct parser says about it (`undefined`: corner case, no claim). */
export interface SeedCase<E> {
  readonly seed: Seed;
  readonly expected: E | undefined;
}

/** What the first head of an HTTP seed parses to. */
export interface HeadExpectation {
  readonly start: readonly string[];
  readonly headers: readonly (readonly [string, string])[];
  /** Stream offset just past the head. */
  readonly end: number;
}

const label = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,9}$/);
const dnsName = fc.tuple(fc.array(label, { maxLength: 3 }), label).map(([ls, tld]) => [...ls, tld].join("."));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join("."));
const hostArb = fc.oneof({ arbitrary: dnsName, weight: 4 }, { arbitrary: ipv4, weight: 1 }, { arbitrary: fc.constantFrom("[::1]", "[2001:db8::1]", "[fe80::a:b]"), weight: 1 });
const portArb = fc.integer({ min: 1, max: 65535 });
const pathArb = fc.stringMatching(/^(\/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,12}){1,4}(\?[A-Za-z0-9=&%]{0,16})?$/);
const tokenArb = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,16}$/);
const valueArb = fc.stringMatching(/^([\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff\t]{0,30}[\x21-\x7e\x80-\xff])?)?$/);
const extraHeaders = fc.array(
  fc.tuple(tokenArb, valueArb).filter(([n]) => !/^(host|content-length|transfer-encoding)$/i.test(n)),
  { maxLength: 8 },
);

const requestStart = fc.oneof(
  fc.record({ method: fc.constant("CONNECT"), host: hostArb, port: portArb }).map((r) => ({ method: r.method, target: `${r.host}:${r.port}`, host: `${r.host}:${r.port}` })),
  fc.record({ method: fc.constantFrom("GET", "POST", "PUT", "HEAD", "DELETE", "PATCH", "OPTIONS"), scheme: fc.constantFrom("http", "https"), host: hostArb, port: fc.option(portArb, { nil: undefined }), path: pathArb })
    .map((r) => {
      const authority = r.port === undefined ? r.host : `${r.host}:${r.port}`;
      return { method: r.method, target: `${r.scheme}://${authority}${r.path}`, host: authority };
    }),
  fc.record({ method: fc.oneof(fc.constantFrom("GET", "POST"), tokenArb.filter((t) => t !== "CONNECT")), path: pathArb, host: hostArb }).map((r) => ({ method: r.method, target: r.path, host: r.host })),
  hostArb.map((host) => ({ method: "OPTIONS", target: "*", host })),
);

type Framing = { readonly kind: "none" } | { readonly kind: "length"; readonly body: Uint8Array } | { readonly kind: "chunked" };
const framingArb: fc.Arbitrary<Framing> = fc.oneof(
  { arbitrary: fc.constant({ kind: "none" } as const), weight: 3 },
  { arbitrary: fc.uint8Array({ maxLength: 40 }).map((body) => ({ kind: "length" as const, body })), weight: 2 },
  { arbitrary: fc.constant({ kind: "chunked" } as const), weight: 1 },
);

function joinBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Valid request heads of every target form, with framing fields, bodies, pipelined requests and leading CRLFs. */
export const requestSeedArb: fc.Arbitrary<SeedCase<HeadExpectation>> = fc
  .record({
    leading: fc.nat({ max: 2 }),
    start: requestStart,
    version: fc.constantFrom("HTTP/1.1", "HTTP/1.1", "HTTP/1.0"),
    extra: extraHeaders,
    hostFirst: fc.boolean(),
    framing: framingArb,
    next: fc.constantFrom("", "", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", "GET /x HTTP/1.1\r\n"),
  })
  .map((g) => {
    const framing: [string, string][] = g.framing.kind === "length"
      ? [["Content-Length", String(g.framing.body.length)]]
      : g.framing.kind === "chunked" && g.version === "HTTP/1.1" ? [["Transfer-Encoding", "chunked"]] : [];
    const host: [string, string] = ["Host", g.start.host];
    const headers = g.hostFirst ? [host, ...g.extra, ...framing] : [...g.extra, host, ...framing];
    const head = `${g.start.method} ${g.start.target} ${g.version}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`;
    const lead = "\r\n".repeat(g.leading);
    const body = g.framing.kind === "length" ? g.framing.body : framing.length > 0 ? enc("3\r\nabc\r\n0\r\n\r\n") : enc(g.next);
    return {
      seed: { bytes: joinBytes([enc(lead + head), body]), fields: [] },
      expected: { start: [g.start.method, g.start.target, g.version], headers, end: lead.length + head.length },
    };
  });

/** Valid response heads with random status, reason, fields and framing. */
export const responseSeedArb: fc.Arbitrary<SeedCase<HeadExpectation>> = fc
  .record({
    version: fc.constantFrom("HTTP/1.1", "HTTP/1.0"),
    status: fc.integer({ min: 100, max: 599 }),
    reason: fc.stringMatching(/^[\x20-\x7e\x80-\xff\t]{0,20}$/),
    extra: extraHeaders,
    framing: framingArb,
  })
  .map((g) => {
    const framing: [string, string][] = g.framing.kind === "length"
      ? [["Content-Length", String(g.framing.body.length)]]
      : g.framing.kind === "chunked" && g.version === "HTTP/1.1" ? [["Transfer-Encoding", "chunked"]] : [];
    const headers = [...g.extra, ...framing];
    const head = `${g.version} ${g.status} ${g.reason}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`;
    const body = g.framing.kind === "length" ? g.framing.body : enc("3\r\nabc\r\n0\r\n\r\n");
    return { seed: { bytes: joinBytes([enc(head), body]), fields: [] }, expected: { start: [g.version, String(g.status), g.reason], headers, end: head.length } };
  });

/** What a chunked seed decodes to. */
export interface ChunkedExpectation {
  readonly payload: Uint8Array;
  readonly trailers: readonly (readonly [string, string])[];
  /** Stream offset just past the last chunk and trailer section. */
  readonly end: number;
}

// no BWS: the decoder refuses it in a size line it passes on as it came (chunked.ts)
const extArb = fc.constantFrom("", ";a", ";a=b", ';q="x y"', ";k=v;flag", ';e="\\"q\\""', ";x");
/** Valid chunked bodies: sizes in either case with leading zeros, extensions, trailers, and the next message after. */
export const chunkedSeedArb: fc.Arbitrary<SeedCase<ChunkedExpectation>> = fc
  .record({
    chunks: fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 300 }), extArb, fc.nat({ max: 3 }), fc.boolean()), { maxLength: 6 }),
    lastExt: extArb,
    trailers: fc.array(fc.tuple(tokenArb, valueArb), { maxLength: 3 }),
    next: fc.constantFrom("", "GET / HTTP/1.1\r\n", "\r\n"),
  })
  .map((g) => {
    const parts: Uint8Array[] = [];
    for (const [data, ext, zeros, upper] of g.chunks) {
      const hex = data.length.toString(16);
      parts.push(enc(`${"0".repeat(zeros)}${upper ? hex.toUpperCase() : hex}${ext}\r\n`), data, enc("\r\n"));
    }
    parts.push(enc(`0${g.lastExt}\r\n${g.trailers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`));
    const body = joinBytes(parts);
    return {
      seed: { bytes: joinBytes([body, enc(g.next)]), fields: [] },
      expected: { payload: joinBytes(g.chunks.map(([d]) => d)), trailers: g.trailers, end: body.length },
    };
  });

const fixtureDir = new URL("../../test/fixtures/client-hello/", import.meta.url);
const fixtures: Seed[] = readdirSync(fixtureDir)
  .filter((f) => f.endsWith(".bin"))
  .sort()
  .map((f) => {
    const bytes = new Uint8Array(readFileSync(new URL(f, fixtureDir)));
    return { bytes, fields: helloLengthFields(bytes) };
  });

/** Number of real-client ClientHello captures used as seeds. */
export const FIXTURE_COUNT = fixtures.length;

/** Generated ClientHellos (with what they parse to) and real-client captures. */
export const helloSeedArb: fc.Arbitrary<SeedCase<Expected>> = fc.oneof(
  { arbitrary: helloArb.map((g) => ({ seed: { bytes: g.bytes, fields: helloLengthFields(g.bytes) }, expected: g.expected })), weight: 3 },
  { arbitrary: fc.constantFrom(...fixtures).map((seed) => ({ seed, expected: undefined })), weight: 2 },
);

/** Hand-written HTTP corner cases: smuggling patterns, odd forms, limits. */
export const REQUEST_CORNERS: readonly Seed[] = [
  "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
  "POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n",
  "POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
  "POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: xchunked\r\n\r\n",
  "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n folded\r\n\r\n",
  "GET http://a.test/ HTTP/1.1\r\nHost : a.test\r\n\r\n",
  "GET http://user@a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n",
  "GET http://0x7f.1/ HTTP/1.1\r\nHost: 0x7f.1\r\n\r\n",
  "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
  "CONNECT a.test:0 HTTP/1.1\r\nHost: a.test:0\r\n\r\n",
  "CONNECT a.test:65536 HTTP/1.1\r\nHost: a.test\r\n\r\n",
  "GET http://a.test/#frag HTTP/1.1\r\nHost: a.test\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
  "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\nHost: a\n\n",
  "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
  "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
  `GET / HTTP/1.1\r\nHost: a\r\n${"X: y\r\n".repeat(101)}\r\n`,
].map(text);

/** Hand-written response corner cases. */
export const RESPONSE_CORNERS: readonly Seed[] = [
  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
  "HTTP/1.1 200\r\n\r\n",
  "HTTP/1.1 99 Low\r\n\r\n",
  "HTTP/1.1 600 High\r\n\r\n",
  "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
  "HTTP/2 200\r\n\r\n",
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
  "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx",
  "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nx",
].map(text);

/** Hand-written chunked corner cases. */
export const CHUNKED_CORNERS: readonly Seed[] = [
  "0\r\n\r\n", "1\r\na\r\n0\r\n\r\n", "fffffffffffffff\r\n", "20000000000000\r\n", "1 \r\na\r\n0\r\n\r\n",
  "1;\r\na\r\n0\r\n\r\n", "-1\r\n", "0x1\r\na\r\n", "1\r\nab\r\n", "1\na\n0\n\n", "0\r\nX: y\r\n\r\n",
  "0\r\n X: y\r\n\r\n", `0\r\n${"T: v\r\n".repeat(101)}\r\n`, `${"0".repeat(5000)}1\r\na\r\n0\r\n\r\n`,
].map(text);
