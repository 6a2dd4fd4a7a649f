import { HttpParseError } from "./http-errors.ts";
import { DEFAULT_MAX_HEAD_BYTES } from "./http-head.ts";

/** Options for {@link HeadReader}. */
export interface HeadReaderOptions {
  /** "request" (default): errors are 400/431 and leading empty lines are skipped. "response": errors are 502. */
  readonly kind?: "request" | "response";
  /** Largest head in bytes, start line to the final CRLF CRLF inclusive (default 65536). */
  readonly maxHeadBytes?: number;
  /** Most empty lines (CRLF) skipped before a request line (default 8, RFC 9112 §2.2). */
  readonly maxLeadingEmptyLines?: number;
}

/** A complete head and the bytes after it (a view of the last pushed chunk). */
export interface HeadReadResult {
  /**
   * The head bytes including the terminating CRLF CRLF; leading empty lines are not included.
   * A view of the last pushed chunk when the head came whole in it, else a new array.
   */
  readonly head: Uint8Array;
  /** Bytes after the head in the chunk that completed it: body or a pipelined message. */
  readonly rest: Uint8Array;
}

const CR = 0x0d;
const LF = 0x0a;
/** Shared by every reader holding nothing: a new typed array costs ~0.6 µs on Deno, even empty. */
const EMPTY = new Uint8Array(0);

/**
 * Incremental finder for the end of an HTTP/1.x head (CRLF CRLF). Sans-IO: push bytes as
 * they arrive; each byte is examined once, so feeding one byte at a time is linear.
 * Line endings are checked while scanning (a bare CR or LF fails at once), and the size
 * limit is enforced as soon as it is exceeded.
 *
 * After a head is returned the reader is reset and reads the next head; push `rest`
 * to it first when it is not the start of a body. After an error, discard the reader.
 *
 * @example
 * ```ts
 * const reader = new HeadReader();
 * const r = reader.push(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nNEXT"));
 * // r.head: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", r.rest: "NEXT"
 * ```
 */
export class HeadReader {
  readonly #max: number;
  readonly #maxLeading: number;
  readonly #request: boolean;
  readonly #status: number;
  readonly #what: string;
  #buf: Uint8Array = EMPTY;
  #len = 0;
  /** 0: in a line; 1: CR; 2: CRLF; 3: CRLF CR. */
  #state = 0;
  #leading: boolean;
  #leadingCr = false;
  #skipped = 0;

  constructor(options: HeadReaderOptions = {}) {
    this.#max = options.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES;
    this.#maxLeading = options.maxLeadingEmptyLines ?? 8;
    this.#request = (options.kind ?? "request") === "request";
    this.#status = this.#request ? 400 : 502;
    this.#what = this.#request ? "Request head" : "Response head";
    this.#leading = this.#request;
  }

  /** True once any byte of the next head (or a leading empty line) has been pushed. */
  get started(): boolean {
    return this.#len > 0 || this.#skipped > 0 || this.#leadingCr;
  }

  /** Bytes of the incomplete head held so far. */
  get buffered(): number {
    return this.#len;
  }

  /**
   * Add bytes. Returns the head and the remaining bytes once CRLF CRLF has been seen,
   * otherwise `undefined` (the bytes are kept).
   *
   * @throws {HttpParseError} 431 (request) / 502 (response) when the head exceeds
   * `maxHeadBytes`; 400 / 502 on a bare CR or LF or too many leading empty lines.
   */
  push(chunk: Uint8Array): HeadReadResult | undefined {
    const n = chunk.length;
    let i = 0;
    while (this.#leading && i < n) {
      const c = chunk[i] ?? 0;
      if (this.#leadingCr) {
        if (c !== LF) throw this.#error(`${this.#what} contains a bare CR`);
        this.#leadingCr = false;
        this.#skipped++;
        if (this.#skipped > this.#maxLeading) {
          throw this.#error(`More than ${this.#maxLeading} empty lines before the request line`);
        }
      } else if (c === CR) {
        this.#leadingCr = true;
      } else if (c === LF) {
        throw this.#error(`${this.#what} contains a bare LF`);
      } else {
        this.#leading = false;
        break;
      }
      i++;
    }
    const start = i;
    const stop = Math.min(n, start + (this.#max - this.#len));
    let s = this.#state;
    for (; i < stop; i++) {
      const c = chunk[i];
      if (c === CR) {
        if (s === 1 || s === 3) throw this.#error(`${this.#what} contains a bare CR`);
        s = s === 2 ? 3 : 1;
      } else if (c === LF) {
        if (s === 3) return this.#finish(chunk, start, i + 1);
        if (s !== 1) throw this.#error(`${this.#what} contains a bare LF`);
        s = 2;
      } else {
        if (s === 1 || s === 3) throw this.#error(`${this.#what} contains a bare CR`);
        // No control bytes belong in a head (HTAB aside): fail at once on NUL, or on a TLS
        // ClientHello (0x16…) sent to a plain-HTTP listener, instead of waiting for a line end.
        if (c !== undefined && ((c < 0x20 && c !== 0x09) || c === 0x7f)) {
          throw this.#error(`${this.#what} contains control byte 0x${c.toString(16).padStart(2, "0")}`);
        }
        s = 0;
      }
    }
    if (stop < n) {
      const status = this.#request ? 431 : 502;
      throw new HttpParseError(status, `${this.#what} exceeds ${this.#max} bytes`);
    }
    this.#state = s;
    this.#append(chunk.subarray(start, n));
    return undefined;
  }

  #finish(chunk: Uint8Array, start: number, end: number): HeadReadResult {
    const tail = chunk.subarray(start, end);
    let head = tail;
    if (this.#len > 0) {
      head = new Uint8Array(this.#len + tail.length);
      head.set(this.#buf.subarray(0, this.#len), 0);
      head.set(tail, this.#len);
    }
    this.#buf = EMPTY;
    this.#len = 0;
    this.#state = 0;
    this.#leading = this.#request;
    this.#leadingCr = false;
    this.#skipped = 0;
    return { head, rest: chunk.subarray(end) };
  }

  #append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const need = this.#len + bytes.length;
    if (need > this.#buf.length) {
      const grown = new Uint8Array(Math.min(Math.max(need, this.#buf.length * 2, 1024), Math.max(this.#max, need)));
      grown.set(this.#buf.subarray(0, this.#len), 0);
      this.#buf = grown;
    }
    this.#buf.set(bytes, this.#len);
    this.#len = need;
  }

  #error(message: string): HttpParseError {
    return new HttpParseError(this.#status, message);
  }
}
