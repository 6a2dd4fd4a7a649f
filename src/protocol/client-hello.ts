/**
 * Incremental, sans-IO reader of the TLS ClientHello that opens a connection: what a
 * transparent proxy peeks at (SNI, ALPN, versions) before it decides to splice or intercept.
 *
 * @module
 */
import { ClientHelloBodyParser } from "./client-hello-body.ts";
import type { ClientHello } from "./client-hello-types.ts";
import { ClientHelloError, type ClientHelloErrorReason } from "./client-hello-error.ts";

export { type ClientHello, isGrease } from "./client-hello-types.ts";
export { parseSniHostName, type SniHostName } from "./client-hello-sni.ts";
export { ClientHelloError, type ClientHelloErrorReason } from "./client-hello-error.ts";

/** Options for {@link ClientHelloReader}. */
export interface ClientHelloReaderOptions {
  /**
   * Largest ClientHello accepted: the handshake body length in bytes, without record and
   * handshake headers (default 65536; post-quantum hellos are ~1.5–1.8 KiB).
   */
  readonly maxBytes?: number;
  /** Most TLS records the ClientHello may be spread over (default 64). */
  readonly maxRecords?: number;
}

/** Default for {@link ClientHelloReaderOptions.maxBytes}. */
export const DEFAULT_MAX_CLIENT_HELLO_BYTES = 65536;
/** Default for {@link ClientHelloReaderOptions.maxRecords}. */
export const DEFAULT_MAX_CLIENT_HELLO_RECORDS = 64;

const CONTENT_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 1;
const MAX_RECORD_PAYLOAD = 16384;

/**
 * Reads the ClientHello from the first bytes of a TLS connection, across any number of
 * pushes and TLS records (handshake fragmentation), with each byte examined once: pushing
 * one byte at a time is linear. Malformed input throws a {@link ClientHelloError} at the
 * first byte that proves it: a first byte other than 0x16 fails at once (plain HTTP on a
 * TLS port), record and handshake headers are checked byte by byte, and each ClientHello
 * field as soon as it has arrived. Buffering is bounded by `maxBytes` and
 * `maxRecords` (plus the chunk being pushed).
 *
 * Every pushed byte is kept unchanged: {@link bytes} is what a transparent proxy forwards
 * to the server, {@link rest} what followed the ClientHello's last record.
 * After an error the reader is dead: `push` throws the same error again.
 *
 * @example
 * ```ts
 * const reader = new ClientHelloReader();
 * for await (const chunk of conn.readable) {
 *   const hello = reader.push(chunk); // throws ClientHelloError on garbage
 *   if (hello) { route(hello.sni, hello.alpn); upstream.write(reader.bytes()); break; }
 * }
 * ```
 */
export class ClientHelloReader {
  readonly #maxHandshake: number;
  readonly #maxRecords: number;
  #raw: Uint8Array = new Uint8Array(0);
  #rawLen = 0;
  /** Stream offset just past the last record of the ClientHello, once complete. */
  #consumed = 0;
  #records = 0;
  #recordVersion = 0;
  /** Bytes of the current record header seen (0–5) and its partial value. */
  #hdrPos = 0;
  #hdrVersion = 0;
  #hdrLen = 0;
  /** Payload bytes left in the current record; 0 while reading a header. */
  #recLeft = 0;
  /** Handshake header bytes seen (0–4) and the body length it gives. */
  #hsHdrPos = 0;
  #hsLen = 0;
  #body: Uint8Array = new Uint8Array(0);
  #bodyFill = 0;
  #parser: ClientHelloBodyParser | undefined;
  #hello: ClientHello | undefined;
  #error: ClientHelloError | undefined;

