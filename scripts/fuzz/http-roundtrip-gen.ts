/**
 * Generators for `http-roundtrip.ts`: messages the gateway accepts and forwards, in the many
 * forms it must normalize on the way (Content-Length lists and leading zeros, Transfer-Encoding
 * spellings and codings, chunk extensions, trailer fields it drops, Connection options, obs-text,
 * HTTP/1.0, interim and bodiless responses). The quirk-heavy generators of `http-framing.ts`
 * are mostly refused at the head and so seldom reach the re-serializing code. Deterministic for
 * a seed; latin1 strings.
 *
 * @module
 */
import type { Rng } from "./http-framing-gen.ts";

const LENGTH_FORMS = ["{n}", "{n}", "{n}", "{n},{n}", "{n}, {n}", "0{n}", "000{n}", "{n} ,{n}", "{n},\t{n}", "{n}\t", " {n}", "{n}\r\nContent-Length: {n}", "{n}\r\ncontent-length: 0{n}"];
const CHUNKED_FORMS = ["chunked", "chunked", "Chunked", "CHUNKED", "gzip, chunked", "gzip,chunked", "deflate , chunked", "chunked\t", " chunked", "gzip\r\nTransfer-Encoding: chunked", "x-gzip, chunked"];
const EXTENSIONS = ["", "", "", ";a", ";a=b", ';a="q v"', ';a="\\""', ";a;b=c", ';a="\x80"', ";A=1", ';a=""'];
const TRAILERS = [
  "X-T: 1", "X-T: a b", "X-Obs: \x80\xff", "X-E:", "X-Ows:  v ", "Content-Length: 5", "Transfer-Encoding: chunked", "Host: evil",
  "Trailer: X-T", "Content-Type: text/html", "Set-Cookie: a=b", "Authorization: Basic eA==", "Connection: close", "X-T: 2",
];
const REQUEST_FIELDS = [
  "Accept: */*", "Connection: keep-alive", "Connection: close", "Connection: x-a, keep-alive\r\nX-A: 1", "Connection: content-length",
  "Connection: host", "Keep-Alive: timeout=5", "TE: trailers", "Trailer: X-T", "Connection: upgrade\r\nUpgrade: websocket",
  "Connection: Upgrade\r\nUpgrade: h2c", "Upgrade: websocket", "Expect: 100-continue", "Proxy-Connection: keep-alive",
  "X-Obstext: \x80\xff", "X-Empty:", "Via: 1.0 other", "Content-Encoding: gzip", "X-Tab: a\tb", "Forwarded: for=1.2.3.4",
  "Proxy-Authorization: Basic eA==", "X-Forwarded-For: 1.2.3.4",
];
const RESPONSE_FIELDS = [
  "Connection: keep-alive", "Connection: close", "Connection: x-a\r\nX-A: 1", "Connection: content-length", "Keep-Alive: timeout=5",
  "Trailer: X-T", "Set-Cookie: a=b", "X-Obstext: \x80\xff", "X-Empty:", "Content-Encoding: gzip", "Upgrade: h2c", "Via: 1.1 other",
  "Content-Type: text/plain", "Proxy-Authenticate: Basic", "Date: Mon, 01 Jan 2024 00:00:00 GMT",
];
const PATHS = ["/", "/", "/a", "/a?b=c", "/%7e", "/a;x", "/a/../b", "?q", "", "/a%20b", "/~x", "/a?", "/*"];
const METHODS = ["GET", "GET", "POST", "POST", "PUT", "HEAD", "OPTIONS", "DELETE", "PATCH", "QUERY", "PROPFIND"];
const STATUSES = ["200 OK", "200 OK", "201 Created", "206 Partial", "404 Not Found", "500 Oops", "299 x", "599 y", "200 ", "200 r\x80", "204 No Content", "304 Not Modified"];
const INTERIM = ["100 Continue", "103 Early Hints", "102 Processing", "199 Odd"];

