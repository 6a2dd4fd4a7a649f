/**
 * Checks on a certificate's serial as encoded, not as a library reports it: `@peculiar/x509`
 * returns the magnitude without the 0x00 pad, so its hex may start at 0x80 or above while the
 * DER INTEGER is positive. (Reading that hex as the encoding made two tests fail 1 run in 256.)
 */
import assert from "node:assert/strict";
import { readChildren, readTlv } from "../../../src/pki/_der.ts";
import { decodePem } from "../../../src/pki/pem.ts";

/** The content octets of `tbsCertificate.serialNumber`. */
export function serialOctets(certPem: string): Uint8Array<ArrayBuffer> {
  const [block] = decodePem(certPem);
  assert.ok(block !== undefined, "a PEM block");
  const der = block.der;
  const tbs = readChildren(der, readTlv(der, 0))[0];
  assert.ok(tbs !== undefined, "a tbsCertificate");
  const fields = readChildren(der, tbs);
  const serial = fields[0]?.tag === 0xa0 ? fields[1] : fields[0];
  assert.ok(serial !== undefined && serial.tag === 0x02, "serialNumber is an INTEGER");
  return der.slice(serial.valueStart, serial.end);
}

/** RFC 5280 §4.1.2.2: positive, at most 20 octets, and (DER) minimally encoded. */
export function assertValidSerial(certPem: string): Uint8Array<ArrayBuffer> {
  const octets = serialOctets(certPem);
  assert.ok(octets.length >= 1 && octets.length <= 20, `serial of ${octets.length} octets`);
  const [first = 0, second = 0] = octets;
  assert.ok(first < 0x80, "serial is positive");
  assert.ok(!(first === 0 && octets.length > 1 && second < 0x80), "serial has no needless leading zero");
  assert.ok(octets.some((b) => b !== 0), "serial is not zero");
  return octets;
}

/**
 * Runs `fn` while `crypto.getRandomValues` fills 16-byte arrays (serials) from `bytes`, so a test
 * can force the rare serial that starts with a zero byte.
 */
export async function withSerialBytes<T>(bytes: readonly number[], fn: () => Promise<T>): Promise<T> {
  const original = crypto.getRandomValues;
  const stub = (array: ArrayBufferView): ArrayBufferView => {
    if (array instanceof Uint8Array && array.length === 16) array.set(bytes.slice(0, 16));
    else original.call(crypto, array as Uint8Array<ArrayBuffer>);
    return array;
  };
  crypto.getRandomValues = stub as unknown as typeof crypto.getRandomValues;
  try {
    return await fn();
  } finally {
    crypto.getRandomValues = original;
  }
}
