/**
 * Why a byte stream was refused as the start of a TLS connection.
 *
 * - `not-tls`: the first byte is not a TLS handshake record (0x16), e.g. plain HTTP.
 * - `bad-record`: a record header is malformed (version, zero or oversized length, content
 *   type other than handshake before the ClientHello is complete, trailing data in the record).
 * - `not-client-hello`: the first handshake message is not a ClientHello (type 1).
 * - `too-large`: the ClientHello exceeds the configured maximum.
 * - `too-many-records`: the ClientHello is spread over more records than allowed.
 * - `bad-length`: a length inside the ClientHello is inconsistent or too small.
 * - `bad-version`: `legacy_version` or a supported_versions entry is not 3.x.
 * - `bad-session-id`, `bad-cipher-suites`, `bad-compression`: malformed fixed fields.
 * - `truncated-extension`: an extension's length overruns the extensions block.
 * - `duplicate-extension`: an extension type occurs twice (RFC 8446 §4.2).
 * - `psk-not-last`: pre_shared_key is not the last extension (RFC 8446 §4.2.11).
 * - `bad-extension`: a known extension's body is malformed (ALPN, versions, groups, …).
 * - `bad-sni`: server_name is malformed or the host name is not a valid ASCII DNS name.
 * - `truncated`: the connection ended before a complete ClientHello (never thrown by the
 *   reader, which just waits; for callers that see the end of the stream).
 */
export type ClientHelloErrorReason =
  | "not-tls"
  | "bad-record"
  | "not-client-hello"
  | "too-large"
  | "too-many-records"
  | "bad-length"
  | "bad-version"
  | "bad-session-id"
  | "bad-cipher-suites"
  | "bad-compression"
  | "truncated-extension"
  | "duplicate-extension"
  | "psk-not-last"
  | "bad-extension"
  | "bad-sni"
  | "truncated";

/**
 * A malformed or refused TLS ClientHello. `reason` is a stable code for logs and metrics;
 * `offset` is the index in the pushed byte stream where the problem was found.
 *
 * @example
 * ```ts
 * try { reader.push(bytes); } catch (e) {
 *   if (e instanceof ClientHelloError && e.reason === "not-tls") { ... } // plain HTTP?
 * }
 * ```
 */
export class ClientHelloError extends SyntaxError {
  /** A stable code naming the kind of problem. */
  readonly reason: ClientHelloErrorReason;
  /** Index in the pushed stream of the byte that proved the problem; -1 when not from the reader. */
  readonly offset: number;

  constructor(reason: ClientHelloErrorReason, message: string, offset = -1, options?: ErrorOptions) {
    super(message, options);
    this.name = "ClientHelloError";
    this.reason = reason;
    this.offset = offset;
  }
}
