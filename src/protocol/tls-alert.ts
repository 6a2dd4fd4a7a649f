/**
 * TLS alert records (RFC 8446 §6), for refusing a client before any handshake reply:
 * a fatal alert in a plaintext record is understood by every TLS version.
 */

/** Alert descriptions we send. */
export const TlsAlert = {
  handshakeFailure: 40,
  accessDenied: 49,
  internalError: 80,
  unrecognizedName: 112,
  noApplicationProtocol: 120,
} as const;

/**
 * A fatal alert record: content type 21, legacy version 3.3, length 2, level fatal (2).
 *
 * @example
 * ```ts
 * await writer.write(tlsAlertRecord(TlsAlert.accessDenied));
 * ```
 */
export function tlsAlertRecord(description: number): Uint8Array {
  if (!Number.isInteger(description) || description < 0 || description > 255) {
    throw new RangeError(`Alert description must be a byte, got ${description}`);
  }
  return Uint8Array.of(21, 3, 3, 0, 2, 2, description);
}
