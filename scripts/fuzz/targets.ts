/**
 * The fuzz targets: each runs one parser over an input delivered in pieces and reduces what
 * happened to a comparable outcome string. The oracle (in `property.ts`) runs the same input
 * with different splits and compares.
 *
 * Only the documented parse errors (`HttpParseError` with a documented status,
 * `ClientHelloError`) become outcomes; any other exception escapes and fails the run.
 *
 * @module
 */
import { ChunkedDecoder } from "../../src/protocol/chunked.ts";
import { ClientHelloError, ClientHelloReader, type ClientHello } from "../../src/protocol/client-hello.ts";
import { requestBodyFraming, responseBodyFraming } from "../../src/protocol/body-framing.ts";
import { HttpParseError } from "../../src/protocol/http-errors.ts";
import { HeadReader } from "../../src/protocol/http-head-reader.ts";
import { parseRequestHead, type RequestHead } from "../../src/protocol/http-request-head.ts";
import { parseResponseHead, type ResponseHead } from "../../src/protocol/http-response-head.ts";
import { serializeRequestHead, serializeResponseHead } from "../../src/protocol/http-serialize.ts";

/** Parser limits an input is run with (fuzzed too: defaults and small ones). */
export interface Limits {
  readonly maxHeadBytes: number;
  readonly maxHeaders: number;
  readonly maxLineBytes: number;
  readonly maxTrailerBytes: number;
  readonly maxHelloBytes: number;
  readonly maxHelloRecords: number;
  readonly maxProxyV2Bytes: number;
}

/** Defaults of the gateway config (src/config/schema.ts). */
export const DEFAULT_LIMITS: Limits = { maxHeadBytes: 65536, maxHeaders: 100, maxLineBytes: 4096, maxTrailerBytes: 16384, maxHelloBytes: 16384, maxHelloRecords: 16, maxProxyV2Bytes: 4096 };
/** Small limits, so limit edges are hit often. */
export const SMALL_LIMITS: Limits = { maxHeadBytes: 1024, maxHeaders: 5, maxLineBytes: 16, maxTrailerBytes: 64, maxHelloBytes: 1024, maxHelloRecords: 2, maxProxyV2Bytes: 64 };

/** What one run produced: `key` is compared across splits; `parsed` is for the seed oracle. */
export interface Outcome {
  readonly key: string;
  /** First parsed result (head, decoded body or hello), when there is one. */
  readonly first?: unknown;
  /** Stream offset where the first message ended. */
  readonly end?: number;
}

const REQUEST_STATUSES = new Set([400, 431, 501, 505]);

/** Thrown when a documented error class carries an undocumented value, or an invariant breaks. */
export class OracleError extends Error {
  override name = "OracleError";
}

function httpError(e: unknown, allowed: ReadonlySet<number>): string {
  if (!(e instanceof HttpParseError)) throw e;
  if (!allowed.has(e.status)) throw new OracleError(`HttpParseError with undocumented status "${e.status}": ${e.message}`);
  if (e.message.length === 0) throw new OracleError("HttpParseError without a message");
  return `error ${e.status} ${e.message}`;
}

function requestSummary(h: RequestHead): string {
  return JSON.stringify([h.method, h.target, h.version, h.headers.entries, h.form, h.authority ?? null, h.url?.href ?? null, h.scheme ?? null, h.path ?? null, requestBodyFraming(h)]);
}

