/** Chunked transfer coding (RFC 9112 §7.1): incremental sans-IO decoder and encoders. */
import { decodeLatin1, encodeLatin1 } from "../core/bytes.ts";
import { HttpParseError } from "./http-errors.ts";
import { parseFieldLine, quote } from "./http-head.ts";
import { HeaderList, type HeaderEntry } from "./http-headers.ts";
import { formatFieldLines } from "./http-serialize.ts";

/** Limits for {@link ChunkedDecoder}. */
export interface ChunkedDecoderOptions {
  /** Longest chunk-size line, extensions included, CRLF excluded (default 4096). */
  readonly maxLineBytes?: number;
  /** Largest trailer section in bytes, CRLFs included (default 16384). */
  readonly maxTrailerBytes?: number;
  /** Most trailer field lines (default 100). */
  readonly maxTrailers?: number;
}

/** What one {@link ChunkedDecoder.push} call produced. */
export interface ChunkedPushResult {
  /** Bytes of the input that belong to this message; after `done`, the rest belong to the next one. */
  readonly consumed: number;
  /** Decoded payload: non-empty views into the input (not copies). */
  readonly data: Uint8Array[];
  /** True once the last chunk and the trailer section have been read. */
  readonly done: boolean;
  /**
   * Where in the input the trailer section begins (right after the last chunk's size line),
   * when it began in this push.
   */
  readonly trailerAt?: number;
}

const CR = 0x0d;
const LF = 0x0a;
const SIZE = 0;
const DATA = 1;
const DATA_CR = 2;
const DATA_LF = 3;
const TRAILER = 4;
const DONE = 5;

/**
 * `*( ";" name [ "=" ( token / quoted-string ) ] )`: RFC 9112 §7.1.1 without its BWS. Size
 * lines are passed on as they came (body-relay.ts), and a sender must not generate BWS
 * (RFC 9110 §5.6.3): strict parsers such as llhttp refuse "5 ;a", and a next hop that took it
 * some other way would split the body elsewhere.
 */