function payload(r: Rng, n: number): string {
  if (r.chance(0.15)) return "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n0\r\n\r\n".slice(0, n).padEnd(n, "x");
  let out = "";
  for (let i = 0; i < n; i++) out += String.fromCharCode(r.chance(0.05) ? r.int(256) : 97 + r.int(26));
  return out;
}

function chunked(r: Rng): string {
  let text = "";
  for (let i = r.int(4); i > 0; i--) {
    const n = 1 + r.int(r.chance(0.1) ? 300 : 20);
    const size = n.toString(16);
    text += `${r.chance(0.1) ? `00${size}` : r.chance(0.1) ? size.toUpperCase() : size}${r.pick(EXTENSIONS)}\r\n${payload(r, n)}\r\n`;
  }
  text += `${r.pick(["0", "0", "0", "000", "0;x=y"])}\r\n`;
  if (r.chance(0.4)) for (let i = 1 + r.int(3); i > 0; i--) text += `${r.pick(TRAILERS)}\r\n`;
  return `${text}\r\n`;
}

const fields = (r: Rng, list: readonly string[], most: number): string => Array.from({ length: r.int(most + 1) }, () => `${r.pick(list)}\r\n`).join("");

/** The framing fields and body of a message that has one: a length, chunked, or (`close`) neither. */
function framed(r: Rng, version: string, close: boolean): { fields: string; body: string } {
  const kind = r.pick(version === "HTTP/1.0" ? ["length", "length", "none"] : ["length", "length", "chunked", "chunked", "none"]);
  if (kind === "chunked") return { fields: `Transfer-Encoding: ${r.pick(CHUNKED_FORMS)}\r\n`, body: chunked(r) };
  const n = r.int(r.chance(0.1) ? 400 : 16);
  if (kind === "length") return { fields: `Content-Length: ${r.pick(LENGTH_FORMS).replaceAll("{n}", String(n))}\r\n`, body: payload(r, n) };
  return { fields: close && r.chance(0.3) ? "Transfer-Encoding: gzip\r\n" : "", body: close ? payload(r, n) : "" };
}

/** One request the explicit proxy forwards to `authority` (an absolute URI's scheme and authority). */
export function genForwardableRequest(r: Rng, authority: string): string {
  const method = r.pick(METHODS);
  const version = r.chance(0.1) ? "HTTP/1.0" : "HTTP/1.1";
  const host = r.chance(0.9) ? `Host: ${r.pick(["origin.test", "a", "origin.test:80", "other"])}\r\n` : version === "HTTP/1.0" ? "" : "Host: \r\n";
  const f = method === "GET" && r.chance(0.5) ? { fields: "", body: "" } : framed(r, version, false);
  return `${method} ${authority}${r.pick(PATHS)} ${version}\r\n${host}${fields(r, REQUEST_FIELDS, 3)}${f.fields}${fields(r, REQUEST_FIELDS, 1)}\r\n${f.body}`;
}

/** The answer to one `method` request, sometimes after an interim one; bodiless where it must be. */
export function genForwardableResponse(r: Rng, method: string): string {
  let text = "";
  if (r.chance(0.15)) text += `HTTP/1.1 ${r.pick(INTERIM)}\r\n${fields(r, ["Link: </a>", "X-A: 1", "Content-Length: 0, 0", "Connection: x-a"], 2)}\r\n`;
  const version = r.chance(0.1) ? "HTTP/1.0" : "HTTP/1.1";
  const status = r.pick(STATUSES);
  const bodiless = method === "HEAD" || status.startsWith("204") || status.startsWith("304");
  const f = bodiless
    ? { fields: r.chance(0.6) ? `Content-Length: ${r.pick(LENGTH_FORMS).replaceAll("{n}", String(r.int(100)))}\r\n` : "", body: "" }
    : framed(r, version, true);
  return `${text}${version} ${status}\r\n${fields(r, RESPONSE_FIELDS, 3)}${f.fields}${fields(r, RESPONSE_FIELDS, 1)}\r\n${f.body}`;
}