/** A request a parser accepted must serialise and parse back to the same thing (what a proxy forwards means what it read). */
function requestRoundTrip(h: RequestHead, limits: Limits): void {
  let again: RequestHead;
  try {
    again = parseRequestHead(serializeRequestHead(h), { maxHeadBytes: limits.maxHeadBytes * 2, maxHeaders: limits.maxHeaders });
  } catch (e) {
    throw new OracleError(`accepted request head does not round-trip: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (requestSummary(again) !== requestSummary(h)) throw new OracleError("request head changed meaning after a round trip");
}

/**
 * Request heads: HeadReader + parseRequestHead (+ framing), up to two pipelined heads when the
 * first has no body.
 */
export function runRequest(pieces: readonly Uint8Array[], limits: Limits): Outcome {
  const reader = new HeadReader({ kind: "request", maxHeadBytes: limits.maxHeadBytes });
  const heads: string[] = [];
  let first: RequestHead | undefined;
  let end: number | undefined;
  let offset = 0;
  try {
    for (const piece of pieces) {
      let chunk = piece;
      let base = offset;
      offset += piece.length;
      for (;;) {
        const r = reader.push(chunk);
        if (r === undefined) break;
        const h = parseRequestHead(r.head, { maxHeadBytes: limits.maxHeadBytes, maxHeaders: limits.maxHeaders });
        requestRoundTrip(h, limits);
        const stop = base + chunk.length - r.rest.length;
        heads.push(`${requestSummary(h)}@${stop}`);
        if (first === undefined) {
          first = h;
          end = stop;
        }
        if (heads.length === 2 || requestBodyFraming(h).kind !== "none" || h.method === "CONNECT") {
          return { key: heads.join("\n"), first, end };
        }
        base = stop;
        chunk = r.rest;
        if (chunk.length === 0) break;
      }
    }
    return { key: `${heads.join("\n")}\nincomplete ${reader.buffered} ${reader.started}`, first, end };
  } catch (e) {
    return { key: `${heads.join("\n")}\n${httpError(e, REQUEST_STATUSES)}`, first, end };
  }
}

function responseSummary(h: ResponseHead): string {
  return JSON.stringify([h.version, h.status, h.reason, h.headers.entries, responseBodyFraming(h, "GET"), responseBodyFraming(h, "HEAD")]);
}

const RESPONSE_STATUSES = new Set([502]);

/** Response heads: HeadReader (response) + parseResponseHead (+ framing for GET and HEAD), with a round trip. */
export function runResponse(pieces: readonly Uint8Array[], limits: Limits): Outcome {
  const reader = new HeadReader({ kind: "response", maxHeadBytes: limits.maxHeadBytes });
  let offset = 0;
  try {
    for (const piece of pieces) {
      offset += piece.length;
      const r = reader.push(piece);
      if (r === undefined) continue;
      const h = parseResponseHead(r.head, { maxHeadBytes: limits.maxHeadBytes, maxHeaders: limits.maxHeaders });
      let again: ResponseHead;
      try {
        again = parseResponseHead(serializeResponseHead(h), { maxHeadBytes: limits.maxHeadBytes * 2, maxHeaders: limits.maxHeaders });
      } catch (e) {
        throw new OracleError(`accepted response head does not round-trip: ${e instanceof Error ? e.message : String(e)}`);
      }
      const summary = responseSummary(h);
      if (responseSummary(again) !== summary) throw new OracleError("response head changed meaning after a round trip");
      const end = offset - r.rest.length;
      return { key: `${summary}@${end}`, first: h, end };
    }
    return { key: `incomplete ${reader.buffered}` };
  } catch (e) {
    return { key: httpError(e, RESPONSE_STATUSES) };
  }
}

const CHUNKED_STATUSES = new Set([400]);

/** Chunked bodies: the decoded payload, trailers and where the body ended. */
export function runChunked(pieces: readonly Uint8Array[], limits: Limits): Outcome {
  const d = new ChunkedDecoder({ maxLineBytes: limits.maxLineBytes, maxTrailerBytes: limits.maxTrailerBytes, maxTrailers: limits.maxHeaders });
  const data: Uint8Array[] = [];
  let offset = 0;
  let end: number | undefined;
  try {
    for (const piece of pieces) {
      const r = d.push(piece);
      if (r.consumed < 0 || r.consumed > piece.length) throw new OracleError(`consumed ${r.consumed} of ${piece.length}`);
      if (!r.done && r.consumed !== piece.length) throw new OracleError("stopped early without being done");
      for (const v of r.data) {
        if (v.length === 0) throw new OracleError("empty data view");
        data.push(v.slice());
      }
      if (r.done && end === undefined) end = offset + r.consumed;
      offset += piece.length;
    }
  } catch (e) {
    return { key: httpError(e, CHUNKED_STATUSES) };
  }
  const payload = new Uint8Array(data.reduce((n, v) => n + v.length, 0));
  let o = 0;
  for (const v of data) {
    payload.set(v, o);
    o += v.length;
  }
  if (payload.length !== d.bodyBytes) throw new OracleError(`bodyBytes ${d.bodyBytes} but ${payload.length} bytes delivered`);
  const trailers = d.done ? d.trailers.entries : [];
  const key = `${d.done} ${end ?? "-"} ${digest(payload)} ${JSON.stringify(trailers)}`;
  return d.done ? { key, first: { payload, trailers }, end } : { key };
}

/** ClientHellos: the parsed hello (with record count and trailing bytes), or the error reason. */
export function runHello(pieces: readonly Uint8Array[], limits: Limits): Outcome {
  const reader = new ClientHelloReader({ maxBytes: limits.maxHelloBytes, maxRecords: limits.maxHelloRecords });
  let hello: ClientHello | undefined;
  let total = 0;
  try {
    for (const piece of pieces) {
      total += piece.length;
      hello = reader.push(piece) ?? hello;
    }
  } catch (e) {
    if (!(e instanceof ClientHelloError)) throw e;
    if (!(e.offset >= 0 && e.offset < reader.buffered)) throw new OracleError(`ClientHelloError offset ${e.offset} outside 0..${reader.buffered - 1}`);
    return { key: `error ${e.reason}` };
  }
  if (reader.bytes().length !== total) throw new OracleError("bytes() lost input");
  if (hello === undefined) return { key: `incomplete ${reader.buffered}` };
  return { key: `${JSON.stringify(hello)} rest ${reader.rest().length}`, first: hello, end: total - reader.rest().length };
}

/** Length and FNV-1a hash: enough to compare payloads across splits without hex-dumping them. */
function digest(b: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ (b[i] ?? 0), 0x01000193);
  return `${b.length}:${(h >>> 0).toString(16)}`;
}
