import type { Conn } from "../core/conn.ts";
import { readFramingFields, responseBodyFraming, type BodyFraming } from "../protocol/body-framing.ts";
import type { HeaderList } from "../protocol/http-headers.ts";
import { connectionOptions, keepAlive, stripHopByHop } from "../protocol/hop-by-hop.ts";
import type { RequestHead } from "../protocol/http-request-head.ts";
import { parseResponseHead, type ResponseHead } from "../protocol/http-response-head.ts";
import { serializeRequestHead, serializeResponseHead } from "../protocol/http-serialize.ts";
import { relayBody } from "./body-relay.ts";
import { allowedTrailers } from "../protocol/trailer-fields.ts";
import { HttpParseError } from "../protocol/http-errors.ts";
import type { ByteCounts, ExchangeMeter } from "./exchange-meter.ts";
import { FlowTimeoutError, IdleDeadline } from "./idle-deadline.ts";
import type { ConnReader } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { readHead } from "./read-head.ts";
import { ExchangeAbortedError, noteSent, UpstreamClosedError } from "./exchange-errors.ts";
import { splice } from "./splice.ts";

/** Both ends of one HTTP/1.1 hop: the client side and the upstream side, each with its reader. */
export interface HttpHop {
  readonly client: Conn;
  readonly clientReader: ConnReader;
  readonly upstream: Conn;
  readonly upstreamReader: ConnReader;
}

export interface ExchangeResult {
  /** Final status the upstream answered. */
  readonly status: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** The client connection may carry another request. */
  readonly keepClient: boolean;
  /** The upstream connection may carry another request. */
  readonly keepUpstream: boolean;
  /** Set when the exchange became a tunnel (101 Switching Protocols) and has ended. */
  readonly upgradedEnd?: string;
  /** When the final response head arrived from upstream (`Date.now()`). */
  readonly headerAt: number;
}

/** Optional behaviour of {@link exchange}. */
export interface ExchangeOptions {
  /**
   * Adds to the request's fields before they go upstream (after hop-by-hop fields were
   * removed and `Via` added): e.g. a parent proxy's `Proxy-Authorization`.
   */
  readonly requestHeaders?: (headers: HeaderList) => HeaderList;
  /**
   * Rewrites the final (non-1xx) response's fields before they reach the client: called after
   * hop-by-hop fields were removed and `Via` added, before framing fields are re-added.
   */
  readonly responseHeaders?: (headers: HeaderList, status: number) => HeaderList;
  /**
   * Looks at the final response's head (not a 101 that switches protocols) before any of it
   * reaches the client: an error it returns is thrown as it is, with the upstream connection
   * closed (its body unread), so the caller can answer instead.
   */
  readonly checkResponse?: (head: ResponseHead, framing: BodyFraming) => Error | undefined;
  /**
   * Limits on the request's and the response's body (payload bytes). A body over one is
   * refused with the error its `exceeded` makes: when its length is announced, before any of
   * it (or, for the request, of the request) is sent, the upstream connection closed for a
   * response; else when the count passes the limit, mid-body.
   */
  readonly bodyLimits?: { readonly request?: BodyLimit; readonly response?: BodyLimit };
  /** Shows the bytes moved while the exchange runs, and takes what it counts for at its end. */
  readonly meter?: ExchangeMeter;
  /** What of a chunked request body's trailer section goes upstream (absent: all of it, as sent). */
  readonly requestTrailers?: (trailers: HeaderList) => HeaderList;
}

/** A limit on one body, and the error for a body over it (`length`: the announced one, if any). */
export interface BodyLimit {
  readonly bytes: number;
  exceeded(length: number | undefined): Error;
}

/** The relay limit of `limit`: the error for a body of unknown length that passed it. */
function relayLimit(limit: BodyLimit | undefined) {
  return limit === undefined ? {} : { limit: { bytes: limit.bytes, exceeded: () => limit.exceeded(undefined) } };
}

/** An `Upgrade` field that offers WebSocket (RFC 6455), alone or among other protocols. */
const WEBSOCKET_RE = /(^|,)[ \t]*websocket[ \t]*(,|$)/i;

