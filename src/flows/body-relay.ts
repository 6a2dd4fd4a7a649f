import type { BodyFraming } from "../protocol/body-framing.ts";
import { ChunkedDecoder, encodeTrailerSection } from "../protocol/chunked.ts";
import type { HeaderList } from "../protocol/http-headers.ts";
import { HttpParseError } from "../protocol/http-errors.ts";
import type { ConnReader } from "./conn-reader.ts";
import { FlowTimeoutError, IdleDeadline } from "./idle-deadline.ts";

/** Optional extras for {@link relayBody}. */
export interface RelayExtras {
  /** Incremented after every write, so a caller knows how much got through when it fails. */
  readonly progress?: { bytes: number };
  /** Write the decoded payload of a chunked body instead of its framing (for an HTTP/1.0 peer). */
  readonly dechunk?: boolean;
  /**
   * A request body whose client sent "Expect: 100-continue": until its first byte, silence
   * is the upstream's (no 100 yet), so a timeout then stays a FlowTimeoutError, not a 408.
   */
  readonly awaitsContinue?: boolean;
  /**
   * At most this many payload bytes (a chunked body's decoded data) go through: the write
   * that would pass it is not made, and `exceeded()` is thrown instead.
   */
  readonly limit?: { readonly bytes: number; readonly exceeded: () => Error };
  /**
   * A chunked body's trailer section is written anew, passed through this (e.g. to drop
   * fields the receiver must only believe from us); its chunks pass as they came.
   */
  readonly trailers?: (trailers: HeaderList) => HeaderList;
}

/**
 * Copies one message body from `src` to `dst` as framed (bytes pass through unchanged,
 * chunked framing is validated so we know where the message ends). Streams: never holds
 * more than one chunk. Bytes past the end go back to `src`. Returns the bytes copied.
 * `status` is the HTTP status to report if the framing is broken (400 client, 502 upstream).
 */
export async function relayBody(
  src: ConnReader,
  dst: WritableStreamDefaultWriter<Uint8Array>,
  framing: BodyFraming,
  idleTimeoutMs: number,
  onStall: () => void,
  status: 400 | 502,
  extra: RelayExtras = {},
): Promise<number> {
  // one timer for the whole body, not one per read and per write
  const idle = idleTimeoutMs > 0 ? new IdleDeadline(idleTimeoutMs) : 0;
  try {
    return await relayFramed(src, (b) => (idle === 0 ? dst.write(b) : idle.race(dst.write(b), onStall)), framing, idle, status, extra);
  } finally {
    if (idle !== 0) idle.stop();
  }
}

async function relayFramed(
  src: ConnReader,
  send: (b: Uint8Array) => Promise<void>,
  framing: BodyFraming,
  idle: IdleDeadline | 0,
  status: 400 | 502,
  extra: RelayExtras,
): Promise<number> {
  let copied = 0;
  /** Payload bytes so far, against `extra.limit` (counted only with one). */
  const limit = extra.limit;
  let payload = 0;
  const count = (n: number) => {
    payload += n;
    if (limit !== undefined && payload > limit.bytes) throw limit.exceeded();
  };
  // whose turn it is: a timeout while reading is the sender's, while writing the receiver's
  let reading = false;
  const read = (): Promise<Uint8Array | undefined> => {
    reading = true;
    return src.read(idle);
  };
  const write = async (b: Uint8Array) => {
    reading = false;
    const n = b.byteLength; // the Conn may free `b` once written
    await send(b);
    if (extra.progress) extra.progress.bytes += n;
  };
  try {
    switch (framing.kind) {
      case "none":
      case "tunnel":
        return 0;
      case "length": {
        let remaining = framing.length;
        while (remaining > 0) {
          const chunk = await read();
          if (!chunk) throw new HttpParseError(status, `Connection closed with ${remaining} body bytes missing`);
          const take = chunk.byteLength > remaining ? chunk.subarray(0, remaining) : chunk;
          if (take !== chunk) src.unread(chunk.subarray(remaining));
          remaining -= take.byteLength;
          count(take.byteLength);
          copied += take.byteLength;
          await write(take);
        }
        return copied;
      }
      case "chunked": {
        const decoder = new ChunkedDecoder();
        /** Past the last chunk's size line: with `extra.trailers`, held back until the end. */
        let inTrailer = false;
        for (;;) {
          const chunk = await read();
          if (!chunk) throw new HttpParseError(status, "Connection closed in the middle of a chunked body");
          const r = decoder.push(chunk);
          const part = r.consumed === chunk.byteLength ? chunk : chunk.subarray(0, r.consumed);
          if (r.done) src.unread(chunk.subarray(r.consumed));
          if (limit !== undefined) for (const d of r.data) count(d.byteLength);
          let outs = extra.dechunk ? r.data : [part];
          const trailers = extra.trailers;
          if (trailers) {
            outs = [inTrailer ? new Uint8Array(0) : r.trailerAt === undefined ? part : part.subarray(0, r.trailerAt)];
            inTrailer ||= r.trailerAt !== undefined;
            if (r.done) outs.push(encodeTrailerSection(trailers(decoder.trailers)));
          }
          for (const out of outs) {
            copied += out.byteLength;
            if (out.byteLength > 0) await write(out);
          }
          if (r.done) return copied;
        }
      }
      case "close": {
        for (;;) {
          const chunk = await read();
          if (!chunk) return copied;
          count(chunk.byteLength);
          copied += chunk.byteLength;
          await write(chunk);
        }
      }
    }
  } catch (e) {
    // a request body that stopped arriving is the client's timeout (408), not the upstream's;
    // except before the first byte of a body held back for a 100 Continue that never came
    const clientsTurn = !extra.awaitsContinue || copied > 0;
    if (status === 400 && reading && clientsTurn && e instanceof FlowTimeoutError) {
      throw new HttpParseError(408, `The request body stopped arriving: ${e.message}`, { cause: e });
    }
    throw e;
  }
}
