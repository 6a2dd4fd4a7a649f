/**
 * Generators for `http-framing.ts`: HTTP/1.1 request and response byte streams built from
 * well-formed parts with a few quirks mixed in (the forms parsers disagree on: framing fields,
 * chunk sizes, line ends, folding, odd start lines), sometimes mutated byte by byte after.
 * Deterministic for a seed. Streams are latin1 strings (one byte per code unit).
 *
 * @module
 */

/** A small seeded PRNG (mulberry32): the same seed gives the same cases on every runtime. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** `common` with probability 1 - p, else one of `odd`. */
  usually(common: string, p: number, odd: readonly string[]): string {
    return this.chance(p) ? this.pick(odd) : common;
  }
}

const METHODS = ["GET", "GET", "POST", "POST", "PUT", "HEAD", "OPTIONS", "DELETE", "PATCH"];
const ODD_METHODS = [
  "get", "FOO", "M-SEARCH", "PROPFIND", "PRI", "QUERY", "CONNECT", "G\x00T", "GE T", "GET\t", "G(T", "GET/", "", "\x80GET",
  "LINK", "SOURCE", "PURGE", "ACL",
];
const ODD_TARGETS = [
  "*", "http://a/x", "http://a:80/x?y", "HTTP://A/", "a:1", "/a b", "/\x7f", "/\x80", "/%00", "/a#f", "", "//", "/\x00",
  "/a\tb", "http://a@b/", "/?\x01", "/" + "a".repeat(300),
];
const ODD_VERSIONS = [
  "HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "http/1.1", "HTTP/1.01", "HTTP/01.1", "HTTP/1", "HTTP/1.1 ", "HTTP/11",
  "HTTP/1.1\t", "HTTP /1.1", "", "HTTP/9.9", "HTTP/1.x",
];
const ODD_SPACES = ["  ", "\t", "\x0b", "\x0c", "\r", ""];
const ODD_EOLS = ["\n", "\r", "\r\r\n", "\n\r", " \r\n", "\t\r\n", "\r\n\r"];
const ODD_LENGTHS = [
  "0{n}", "00{n}", "+{n}", "-{n}", "{n},{n}", "{n}, {n}", "{n},{m}", "0x{n}", " {n} ", "{n} {n}", "", "1e1", "{n}.0",
  "18446744073709551616{n}", "9007199254740993", "{n}\x0b", "\x0c{n}", "{n}\x00", "{n},", ",{n}", "{m}",
];
const ODD_CODINGS = [
  "Chunked", "CHUNKED", " chunked", "chunked ", "chunked, identity", "identity, chunked", "gzip, chunked", "chunked, gzip",
  "chunked;a=b", "xchunked", "chunked\x0b", "\x0bchunked", "chunked, chunked", "", ",chunked", "chunked,", "identity",
  "gzip", "chunked\x00", "chunk", "\"chunked\"", "chunked;", "gzip,,chunked", "deflate ,chunked",
];
const ODD_NAMES: Record<string, readonly string[]> = {
  "Content-Length": ["content-length", "CONTENT-LENGTH", "Content-Length ", "Content-Length\t", " Content-Length", "Content_Length", "Content-Length\x00", "Content-Lengt", "\tContent-Length"],
  "Transfer-Encoding": ["transfer-encoding", "TRANSFER-ENCODING", "Transfer-Encoding ", "Transfer-Encoding\t", " Transfer-Encoding", "Transfer_Encoding", "Transfer-Encoding\x0b", "\x0bTransfer-Encoding"],
};
const OTHER_FIELDS = [
  "Accept: */*", "X-A: b", "Connection: keep-alive", "Connection: close", "Connection: upgrade\r\nUpgrade: websocket",
  "Upgrade: h2c", "Expect: 100-continue", "X-E:", "X-Obs: a\r\n b", "X-Obs: a\r\n\tb", "X-Ctl: a\x01b", "X-Ctl: a\x7fb",
  "X-Ctl: a\x00b", "X-Obstext: \x80\xff", "X-Colon: a:b", ": nameless", "NoColon", "X Space: a", "X-Vt: \x0ba",
  "Trailer: X-T", "TE: trailers", "X-Long: " + "v".repeat(200), "Keep-Alive: timeout=5",
];
const ODD_HOSTS = ["", "a\r\nHost: b", "a:80", "[::1]", "a b", "a@b", "a:99999", "\x01", "a,b"];
const ODD_CHUNK_SIZES = [
  "0{h}", "000000000000{h}", "0x{h}", " {h}", "{h} ", "{h}\t", "+{h}", "-{h}", "{h};e", "{h};e=v", "{h} ;e", "{h};e=\"q v\"",
  "{h};", "{h};=v", "{h};e=\"\\\"\"", "ffffffffffffffff{h}", "{H}", "{h}\x00", "{h} e", "{h},", "{h}.", "{h};e=\x01",
  "1{h}", "{g}", "{h}; e", "{h};e =v", "{h};e= v", "{h}\t;e", "{h};e=v ", "{h};e=\x80", "{h};e=\"\x80\"", "{h};e=\"\t\"",
];
const TRAILERS = [
  "X-T: 1", "Content-Length: 5", "Transfer-Encoding: chunked", "X-T: a\r\n b", "X-T:\x01", " X-T: 1", "X-T : 1", "X-T",
  "Host: evil",
];
const SMUGGLED = ["GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", "0\r\n\r\n", "G", "\r\n"];