const EXTENSIONS = /^(?:;[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:=(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"))?)*$/;

/**
 * Incremental decoder for a chunked body. Gives the same result for any split of the input.
 * Chunk extensions are validated and ignored; trailers are parsed into {@link trailers}.
 *
 * @example
 * ```ts
 * const d = new ChunkedDecoder();
 * const r = d.push(new TextEncoder().encode("3\r\nabc\r\n0\r\n\r\nGET /next"));
 * // r.data: ["abc"], r.done: true, r.consumed: 15 (the rest is the next message)
 * ```
 */
export class ChunkedDecoder {
  readonly #maxLine: number;
  readonly #maxTrailerBytes: number;
  readonly #maxTrailers: number;
  #state = SIZE;
  #remaining = 0;
  #line = new Uint8Array(64);
  #lineLen = 0;
  #cr = false;
  #trailerBytes = 0;
  #trailers: HeaderEntry[] = [];
  #bodyBytes = 0;

  constructor(options: ChunkedDecoderOptions = {}) {
    this.#maxLine = options.maxLineBytes ?? 4096;
    this.#maxTrailerBytes = options.maxTrailerBytes ?? 16384;
    this.#maxTrailers = options.maxTrailers ?? 100;
  }

  /** True once the whole chunked body has been read. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /** Decoded payload bytes so far. */
  get bodyBytes(): number {
    return this.#bodyBytes;
  }

  /** Trailer fields (complete once `done`). */
  get trailers(): HeaderList {
    return new HeaderList(this.#trailers);
  }

  /**
   * Decode more bytes. After `done`, returns `{ consumed: 0, data: [], done: true }`.
   *
   * @throws {HttpParseError} 400 on malformed framing or exceeded limits; discard the decoder.
   */
  push(chunk: Uint8Array): ChunkedPushResult {
    const data: Uint8Array[] = [];
    const n = chunk.length;
    let i = 0;
    let trailerAt: number | undefined;
    while (i < n && this.#state !== DONE) {
      switch (this.#state) {
        case DATA: {
          const take = Math.min(this.#remaining, n - i);
          data.push(chunk.subarray(i, i + take));
          i += take;
          this.#remaining -= take;
          this.#bodyBytes += take;
          if (this.#remaining === 0) this.#state = DATA_CR;
          break;
        }
        case DATA_CR:
        case DATA_LF:
          if (chunk[i] !== (this.#state === DATA_CR ? CR : LF)) {
            throw new HttpParseError(400, "Missing CRLF after chunk data");
          }
          i++;
          this.#state = this.#state === DATA_CR ? DATA_LF : SIZE;
          break;
        default: {
          const before = this.#state;
          i = this.#readLine(chunk, i);
          if (before === SIZE && this.#state === TRAILER) trailerAt = i;
        }
      }
    }
    const done = this.#state === DONE;
    return trailerAt === undefined ? { consumed: i, data, done } : { consumed: i, data, done, trailerAt };
  }

  /** Read line bytes from `chunk[i..]`; returns the index after what was used. */
  #readLine(chunk: Uint8Array, start: number): number {
    const trailer = this.#state === TRAILER;
    const what = trailer ? "trailer section" : "chunk size line";
    const n = chunk.length;
    for (let i = start; i < n; i++) {
      const c = chunk[i] ?? 0;
      if (trailer && ++this.#trailerBytes > this.#maxTrailerBytes) {
        throw new HttpParseError(400, `Trailer section exceeds ${this.#maxTrailerBytes} bytes`);
      }
      if (this.#cr) {
        if (c !== LF) throw new HttpParseError(400, `Bare CR in ${what}`);
        this.#cr = false;
        this.#endLine();
        return i + 1;
      }
      if (c === CR) {
        this.#cr = true;
      } else if (c === LF) {
        throw new HttpParseError(400, `Bare LF in ${what}`);
      } else if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
        throw new HttpParseError(400, `Control character 0x${c.toString(16).padStart(2, "0")} in ${what}`);
      } else {
        if (!trailer && this.#lineLen >= this.#maxLine) {
          throw new HttpParseError(400, `Chunk size line exceeds ${this.#maxLine} bytes`);
        }
        if (this.#lineLen === this.#line.length) {
          const grown = new Uint8Array(this.#line.length * 2);
          grown.set(this.#line);
          this.#line = grown;
        }
        this.#line[this.#lineLen++] = c;
      }
    }
    return n;
  }

  #endLine(): void {
    const line = decodeLatin1(this.#line.subarray(0, this.#lineLen));
    this.#lineLen = 0;
    if (this.#state === SIZE) {
      const size = parseChunkSize(line);
      if (size === 0) this.#state = TRAILER;
      else {
        this.#remaining = size;
        this.#state = DATA;
      }
      return;
    }
    if (line === "") {
      this.#state = DONE;
      return;
    }
    if (this.#trailers.length >= this.#maxTrailers) {
      throw new HttpParseError(400, `Too many trailer fields (limit ${this.#maxTrailers})`);
    }
    this.#trailers.push(parseFieldLine(line, 400));
  }
}

function parseChunkSize(line: string): number {
  let size = 0;
  let i = 0;
  for (; i < line.length; i++) {
    const d = hexValue(line.charCodeAt(i));
    if (d === -1) break;
    size = size * 16 + d;
    if (size > Number.MAX_SAFE_INTEGER) throw new HttpParseError(400, `Chunk size ${quote(line.slice(0, i + 1))} is too large`);
  }
  if (i === 0) throw new HttpParseError(400, `Invalid chunk size line ${quote(line)}`);
  if (!EXTENSIONS.test(line.slice(i))) throw new HttpParseError(400, `Invalid chunk extension in ${quote(line)}`);
  return size;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Encode one non-empty chunk: `hex-size CRLF data CRLF` (a copy).
 *
 * @throws {RangeError} for empty data (use {@link encodeLastChunk}).
 */
export function encodeChunk(data: Uint8Array): Uint8Array {
  if (data.length === 0) throw new RangeError("Cannot encode an empty chunk: use encodeLastChunk");
  const prefix = encodeLatin1(`${data.length.toString(16)}\r\n`);
  const out = new Uint8Array(prefix.length + data.length + 2);
  out.set(prefix, 0);
  out.set(data, prefix.length);
  out[out.length - 2] = CR;
  out[out.length - 1] = LF;
  return out;
}

/**
 * Encode the last chunk and trailer section: `0 CRLF *(field-line CRLF) CRLF`.
 *
 * @throws {TypeError} for an invalid trailer field name or value.
 */
export function encodeLastChunk(trailers: Iterable<readonly [string, string]> = []): Uint8Array {
  return encodeLatin1(`0\r\n${formatFieldLines(trailers)}\r\n`);
}

/**
 * Encode a trailer section: `*(field-line CRLF) CRLF` (what follows the last chunk's size line).
 *
 * @throws {TypeError} for an invalid trailer field name or value.
 */
export function encodeTrailerSection(trailers: Iterable<readonly [string, string]>): Uint8Array {
  return encodeLatin1(`${formatFieldLines(trailers)}\r\n`);
}
