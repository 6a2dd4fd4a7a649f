/**
 * Test helper: encode ClientHellos from a plain model, and fast-check arbitraries that
 * generate valid ones together with the values the parser should report. Independent of
 * the parser: it only writes bytes.
 */
import fc from "fast-check";

/** One extension: type and raw body. */
export interface ExtSpec {
  readonly type: number;
  readonly body: Uint8Array;
}

/** Everything needed to write a ClientHello handshake body. */
export interface HelloSpec {
  readonly legacyVersion: number;
  readonly sessionId: Uint8Array;
  readonly cipherSuites: readonly number[];
  readonly compressionMethods: readonly number[];
  /** `undefined`: no extensions block at all (pre-TLS 1.2 style). */
  readonly extensions: readonly ExtSpec[] | undefined;
}

/** What the parser should report for a generated hello (greaseValues sorted). */
export interface Expected {
  readonly recordVersion: number;
  readonly recordCount: number;
  readonly handshakeLength: number;
  readonly legacyVersion: number;
  readonly maxVersion: number;
  readonly sessionIdLength: number;
  readonly cipherSuites: readonly number[];
  readonly compressionMethods: readonly number[];
  readonly extensionTypes: readonly number[];
  readonly sni: string | undefined;
  readonly sniIsIp: boolean;
  readonly alpn: readonly string[];
  readonly supportedVersions: readonly number[];
  readonly supportedGroups: readonly number[];
  readonly keyShareGroups: readonly number[];
  readonly signatureAlgorithms: readonly number[];
  readonly ecPointFormats: readonly number[];
  readonly ech: boolean;
  readonly greaseValues: readonly number[];
}

export const u8 = (v: number): number[] => [v & 0xff];
export const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
export const u24 = (v: number): number[] => [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const vec8 = (b: readonly number[]): number[] => [...u8(b.length), ...b];
const vec16 = (b: readonly number[]): number[] => [...u16(b.length), ...b];

export const ext = (type: number, body: readonly number[]): ExtSpec => ({ type, body: Uint8Array.from(body) });
export const sniExt = (name: string): ExtSpec => ext(0, vec16([0, ...vec16(ascii(name))]));
export const alpnExt = (names: readonly string[]): ExtSpec => ext(16, vec16(names.flatMap((n) => vec8(ascii(n)))));
export const versionsExt = (vs: readonly number[]): ExtSpec => ext(43, vec8(vs.flatMap(u16)));
export const groupsExt = (gs: readonly number[]): ExtSpec => ext(10, vec16(gs.flatMap(u16)));
export const sigAlgsExt = (ss: readonly number[]): ExtSpec => ext(13, vec16(ss.flatMap(u16)));
export const pointFormatsExt = (fs: readonly number[]): ExtSpec => ext(11, vec8(fs));
export const keyShareExt = (shares: readonly (readonly [number, number])[]): ExtSpec =>
  ext(51, vec16(shares.flatMap(([g, n]) => [...u16(g), ...vec16(Array.from({ length: n }, (_, i) => i & 0xff))])));
export const echExt = (): ExtSpec => ext(0xfe0d, [0, 0, 1, 0, 1, 7, ...vec16([1, 2, 3]), ...vec16([4, 5, 6, 7])]);
export const pskExt = (): ExtSpec => ext(41, [...vec16([...vec16([1, 2, 3]), 0, 0, 0, 0]), ...vec16(vec8(Array(32).fill(9)))]);

/** The handshake message: type 1, 24-bit length, body. */
export function encodeHello(spec: HelloSpec): Uint8Array {
  const body = [
    ...u16(spec.legacyVersion),
    ...Array.from({ length: 32 }, (_, i) => (i * 7) & 0xff),
    ...vec8([...spec.sessionId]),
    ...vec16(spec.cipherSuites.flatMap(u16)),
    ...vec8(spec.compressionMethods),
  ];
  if (spec.extensions !== undefined) body.push(...vec16(spec.extensions.flatMap((e) => [...u16(e.type), ...vec16([...e.body])])));
  return Uint8Array.from([1, ...u24(body.length), ...body]);
}

/** A minimal TLS 1.3 ClientHello record with SNI `name` (one cipher suite, no other extension). */
export function clientHello(name: string): Uint8Array {
  return recordize(encodeHello({
    legacyVersion: 0x0303,
    sessionId: new Uint8Array(32).fill(7),
    cipherSuites: [0x1301],
    compressionMethods: [0],
    extensions: [sniExt(name), versionsExt([0x0304])],
  }));
}

/** Wrap a handshake message into handshake records cut at `cuts` (offsets into the message). */
export function recordize(message: Uint8Array, cuts: readonly number[] = [], recordVersion = 0x0301): Uint8Array {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < message.length))].sort((a, b) => a - b);
  const out: number[] = [];
  let prev = 0;
  for (const p of [...points, message.length]) {
    out.push(0x16, ...u16(recordVersion), ...u16(p - prev), ...message.subarray(prev, p));
    prev = p;
  }
  return Uint8Array.from(out);
}

/** Number of records {@link recordize} makes for these cuts. */
export function recordCount(length: number, cuts: readonly number[]): number {
  return new Set(cuts.filter((c) => c > 0 && c < length)).size + 1;
}

