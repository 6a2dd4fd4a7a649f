/**
 * Tollgate's side of `http-framing.ts`: the gateway's own parsers read a byte stream the way
 * its flows do — `HeadReader` for the head, `parseRequestHead` / `parseResponseHead`, the body
 * framing, then `ChunkedDecoder` or a byte count — message after message, and report where
 * each message ends. Shares its result shape with `llhttp-reference.mjs`.
 *
 * @module
 */
import { decodeLatin1 } from "../../src/core/bytes.ts";
import { requestBodyFraming, responseBodyFraming, type BodyFraming } from "../../src/protocol/body-framing.ts";
import { ChunkedDecoder } from "../../src/protocol/chunked.ts";
import { HttpParseError } from "../../src/protocol/http-errors.ts";
import { HeadReader } from "../../src/protocol/http-head-reader.ts";
import type { HeaderEntry, HeaderList } from "../../src/protocol/http-headers.ts";
import { connectionOptions, keepAlive } from "../../src/protocol/hop-by-hop.ts";
import { parseRequestHead } from "../../src/protocol/http-request-head.ts";
import { parseResponseHead } from "../../src/protocol/http-response-head.ts";

/** One message as a parser delimited it. */
export interface ParsedMessage {
  readonly method: string;
  /** Request target ("" for responses). */
  readonly target: string;
  /** The origin-form target the gateway forwards a request with (Tollgate's side only). */
  readonly path?: string;
  /** Status code (0 for requests). */
  readonly status: number;
  readonly version: string;
  readonly headers: readonly (readonly [string, string])[];
  /** The decoded body, latin1. */
  readonly body: string;
  /** A chunked body's trailer fields. */
  readonly trailers: readonly (readonly [string, string])[];
  readonly keepAlive: boolean;
  /** The connection stops carrying HTTP after this message (CONNECT, Upgrade, 101). */
  readonly upgrade: boolean;
}

/** How a stream was read: its complete messages, and how it ended. */
export interface Outcome {
  readonly messages: readonly ParsedMessage[];
  /** "crash": the parser threw something other than an HttpParseError (a bug in itself). */
  readonly end: "clean" | "incomplete" | "error" | "upgrade" | "crash";
  readonly error?: string;
}

type Body = { readonly body: string; readonly trailers: readonly HeaderEntry[]; readonly rest: Uint8Array } | undefined;

/** The body a framing delimits at the start of `rest`; undefined when the stream ends first. */
function readBody(framing: BodyFraming, rest: Uint8Array): Body {
  switch (framing.kind) {
    case "none":
    case "tunnel":
      return { body: "", trailers: [], rest };
    case "length":
      return rest.length < framing.length ? undefined : { body: decodeLatin1(rest.subarray(0, framing.length)), trailers: [], rest: rest.subarray(framing.length) };
    case "close":
      return { body: decodeLatin1(rest), trailers: [], rest: rest.subarray(rest.length) };
    case "chunked": {
      const decoder = new ChunkedDecoder();
      const r = decoder.push(rest);
      return r.done ? { body: r.data.map(decodeLatin1).join(""), trailers: decoder.trailers.entries, rest: rest.subarray(r.consumed) } : undefined;
    }
  }
}

function failure(messages: ParsedMessage[], e: unknown): Outcome {
  if (e instanceof HttpParseError) return { messages, end: "error", error: `${e.status} ${e.message}` };
  return { messages, end: "crash", error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

/** The next head in `rest`, or how the stream ends without one. */
function nextHead(kind: "request" | "response", rest: Uint8Array): { head: Uint8Array; rest: Uint8Array } | "clean" | "incomplete" {
  const reader = new HeadReader({ kind });
  const r = reader.push(rest);
  if (r !== undefined) return r;
  return reader.started || reader.buffered > 0 ? "incomplete" : "clean";
}

const upgrades = (version: string, headers: HeaderList): boolean =>
  version === "HTTP/1.1" && connectionOptions(headers).has("upgrade") && /(^|,)[ \t]*websocket[ \t]*(,|$)/i.test(headers.get("upgrade") ?? "");

/** Tollgate reading a client's pipelined requests. */
export function tollgateRequests(bytes: Uint8Array): Outcome {
  const messages: ParsedMessage[] = [];
  let rest = bytes;
  try {
    for (;;) {
      const next = nextHead("request", rest);
      if (typeof next === "string") return { messages, end: next };
      const head = parseRequestHead(next.head);
      // a CONNECT's tunnel starts right after its head (explicit.ts)
      const body = readBody(head.method === "CONNECT" ? { kind: "none" } : requestBodyFraming(head), next.rest);
      if (body === undefined) return { messages, end: "incomplete" };
      rest = body.rest;
      const upgrade = head.method === "CONNECT" || upgrades(head.version, head.headers);
      const { method, target, version } = head;
      messages.push({ method, target, ...(head.path === undefined ? {} : { path: head.path }), status: 0, version, headers: head.headers.entries, body: body.body, trailers: body.trailers, keepAlive: keepAlive(version, head.headers), upgrade });
      if (upgrade) return { messages, end: "upgrade" };
    }
  } catch (e) {
    return failure(messages, e);
  }
}

/**
 * Tollgate reading an upstream's responses to requests with `methods`, in order; interim
 * (1xx but 101) responses answer no request of their own. The end of `bytes` is the end of
 * the stream (a close-delimited body ends there).
 */
export function tollgateResponses(bytes: Uint8Array, methods: readonly string[]): Outcome {
  const messages: ParsedMessage[] = [];
  let rest = bytes;
  let answered = 0;
  try {
    for (;;) {
      const next = nextHead("response", rest);
      if (typeof next === "string") return { messages, end: next };
      const res = parseResponseHead(next.head);
      const interim = res.status < 200 && res.status !== 101;
      const method = methods[answered] ?? "GET";
      if (!interim) answered++;
      const framing = responseBodyFraming(res, interim ? "GET" : method);
      const body = readBody(framing, next.rest);
      if (body === undefined) return { messages, end: "incomplete" };
      rest = body.rest;
      const upgrade = framing.kind === "tunnel";
      const { status, version } = res;
      messages.push({ method, target: "", status, version, headers: res.headers.entries, body: body.body, trailers: body.trailers, keepAlive: keepAlive(version, res.headers) && framing.kind !== "close", upgrade });
      if (upgrade) return { messages, end: "upgrade" };
    }
  } catch (e) {
    return failure(messages, e);
  }
}