function fill(template: string, n: number): string {
  return template.replaceAll("{n}", String(n)).replaceAll("{m}", String(n + 1));
}

function bodyText(r: Rng, n: number): string {
  if (r.chance(0.15)) return (r.pick(SMUGGLED) + "x".repeat(n)).slice(0, n);
  let out = "";
  for (let i = 0; i < n; i++) out += String.fromCharCode(97 + r.int(26));
  return out;
}

/** A chunked body: data chunks, last chunk, trailers, with odd size lines and line ends now and then. */
export function chunkedBody(r: Rng, eol: () => string): { text: string; decoded: string } {
  let text = "";
  let decoded = "";
  const chunks = r.int(4);
  for (let i = 0; i < chunks; i++) {
    const n = 1 + r.int(r.chance(0.1) ? 300 : 20);
    const h = n.toString(16);
    const size = r.chance(0.2) ? r.pick(ODD_CHUNK_SIZES).replaceAll("{h}", h).replaceAll("{H}", h.toUpperCase()).replaceAll("{g}", (n + 1).toString(16)) : h;
    const data = bodyText(r, n);
    text += `${size}${eol()}${data}${r.chance(0.03) ? "" : eol()}`;
    decoded += data;
  }
  const last = r.usually("0", 0.15, ["00", "0;x=y", "000000", "0 ", " 0", "0x0", "0\t", "-0", "+0", "0;"]);
  text += `${last}${eol()}`;
  const trailers = r.chance(0.2) ? 1 + r.int(2) : 0;
  for (let i = 0; i < trailers; i++) text += `${r.pick(TRAILERS)}${eol()}`;
  if (!r.chance(0.03)) text += eol();
  return { text, decoded };
}

function fieldLine(r: Rng, name: string, value: string, eol: string): string {
  const odd = ODD_NAMES[name];
  const shown = odd !== undefined && r.chance(0.1) ? r.pick(odd) : name;
  const sep = r.usually(": ", 0.1, [":", ":\t", ":  ", ": \x0b", " : "]);
  const tail = r.usually("", 0.05, [" ", "\t", "\x0b", "\x0c"]);
  const fold = r.chance(0.03) ? `${eol}${r.pick([" ", "\t"])}` : "";
  return `${shown}${sep}${fold}${value}${tail}${eol}`;
}

/** One request: start line, fields (framing and otherwise), body. */
export function genRequest(r: Rng): string {
  const eolOdd = r.chance(0.1) ? 0.15 : 0;
  const eol = (): string => r.usually("\r\n", eolOdd, ODD_EOLS);
  const method = r.chance(0.85) ? r.pick(METHODS) : r.pick(ODD_METHODS);
  const target = r.chance(0.85) ? `/${r.usually("", 0.5, ["a", "a/b", "a?b=c", "%7e", "x;y"])}` : r.pick(ODD_TARGETS);
  const version = r.usually("HTTP/1.1", 0.12, ODD_VERSIONS);
  let text = `${method}${r.usually(" ", 0.05, ODD_SPACES)}${target}${r.usually(" ", 0.05, ODD_SPACES)}${version}${eol()}`;
  const fields: string[] = [];
  if (!r.chance(0.05)) fields.push(fieldLine(r, "Host", r.usually("a", 0.05, ODD_HOSTS), eol()));
  if (r.chance(0.03)) fields.push(fieldLine(r, "Host", r.pick(["a", "b", ""]), eol()));
  const n = r.int(12);
  const framing = r.pick(["none", "none", "length", "length", "chunked", "chunked", "both", "both-te-first"]);
  let body = "";
  if (framing === "length" || framing === "both" || framing === "both-te-first") {
    const value = r.chance(0.3) ? fill(r.pick(ODD_LENGTHS), n) : String(n);
    fields.push(fieldLine(r, "Content-Length", value, eol()));
    if (r.chance(0.05)) fields.push(fieldLine(r, "Content-Length", r.pick([String(n), String(n + 1), "0"]), eol()));
  }
  if (framing === "chunked" || framing === "both" || framing === "both-te-first") {
    const value = r.chance(0.3) ? r.pick(ODD_CODINGS) : "chunked";
    const line = fieldLine(r, "Transfer-Encoding", value, eol());
    if (framing === "both-te-first") fields.unshift(line);
    else fields.push(line);
    if (r.chance(0.05)) fields.push(fieldLine(r, "Transfer-Encoding", r.pick(["chunked", "identity", "gzip", ""]), eol()));
  }
  const extra = r.int(3);
  for (let i = 0; i < extra; i++) fields.splice(r.int(fields.length + 1), 0, `${r.pick(OTHER_FIELDS)}${eol()}`);
  text += fields.join("") + eol();
  if (framing === "chunked" || framing === "both-te-first" || (framing === "both" && r.chance(0.5))) body = chunkedBody(r, eol).text;
  else if (framing !== "none") body = bodyText(r, r.chance(0.1) ? Math.max(0, n + r.pick([-1, 1, 5])) : n);
  return text + body;
}

