/**
 * An HTTP message that cannot be parsed or must be refused, with the status to answer.
 *
 * `status` is 400 (malformed request), 408 (a request body that stopped arriving),
 * 431 (request head or header count too large),
 * 501 (unknown transfer coding in a request), 505 (unsupported request version), or 502
 * for a bad upstream response.
 *
 * @example
 * ```ts
 * throw new HttpParseError(431, "Request head exceeds 65536 bytes");
 * ```
 */
export class HttpParseError extends Error {
  /** The HTTP status code a server or proxy should answer with. */
  readonly status: number;

  constructor(status: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HttpParseError";
    this.status = status;
  }
}