/** Split bytes into chunks at the given offsets (taken modulo length + 1). */
export function chunks(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

export const GREASE = Array.from({ length: 16 }, (_, i) => i * 0x1010 + 0x0a0a);
const isGreaseValue = (v: number): boolean => GREASE.includes(v);

const known = new Set([0, 10, 11, 13, 16, 41, 43, 51, 0xfe0d]);
const u16Arb = fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(...GREASE));
const labelArb = fc.stringMatching(/^[a-zA-Z0-9_-]{1,20}$/);
const tldArb = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9-]{0,9}$/);
/** DNS names of mixed case whose last label is not numeric. */
export const hostArb = fc
  .tuple(fc.array(labelArb, { maxLength: 5 }), tldArb)
  .map(([labels, tld]) => [...labels, tld].join("."));
const alpnNameArb = fc.uint8Array({ minLength: 1, maxLength: 24 }).map((b) => String.fromCharCode(...b));

/** A generated hello: encoded record bytes, the records' cut points, and what to expect. */
export interface Generated {
  readonly bytes: Uint8Array;
  readonly expected: Expected;
}

/** Valid ClientHellos with random fields, extension sets and order, GREASE and fragmentation. */
export const helloArb: fc.Arbitrary<Generated> = fc
  .record({
    recordVersion: fc.integer({ min: 0x0300, max: 0x0304 }),
    legacyVersion: fc.integer({ min: 0x0300, max: 0x03ff }),
    sessionId: fc.uint8Array({ maxLength: 32 }),
    cipherSuites: fc.array(u16Arb, { minLength: 1, maxLength: 40 }),
    compressionMethods: fc.array(fc.integer({ min: 1, max: 255 }), { maxLength: 3 }).map((c) => [0, ...c]),
    noExtensions: fc.integer({ min: 0, max: 9 }).map((x) => x === 0),
    sni: fc.option(hostArb, { nil: undefined }),
    alpn: fc.option(fc.array(alpnNameArb, { minLength: 1, maxLength: 5 }), { nil: undefined }),
    versions: fc.option(fc.array(u16Arb, { minLength: 1, maxLength: 8 }), { nil: undefined }),
    groups: fc.option(fc.array(u16Arb, { minLength: 1, maxLength: 8 }), { nil: undefined }),
    keyShares: fc.option(fc.array(fc.tuple(u16Arb, fc.integer({ min: 1, max: 1300 })), { maxLength: 3 }), { nil: undefined }),
    sigAlgs: fc.option(fc.array(u16Arb, { minLength: 1, maxLength: 12 }), { nil: undefined }),
    pointFormats: fc.option(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 3 }), { nil: undefined }),
    ech: fc.boolean(),
    psk: fc.boolean(),
    unknown: fc.uniqueArray(
      fc.tuple(fc.integer({ min: 0, max: 0xffff }).filter((t) => !known.has(t)), fc.uint8Array({ maxLength: 40 })),
      { maxLength: 6, selector: ([t]) => t },
    ),
    order: fc.array(fc.nat(), { minLength: 20, maxLength: 20 }),
    cuts: fc.array(fc.nat({ max: 8000 }), { maxLength: 12 }),
  })
  .map((g) => {
    const exts: ExtSpec[] = [];
    if (g.sni !== undefined) exts.push(sniExt(g.sni));
    if (g.alpn !== undefined) exts.push(alpnExt(g.alpn));
    if (g.versions !== undefined) exts.push(versionsExt(g.versions));
    if (g.groups !== undefined) exts.push(groupsExt(g.groups));
    if (g.keyShares !== undefined) exts.push(keyShareExt(g.keyShares));
    if (g.sigAlgs !== undefined) exts.push(sigAlgsExt(g.sigAlgs));
    if (g.pointFormats !== undefined) exts.push(pointFormatsExt(g.pointFormats));
    if (g.ech) exts.push(echExt());
    for (const [type, body] of g.unknown) if (!exts.some((e) => e.type === type)) exts.push({ type, body });
    const keyed = exts.map((e, i) => ({ e, k: g.order[i] ?? i }));
    keyed.sort((a, b) => a.k - b.k);
    const ordered = keyed.map((x) => x.e);
    if (g.psk) ordered.push(pskExt());
    const extensions = g.noExtensions ? undefined : ordered;
    const spec: HelloSpec = { ...g, extensions };
    const message = encodeHello(spec);
    const cuts = g.cuts.map((c) => c % message.length);
    const has = extensions !== undefined;
    const types = extensions?.map((e) => e.type) ?? [];
    const lists = {
      supportedVersions: has ? (g.versions ?? []) : [],
      supportedGroups: has ? (g.groups ?? []) : [],
      keyShareGroups: has ? (g.keyShares ?? []).map(([grp]) => grp) : [],
      signatureAlgorithms: has ? (g.sigAlgs ?? []) : [],
    };
    const maxV = lists.supportedVersions.filter((v) => !isGreaseValue(v));
    const grease = [...g.cipherSuites, ...types, ...Object.values(lists).flat()].filter(isGreaseValue);
    const expected: Expected = {
      recordVersion: g.recordVersion,
      recordCount: recordCount(message.length, cuts),
      handshakeLength: message.length - 4,
      legacyVersion: g.legacyVersion,
      maxVersion: maxV.length > 0 ? Math.max(...maxV) : g.legacyVersion,
      sessionIdLength: g.sessionId.length,
      cipherSuites: g.cipherSuites,
      compressionMethods: g.compressionMethods,
      extensionTypes: types,
      sni: has ? g.sni?.toLowerCase() : undefined,
      sniIsIp: false,
      alpn: has ? (g.alpn ?? []) : [],
      ...lists,
      ecPointFormats: has ? (g.pointFormats ?? []) : [],
      ech: has && g.ech,
      greaseValues: [...new Set(grease)].sort((a, b) => a - b),
    };
    return { bytes: recordize(message, cuts, g.recordVersion), expected };
  });
