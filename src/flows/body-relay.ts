import type { BodyFraming } from "../protocol/body-framing.ts";
import { ChunkedDecoder } from "../protocol/chunked.ts";
import { HttpParseError } from "../protocol/http-errors.ts";
import type { ConnReader } from "./conn-reader.ts";
import { deadline } from "./conn-reader.ts";

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
): Promise<number> {
  const write = (b: Uint8Array) => (idleTimeoutMs > 0 ? deadline(dst.write(b), idleTimeoutMs, onStall) : dst.write(b));
  let copied = 0;
  switch (framing.kind) {
    case "none":
    case "tunnel":
      return 0;
    case "length": {
      let remaining = framing.length;
      while (remaining > 0) {
        const chunk = await src.read(idleTimeoutMs);
        if (!chunk) throw new HttpParseError(status, `Connection closed with ${remaining} body bytes missing`);
        const take = chunk.byteLength > remaining ? chunk.subarray(0, remaining) : chunk;
        if (take !== chunk) src.unread(chunk.subarray(remaining));
        remaining -= take.byteLength;
        copied += take.byteLength;
        await write(take);
      }
      return copied;
    }
    case "chunked": {
      const decoder = new ChunkedDecoder();
      for (;;) {
        const chunk = await src.read(idleTimeoutMs);
        if (!chunk) throw new HttpParseError(status, "Connection closed in the middle of a chunked body");
        const r = decoder.push(chunk);
        const part = r.consumed === chunk.byteLength ? chunk : chunk.subarray(0, r.consumed);
        if (r.done) src.unread(chunk.subarray(r.consumed));
        copied += part.byteLength;
        if (part.byteLength > 0) await write(part);
        if (r.done) return copied;
      }
    }
    case "close": {
      for (;;) {
        const chunk = await src.read(idleTimeoutMs);
        if (!chunk) return copied;
        copied += chunk.byteLength;
        await write(chunk);
      }
    }
  }
}