  constructor(options: ClientHelloReaderOptions = {}) {
    this.#maxHandshake = options.maxBytes ?? DEFAULT_MAX_CLIENT_HELLO_BYTES;
    this.#maxRecords = options.maxRecords ?? DEFAULT_MAX_CLIENT_HELLO_RECORDS;
    if (!(this.#maxHandshake >= 0) || !(this.#maxRecords >= 1)) {
      throw new RangeError(`Invalid ClientHello limits "${this.#maxHandshake}", "${this.#maxRecords}"`);
    }
  }

  /** The parsed ClientHello once complete, else `undefined`. */
  get hello(): ClientHello | undefined {
    return this.#hello;
  }

  /** Number of bytes pushed so far. */
  get buffered(): number {
    return this.#rawLen;
  }

  /**
   * Add bytes from the connection.
   *
   * @returns the ClientHello once its last record is complete (and on every later push),
   * otherwise `undefined`: more bytes are needed.
   * @throws {ClientHelloError} on malformed input or when a limit is exceeded.
   */
  push(chunk: Uint8Array): ClientHello | undefined {
    if (this.#error !== undefined) throw this.#error;
    const from = this.#rawLen;
    this.#append(chunk);
    if (this.#hello !== undefined) return this.#hello;
    try {
      return this.#scan(from);
    } catch (e) {
      if (e instanceof ClientHelloError) this.#error = e;
      throw e;
    }
  }

  /**
   * Every byte pushed so far, unchanged: the records of the ClientHello followed by {@link rest}.
   * A view that later pushes do not modify.
   */
  bytes(): Uint8Array {
    return this.#raw.subarray(0, this.#rawLen);
  }

  /** Bytes pushed after the ClientHello's last record (empty until it is complete; normally empty). */
  rest(): Uint8Array {
    return this.#hello === undefined ? new Uint8Array(0) : this.#raw.subarray(this.#consumed, this.#rawLen);
  }

  #scan(from: number): ClientHello | undefined {
    const raw = this.#raw;
    const end = this.#rawLen;
    let i = from;
    while (i < end) {
      if (this.#recLeft === 0) {
        this.#headerByte(raw[i] ?? 0, i);
        i++;
        continue;
      }
      if (this.#hsHdrPos < 4) {
        this.#recLeft--;
        this.#handshakeHeaderByte(raw[i] ?? 0, i);
        i++;
      } else {
        const n = Math.min(this.#recLeft, end - i);
        this.#body.set(raw.subarray(i, i + n), this.#bodyFill);
        this.#bodyFill += n;
        this.#recLeft -= n;
        i += n;
      }
      if (this.#hsHdrPos === 4 && this.#advanceBody(i - 1)) {
        this.#consumed = i;
        return this.#finish();
      }
    }
    return undefined;
  }

  #headerByte(c: number, at: number): void {
    switch (this.#hdrPos) {
      case 0:
        if (c !== CONTENT_HANDSHAKE) {
          if (this.#records === 0) throw fail("not-tls", `First byte "0x${hex2(c)}" is not a TLS handshake record`, at);
          throw fail("bad-record", `Record of content type "${c}" inside the ClientHello`, at);
        }
        if (this.#records >= this.#maxRecords) {
          throw fail("too-many-records", `ClientHello spans more than ${this.#maxRecords} records`, at);
        }
        break;
      case 1:
        if (c !== 3) throw fail("bad-record", `Record version major "${c}" is not 3`, at);
        this.#hdrVersion = c << 8;
        break;
      case 2:
        if (c > 4) throw fail("bad-record", `Record version "0x03${hex2(c)}" is unknown`, at);
        this.#hdrVersion |= c;
        break;
      case 3:
        this.#hdrLen = c << 8;
        if (this.#hdrLen > MAX_RECORD_PAYLOAD) throw fail("bad-record", `Record length exceeds ${MAX_RECORD_PAYLOAD}`, at);
        break;
      default: {
        const len = this.#hdrLen | c;
        if (len === 0) throw fail("bad-record", "Empty handshake record", at);
        if (len > MAX_RECORD_PAYLOAD) throw fail("bad-record", `Record length ${len} exceeds ${MAX_RECORD_PAYLOAD}`, at);
        if (this.#records === 0) this.#recordVersion = this.#hdrVersion;
        this.#records++;
        this.#recLeft = len;
        this.#hdrPos = 0;
        this.#checkRecordFits(at);
        return;
      }
    }
    this.#hdrPos++;
  }

  #handshakeHeaderByte(c: number, at: number): void {
    if (this.#hsHdrPos === 0) {
      if (c !== HANDSHAKE_CLIENT_HELLO) throw fail("not-client-hello", `Handshake message type "${c}" is not ClientHello`, at);
    } else {
      this.#hsLen = (this.#hsLen << 8) | c;
      // The smallest length the remaining bytes can give already exceeds the limit: fail now.
      const least = this.#hsLen * 256 ** (3 - this.#hsHdrPos);
      if (least > this.#maxHandshake) {
        throw fail("too-large", `ClientHello exceeds ${this.#maxHandshake} bytes`, at);
      }
    }
    this.#hsHdrPos++;
    if (this.#hsHdrPos === 4) {
      this.#body = new Uint8Array(this.#hsLen);
      this.#parser = new ClientHelloBodyParser(this.#body);
      this.#checkRecordFits(at);
    }
  }

  /** A record may not carry bytes past the end of the ClientHello. */
  #checkRecordFits(at: number): void {
    if (this.#hsHdrPos < 4) return;
    const hsLeft = this.#hsLen - this.#bodyFill;
    if (this.#recLeft > hsLeft) {
      throw fail("bad-record", `Record carries ${this.#recLeft - hsLeft} bytes after the ClientHello`, at);
    }
  }

  /** `lastByte`: stream offset of the last byte received, reported by body errors. */
  #advanceBody(lastByte: number): boolean {
    const parser = this.#parser;
    if (parser === undefined) return false;
    return parser.advance(this.#bodyFill, lastByte);
  }

  #finish(): ClientHello {
    const parser = this.#parser;
    if (parser === undefined) throw new RangeError("ClientHello finished without a parser");
    this.#hello = { recordVersion: this.#recordVersion, recordCount: this.#records, ...parser.result() };
    this.#parser = undefined;
    this.#body = new Uint8Array(0);
    return this.#hello;
  }

  #append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const need = this.#rawLen + bytes.length;
    if (need > this.#raw.length) {
      const grown = new Uint8Array(Math.max(need, this.#raw.length * 2, 512));
      grown.set(this.#raw.subarray(0, this.#rawLen), 0);
      this.#raw = grown;
    }
    this.#raw.set(bytes, this.#rawLen);
    this.#rawLen = need;
  }
}

function fail(reason: ClientHelloErrorReason, message: string, at: number): ClientHelloError {
  return new ClientHelloError(reason, message, at);
}

function hex2(c: number): string {
  return c.toString(16).padStart(2, "0");
}