/** Largest body (request or response) sent in one write with its head when it is already buffered. */
const COALESCE_MAX_BYTES = 16 * 1024;

/**
 * Forwards one request and its response over an HTTP/1.1 hop: hop-by-hop fields removed
 * (RFC 9110 §7.6.1), `Via` appended, bodies streamed as framed (chunked framing validated,
 * never buffered whole), 1xx passed through, `Upgrade` (e.g. WebSocket) turned into a byte
 * relay after the 101. `target` is the request target to send (origin-form, or absolute-form
 * to a parent proxy); `hostHeader` the Host.
 *
 * Errors before the final response's head reached the client are thrown as they are: the
 * caller can still answer, also after interim 1xx responses (RFC 9110 §15.2), so a client
 * that got a 100 Continue and then lost its origin gets a 502, not a dropped connection.
 * What the attempt had sent is `sentBefore(e)`. Later ones are thrown as ExchangeAbortedError.
 */
export async function exchange(
  hop: HttpHop,
  head: RequestHead,
  reqFraming: BodyFraming,
  target: string,
  hostHeader: string,
  ctx: FlowContext,
  options: ExchangeOptions = {},
): Promise<ExchangeResult> {
  const idle = ctx.limits.idleTimeoutMs;
  // RFC 9110 §7.8: Upgrade only counts when named in Connection; ignored in HTTP/1.0. Only to
  // WebSocket: after a 101 the connection is a byte relay no per-request rule sees, so an
  // upgrade to HTTP/2 (h2c) or anything else would carry requests past them; such a request
  // goes on as a plain one.
  const offered = head.version === "HTTP/1.1" && connectionOptions(head.headers).has("upgrade") ? head.headers.get("upgrade") : undefined;
  const upgrade = offered !== undefined && WEBSOCKET_RE.test(offered) ? "websocket" : undefined;
  let headers = stripHopByHop(head.headers).delete("host").set("Host", hostHeader);
  // RFC 9110 §8.6: one valid value, as a next hop cannot misread it ("8, 8", "010", two fields)
  if (reqFraming.kind === "length") headers = headers.set("Content-Length", String(reqFraming.length));
  headers = addVia(headers, head.version, ctx.viaName);
  if (options.requestHeaders) headers = options.requestHeaders(headers);
  // the codings as sent (a compressing one before chunked stays: the body is still coded)
  if (reqFraming.kind === "chunked") headers = headers.append("Transfer-Encoding", (readFramingFields(head.headers, head.version, "request").transferCodings ?? ["chunked"]).join(", "));
  if (upgrade !== undefined) headers = headers.append("Connection", "upgrade").append("Upgrade", upgrade);
  const stall = () => {
    hop.client.close();
    hop.upstream.close();
  };
  // Every write has the body relays' idle bound: a peer that stops reading (a client that
  // pipelines requests and never reads the answers) must not hold both connections forever.
  // A stalled write towards the client ends both; one towards the upstream ends the upstream
  // (the client can still be told: 504). Closing makes the write fail, and the failure is
  // reported as the timeout. The write's own promise is returned: no extra turns of the
  // event loop for the writes that go through (nearly all).
  let writeStalled: "Client" | "Upstream" | undefined;
  const bounded = <T>(p: Promise<T>, side: "Client" | "Upstream"): Promise<T> => {
    if (idle <= 0) return p;
    const timer = setTimeout(() => {
      writeStalled = side;
      if (side === "Client") stall();
      else hop.upstream.close();
    }, idle);
    const clear = () => clearTimeout(timer);
    p.then(clear, clear);
    return p;
  };
  const toClient = <T>(p: Promise<T>): Promise<T> => bounded(p, "Client");
  const toUpstream = <T>(p: Promise<T>): Promise<T> => bounded(p, "Upstream");
  const requestLimit = options.bodyLimits?.request;
  if (requestLimit !== undefined && reqFraming.kind === "length" && reqFraming.length > requestLimit.bytes) throw requestLimit.exceeded(reqFraming.length);
  const upW = hop.upstream.writable.getWriter();
  const cW = hop.client.writable.getWriter();
  // heads each way; the bodies count into the progress objects as they are relayed, an
  // upgraded connection into `tunnelled`, plus what the upstream sent right after its 101
  let bytesUp = 0;
  let bytesDown = 0;
  let sentStatus: number | null = null;
  let headerAt: number | null = null;
  const upProgress = { bytes: 0 };
  const downProgress = { bytes: 0 };
  const tunnelled = { bytesAtoB: 0, bytesBtoA: 0 };
  let restDown = 0;
  const counts = (): ByteCounts => ({
    bytesUp: bytesUp + upProgress.bytes + tunnelled.bytesAtoB,
    bytesDown: bytesDown + downProgress.bytes + tunnelled.bytesBtoA + restDown,
  });
  /** What the exchange counts for once over: its result, or what got through before an abort. */
  let moved: ByteCounts | undefined;
  options.meter?.began(counts);
  let upload: Promise<void> | undefined;
  let uploadDone = false;
  /** The exchange is over: a late outcome of the client watch below is no longer ours. */
  let settled = false;
  /** The client reset its connection while the answer was awaited or relayed. */
  let clientGone = false;
  // With the request sent, the client is watched: a reset (not a half-close, which still
  // wants the answer, nor a pipelined request) ends both sides at once, instead of when a
  // stalled upstream sends more or the idle limit passes. Not for an upgrade: after a 101
  // the client's stream is handed to the relay.
  const watchClient = () =>
    hop.clientReader.wait().catch(() => {
      if (settled) return;
      clientGone = true;
      stall();
    });
  // The upstream's idle limit for its answer counts from the end of the request body: a long
  // upload is no silent upstream, and while it goes on the upload relay's own idle limits
  // catch a stalled client (408) or an upstream that stopped reading (504).
  const answerWait = idle > 0 ? new IdleDeadline(idle) : undefined;
  answerWait?.hold();
  try {
    const out = serializeRequestHead({ method: head.method, target, version: "HTTP/1.1", headers });
    // as for responses below: a small request body that came in with its head goes up with it
    const wholeReq = reqFraming.kind === "length" && reqFraming.length > 0 && reqFraming.length <= COALESCE_MAX_BYTES
      ? hop.clientReader.takeBuffered(reqFraming.length, out)
      : undefined;
    await toUpstream(upW.write(wholeReq ?? out));
    bytesUp += out.byteLength;
    if (wholeReq) upProgress.bytes = wholeReq.byteLength - out.byteLength;
    // The request body goes up while we wait for the response: a client sending
    // "Expect: 100-continue" waits for the 100 before its body, and an origin may answer early.
    const awaitsContinue = /(^|,)\s*100-continue\s*($|,)/i.test(head.headers.get("expect") ?? "");
    const body = wholeReq ? Promise.resolve() : relayBody(hop.clientReader, upW, reqFraming, idle, stall, 400, {
      progress: upProgress,
      awaitsContinue,
      ...relayLimit(requestLimit),
      // never a field that frames, routes or authenticates in trailers (a server may merge them)
      trailers: (t: HeaderList) => (options.requestTrailers ? options.requestTrailers(allowedTrailers(t)) : allowedTrailers(t)),
    });
    upload = body.then(() => {
      uploadDone = true;
      answerWait?.resume();
      if (upgrade === undefined) void watchClient();
    });
    const uploadFailed = upload.then(() => new Promise<never>(() => {}));
    uploadFailed.catch(() => {});

    let res: ResponseHead;
    for (;;) {
      const bytes = await Promise.race([
        readHead(hop.upstreamReader, {
          kind: "response",
          maxHeadBytes: ctx.limits.maxHeadBytes,
          headTimeoutMs: idle || ctx.limits.headerTimeoutMs,
          firstByteTimeoutMs: answerWait ?? 0,
        }),
        uploadFailed,
      ]);
      if (!bytes) throw new UpstreamClosedError("Upstream closed the connection before answering");
      res = parseResponseHead(bytes, { maxHeaders: ctx.limits.maxHeaders, maxHeadBytes: ctx.limits.maxHeadBytes });
      if (res.status >= 200 || res.status === 101) break;
      // RFC 9110 §15.2: no interim response to an HTTP/1.0 client
      if (head.version === "HTTP/1.0") continue;
      const info = serializeResponseHead({ version: "HTTP/1.1", status: res.status, reason: res.reason, headers: oneContentLength(stripHopByHop(res.headers), readFramingFields(res.headers, res.version, "response").contentLength) });
      await toClient(cW.write(info));
      bytesDown += info.byteLength;
    }
    if (res.status === 101 && upgrade === undefined) {
      // switched to a protocol no one asked for: what follows on it is not HTTP/1.1 any more
      hop.upstream.close();
      throw new HttpParseError(502, "Upstream answered 101 Switching Protocols to a request without Upgrade");
    }
    const switchedTo = res.headers.get("upgrade");
    if (res.status === 101 && switchedTo !== undefined && !WEBSOCKET_RE.test(switchedTo)) {
      hop.upstream.close();
      throw new HttpParseError(502, `Upstream switched to ${JSON.stringify(switchedTo.slice(0, 64))}, not the WebSocket asked for`);
    }
    // Answered before the whole request body went up: the upstream may never read the rest,
    // or read it as its next request. Neither connection is in a known state after this
    // exchange, also when the upload ends while the answer is relayed (a client can pace
    // that): both close, and the client is told so in the head.
    const answeredEarly = !uploadDone;
    const finalAt = Date.now();
    headerAt = finalAt;
    const resFraming = responseBodyFraming(res, head.method);
    const tunnel = resFraming.kind === "tunnel" && upgrade !== undefined;
    const responseLimit = options.bodyLimits?.response;
    const tooLong = responseLimit !== undefined && resFraming.kind === "length" && resFraming.length > responseLimit.bytes;
    const refused = tunnel ? undefined : (options.checkResponse?.(res, resFraming) ?? (tooLong ? responseLimit.exceeded(resFraming.length) : undefined));
    if (refused !== undefined) {
      hop.upstream.close();
      throw refused;
    }
    // RFC 9112 §7.1: no chunked framing towards an HTTP/1.0 client; decode and delimit by close
    const dechunk = resFraming.kind === "chunked" && head.version === "HTTP/1.0";
    // Transfer codings besides chunked (gzip…) are passed on with the body they code; an
    // HTTP/1.0 client cannot be told of them, and would take the coded bytes for the content.
    const resFields = readFramingFields(res.headers, res.version, "response");
    const codings = resFraming.kind === "chunked" || resFraming.kind === "close" ? resFields.transferCodings ?? [] : [];
    const coded = codings.filter((c) => c !== "chunked");
    if (coded.length > 0 && head.version === "HTTP/1.0") {
      hop.upstream.close();
      throw new HttpParseError(502, `Upstream answered with transfer coding ${coded.join(", ")}, which an HTTP/1.0 client cannot take`);
    }
    // a draining gateway answers this request and closes (RFC 9112 §9.6: Connection: close)
    let keepClient = !tunnel && !dechunk && !answeredEarly && keepAlive(head.version, head.headers) && resFraming.kind !== "close" && !ctx.drain?.draining;
    let resHeaders = addVia(oneContentLength(stripHopByHop(res.headers), resFields.contentLength), res.version, ctx.viaName);
    if (options.responseHeaders) resHeaders = options.responseHeaders(resHeaders, res.status);
    if (resFraming.kind === "chunked" && !dechunk) resHeaders = resHeaders.append("Transfer-Encoding", codings.join(", "));
    else if (coded.length > 0) resHeaders = resHeaders.append("Transfer-Encoding", coded.join(", ")); // delimited by close
    if (tunnel) {
      resHeaders = resHeaders.append("Connection", "upgrade").append("Upgrade", res.headers.get("upgrade") ?? upgrade);
    } else if (!keepClient) {
      resHeaders = resHeaders.append("Connection", "close");
    }
    const resHead = serializeResponseHead({ version: "HTTP/1.1", status: res.status, reason: res.reason, headers: resHeaders });
    sentStatus = res.status;
    // a small body that came in with the head goes out with it: one write (one TLS record,
    // one send) instead of two; never waits for body bytes that are not here yet
    const wholeRes = !tunnel && resFraming.kind === "length" && resFraming.length <= COALESCE_MAX_BYTES
      ? hop.upstreamReader.takeBuffered(resFraming.length, resHead)
      : undefined;
    await toClient(cW.write(wholeRes ?? resHead));
    bytesDown += resHead.byteLength;
    if (tunnel) {
      await upload;
      upW.releaseLock();
      cW.releaseLock();
      const upRest = hop.upstreamReader.release();
      restDown = upRest?.byteLength ?? 0; // the Conn may free `upRest` once written
      if (upRest) await toClient(writeAll(hop.client, upRest));
      const result = await splice(ctx.runtime, hop.client, hop.upstream, {
        headA: hop.clientReader.release(),
        idleTimeoutMs: idle,
        names: ["client", "upstream"],
        progress: tunnelled,
      });
      moved = {
        bytesUp: bytesUp + upProgress.bytes + result.bytesAtoB,
        bytesDown: bytesDown + result.bytesBtoA + restDown,
      };
      return { status: res.status, ...moved, keepClient: false, keepUpstream: false, upgradedEnd: result.end, headerAt: finalAt };
    }
    if (wholeRes) downProgress.bytes = wholeRes.byteLength - resHead.byteLength;
    // the client may merge trailers into the head too: none that frames, authenticates or
    // says how to read the content (a late Content-Type the response checks never saw)
    else await relayBody(hop.upstreamReader, cW, resFraming, idle, stall, 502, { progress: downProgress, dechunk, ...(dechunk ? {} : { trailers: allowedTrailers }), ...relayLimit(responseLimit) });
    let keepUpstream = resFraming.kind !== "close" && keepAlive(res.version, res.headers);
    if (answeredEarly || !uploadDone) {
      // answered before the request body was complete: neither connection is in a known state
      keepClient = false;
      keepUpstream = false;
    } else {
      await upload;
    }
    if (!keepClient) await toClient(cW.close()).catch(() => {});
    moved = counts();
    return { status: res.status, ...moved, keepClient, keepUpstream, headerAt: finalAt };
  } catch (thrown) {
    const e = writeStalled ? new FlowTimeoutError(`${writeStalled} took nothing for ${idle} ms`, { cause: thrown }) : thrown;
    if (sentStatus !== null || clientGone) {
      moved = counts();
      const sent = { status: sentStatus, ...moved, headerAt };
      const message = clientGone ? "Client reset the connection before the response was complete" : e instanceof Error ? e.message : String(e);
      throw new ExchangeAbortedError(502, message, sent, { cause: e, clientReset: clientGone });
    }
    // the caller can still answer; what went up (a body the upstream took) counts all the same
    moved = counts();
    noteSent(e, moved);
    throw e;
  } finally {
    settled = true;
    options.meter?.ended(moved);
    answerWait?.stop();
    releaseQuietly(upW);
    releaseQuietly(cW);
  }
}

/**
 * `headers` with the response's Content-Length as one plain number (RFC 9110 §8.6: "8, 8",
 * "008" or two fields of one value become "8"), also where it frames no body (HEAD, 204, 304,
 * 1xx): a client's parser reads it all the same, and a strict one (llhttp) refuses a list.
 */
function oneContentLength(headers: HeaderList, length: number | undefined): HeaderList {
  return length === undefined ? headers : headers.set("Content-Length", String(length));
}

/** Appends our hop to `Via` (RFC 9110 §7.6.3). */
function addVia(headers: HeaderList, version: string, name: string): HeaderList {
  return headers.append("Via", `${version.replace(/^HTTP\//, "")} ${name}`);
}

async function writeAll(conn: Conn, bytes: Uint8Array): Promise<void> {
  const w = conn.writable.getWriter();
  try {
    await w.write(bytes);
  } finally {
    w.releaseLock();
  }
}

function releaseQuietly(w: WritableStreamDefaultWriter<Uint8Array>): void {
  try {
    w.releaseLock();
  } catch {
    // already released
  }
}
