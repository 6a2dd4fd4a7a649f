/**
 * Random certificate serial numbers: 128 bits from the CSPRNG with the first bit cleared, so the
 * DER INTEGER is positive without a padding byte (RFC 5280 §4.1.2.2: at most 20 octets).
 *
 * @module
 */

/** Length in bytes of generated serial numbers. */
export const SERIAL_BYTES = 16;

/**
 * 16 random bytes, first bit cleared, never all zero: the magnitude of a positive serial.
 *
 * @example
 * ```ts
 * const serial = randomSerial(); // Uint8Array(16), serial[0] < 0x80
 * ```
 */
export function randomSerial(): Uint8Array<ArrayBuffer> {
  const bytes = crypto.getRandomValues(new Uint8Array(SERIAL_BYTES));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  if (bytes.every((b) => b === 0)) bytes[SERIAL_BYTES - 1] = 1;
  return bytes;
}

/** {@linkcode randomSerial} as lowercase hex without leading zero bytes (for `@peculiar/x509`). */
export function randomSerialHex(): string {
  let hex = "";
  for (const b of randomSerial()) hex += b.toString(16).padStart(2, "0");
  return hex.replace(/^(00)+(?=..)/, "");
}