const STATUSES = ["200 OK", "200 OK", "200 OK", "404 Not Found", "500 Oops", "201 Created", "206 Partial"];
const ODD_STATUSES = [
  "200", "200 ", "204 No Content", "304 Not Modified", "101 Switching", "100 Continue", "103 Early", "102 Processing",
  "099 Low", "600 High", "20 Short", "2000 Long", "200\tTab", "  200 OK", "200 O\x01K", "205 Reset", "199 Odd", "-200 Neg",
];
const ODD_RESPONSE_VERSIONS = ["HTTP/1.0", "HTTP/1.2", "HTTP/2", "HTTP/2.0", "http/1.1", "HTTP/1.1 ", "HTTP/1", "ICY", ""];

/** One response: status line, fields, body (which may be close-delimited and so end the stream). */
export function genResponse(r: Rng): string {
  const eolOdd = r.chance(0.1) ? 0.15 : 0;
  const eol = (): string => r.usually("\r\n", eolOdd, ODD_EOLS);
  const version = r.usually("HTTP/1.1", 0.1, ODD_RESPONSE_VERSIONS);
  let text = `${version} ${r.chance(0.8) ? r.pick(STATUSES) : r.pick(ODD_STATUSES)}${eol()}`;
  const fields: string[] = [];
  const n = r.int(12);
  const framing = r.pick(["none", "length", "length", "length", "chunked", "chunked", "both"]);
  if (framing === "length" || framing === "both") {
    fields.push(fieldLine(r, "Content-Length", r.chance(0.3) ? fill(r.pick(ODD_LENGTHS), n) : String(n), eol()));
  }
  if (framing === "chunked" || framing === "both") {
    fields.push(fieldLine(r, "Transfer-Encoding", r.chance(0.3) ? r.pick(ODD_CODINGS) : "chunked", eol()));
  }
  const extra = r.int(3);
  for (let i = 0; i < extra; i++) fields.splice(r.int(fields.length + 1), 0, `${r.pick(OTHER_FIELDS)}${eol()}`);
  text += fields.join("") + eol();
  if (framing === "chunked" || (framing === "both" && r.chance(0.5))) return text + chunkedBody(r, eol).text;
  if (framing === "none") return text + (r.chance(0.3) ? bodyText(r, n) : "");
  return text + bodyText(r, r.chance(0.1) ? Math.max(0, n + r.pick([-1, 1, 5])) : n);
}

const TOKENS = [
  "\r", "\n", "\0", "\r\n", "\r\n\r\n", " ", "\t", ":", ";", ",", "\x7f", "\xff", "\x0b", "0", "\r\n ", "Content-Length: 1\r\n",
  "Transfer-Encoding: chunked\r\n", "0\r\n\r\n",
];

/** A few byte-level edits: insert a token, delete, overwrite or repeat a span. */
export function mutateBytes(r: Rng, text: string): string {
  let out = text;
  const edits = 1 + r.int(3);
  for (let e = 0; e < edits; e++) {
    const at = r.int(out.length + 1);
    switch (r.int(4)) {
      case 0:
        out = out.slice(0, at) + r.pick(TOKENS) + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(at + 1 + r.int(3));
        break;
      case 2:
        out = out.slice(0, at) + String.fromCharCode(r.int(256)) + out.slice(at + 1);
        break;
      default:
        out = out.slice(0, at) + out.slice(at, at + 1 + r.int(8)).repeat(2) + out.slice(at + 1 + r.int(8));
    }
  }
  return out;
}

/** A generated case: the stream, and for responses the methods of the requests they answer. */
export interface FramingCase {
  readonly kind: "request" | "response";
  readonly text: string;
  readonly methods: readonly string[];
}

/** Case number `index` of a run with `seed`: 1-3 pipelined messages, byte-mutated with probability `mutate`. */
export function genCase(seed: number, index: number, kind: "request" | "response", mutate = 0.25): FramingCase {
  const r = new Rng((seed * 0x9e3779b1 + index * 0x85ebca77) >>> 0);
  const count = r.pick([1, 1, 2, 2, 2, 3]);
  let text = r.chance(0.05) ? r.pick(["\r\n", "\r\n\r\n", "\n"]) : "";
  const methods: string[] = [];
  for (let i = 0; i < count; i++) {
    text += kind === "request" ? genRequest(r) : genResponse(r);
    if (kind === "response") methods.push(r.usually("GET", 0.3, ["HEAD", "POST", "HEAD"]));
  }
  if (kind === "response") methods.push("GET", "GET"); // answers to interim responses need no request of their own
  if (r.chance(mutate)) text = mutateBytes(r, text);
  return { kind, text, methods };
}
