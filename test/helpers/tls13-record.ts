/**
 * Building blocks of the TLS 1.3 test client (`tls13-client.ts`), WebCrypto only: byte
 * encoding and parsing, the RFC 8446 §7.1 key schedule for TLS_AES_128_GCM_SHA256 (HKDF-Extract
 * and HKDF-Expand-Label built from HMAC-SHA-256, since WebCrypto's HKDF cannot Extract alone),
 * AES-128-GCM record protection (§5.2), a bounded byte queue for socket reads and the DER form
 * of an ECDSA signature.
 *
 * @module
 */

export type Bytes = Uint8Array<ArrayBuffer>;

const encoder = new TextEncoder();
export const EMPTY: Bytes = new Uint8Array(0);
/** Largest TLSCiphertext.length allowed (RFC 8446 §5.2). */
export const MAX_RECORD = 16_384 + 256;

export function concat(...parts: readonly Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

export const u8 = (n: number): Bytes => Uint8Array.of(n & 0xff);
export const u16 = (n: number): Bytes => Uint8Array.of((n >>> 8) & 0xff, n & 0xff);
const u24 = (n: number): Bytes => Uint8Array.of((n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
export const vec8 = (body: Uint8Array): Bytes => concat(u8(body.byteLength), body);
export const vec16 = (body: Uint8Array): Bytes => concat(u16(body.byteLength), body);
export const vec24 = (body: Uint8Array): Bytes => concat(u24(body.byteLength), body);
export const ascii = (s: string): Bytes => encoder.encode(s);

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** A bounds-checked cursor over a received message; every overrun throws. */
export class Reader {
  #o = 0;
  readonly b: Uint8Array;
  constructor(b: Uint8Array) {
    this.b = b;
  }
  get done(): boolean {
    return this.#o === this.b.byteLength;
  }
  bytes(n: number): Bytes {
    if (this.#o + n > this.b.byteLength) throw new Error("TLS client: truncated message from the server");
    const out = this.b.slice(this.#o, this.#o + n);
    this.#o += n;
    return out;
  }
  u8(): number {
    return this.bytes(1)[0]!;
  }
  u16(): number {
    const b = this.bytes(2);
    return (b[0]! << 8) | b[1]!;
  }
  vec8(): Bytes {
    return this.bytes(this.u8());
  }
  vec16(): Bytes {
    return this.bytes(this.u16());
  }
}

export async function sha256(data: Uint8Array<ArrayBuffer>): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

export async function hmac(key: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>): Promise<Bytes> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

/** HKDF-Extract (RFC 5869 §2.2): HMAC with the salt as key. */
export const hkdfExtract = (salt: Bytes, ikm: Bytes): Promise<Bytes> => hmac(salt, ikm);

/** HKDF-Expand-Label (RFC 8446 §7.1) over HKDF-Expand (RFC 5869 §2.3). */
export async function hkdfExpandLabel(secret: Bytes, label: string, context: Uint8Array, length: number): Promise<Bytes> {
  const info = concat(u16(length), vec8(ascii(`tls13 ${label}`)), vec8(context));
  const blocks: Bytes[] = [];
  let prev: Bytes = EMPTY;
  for (let i = 1, got = 0; got < length; i++, got += prev.byteLength) {
    prev = await hmac(secret, concat(prev, info, u8(i)));
    blocks.push(prev);
  }
  return concat(...blocks).slice(0, length);
}

/** Derive-Secret(secret, label, messages) = HKDF-Expand-Label(secret, label, SHA-256(messages), 32). */
export async function deriveSecret(secret: Bytes, label: string, messages: Bytes): Promise<Bytes> {
  return hkdfExpandLabel(secret, label, await sha256(messages), 32);
}

/** finished_key for a traffic secret and the Finished verify_data over a transcript (§4.4.4). */
export async function finishedMac(trafficSecret: Bytes, transcript: Bytes): Promise<Bytes> {
  return hmac(await hkdfExpandLabel(trafficSecret, "finished", EMPTY, 32), await sha256(transcript));
}

/** One direction's AES-128-GCM record protection, with its own sequence number. */
export class TrafficKeys {
  #seq = 0;
  readonly secret: Bytes;
  readonly key: CryptoKey;
  readonly iv: Bytes;
  private constructor(secret: Bytes, key: CryptoKey, iv: Bytes) {
    this.secret = secret;
    this.key = key;
    this.iv = iv;
  }

  static async derive(secret: Bytes): Promise<TrafficKeys> {
    const raw = await hkdfExpandLabel(secret, "key", EMPTY, 16);
    const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    return new TrafficKeys(secret, key, await hkdfExpandLabel(secret, "iv", EMPTY, 12));
  }

  /** The keys after a KeyUpdate (§7.2). */
  async next(): Promise<TrafficKeys> {
    return TrafficKeys.derive(await hkdfExpandLabel(this.secret, "traffic upd", EMPTY, 32));
  }

  #nonce(): Bytes {
    const nonce = this.iv.slice();
    let seq = this.#seq++;
    for (let i = 11; i >= 4 && seq > 0; i--, seq = Math.floor(seq / 256)) nonce[i] = nonce[i]! ^ (seq % 256);
    return nonce;
  }

  /** A whole TLSCiphertext record carrying `content` of inner content type `type`. */
  async seal(type: number, content: Uint8Array): Promise<Bytes> {
    const inner = concat(content, u8(type));
    const header = concat(u8(23), u16(0x0303), u16(inner.byteLength + 16));
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv: this.#nonce(), additionalData: header }, this.key, inner);
    return concat(header, new Uint8Array(sealed));
  }

  /** Decrypts one record (throws when the tag does not verify) and strips the padding. */
  async open(header: Bytes, body: Bytes): Promise<{ type: number; content: Bytes }> {
    const plain = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: this.#nonce(), additionalData: header }, this.key, body));
    let end = plain.byteLength;
    while (end > 0 && plain[end - 1] === 0) end--;
    if (end === 0) throw new Error("TLS client: a server record has no content type");
    return { type: plain[end - 1]!, content: plain.slice(0, end - 1) };
  }
}

/** A socket's bytes as exact-length reads; `null` once the stream ended short. Bytes past `limit` end it. */
export class ByteQueue {
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = limit;
  }
  #chunks: Uint8Array[] = [];
  #size = 0;
  #total = 0;
  #ended = false;
  #wake: (() => void) | null = null;
  push(chunk: Uint8Array): void {
    this.#total += chunk.byteLength;
    if (this.#total > this.#limit) this.#ended = true;
    else (this.#chunks.push(chunk), this.#size += chunk.byteLength);
    this.#wake?.();
  }
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }
  async read(n: number): Promise<Bytes | null> {
    while (this.#size < n) {
      if (this.#ended) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = null;
    }
    const out = new Uint8Array(n);
    for (let o = 0; o < n;) {
      const c = this.#chunks[0]!;
      const take = Math.min(c.byteLength, n - o);
      out.set(c.subarray(0, take), o);
      o += take;
      if (take === c.byteLength) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(take);
    }
    this.#size -= n;
    return out;
  }
}

/** WebCrypto's ECDSA signature (raw r||s) as the DER `Ecdsa-Sig-Value` TLS carries. */
export function ecdsaRawToDer(raw: Uint8Array): Bytes {
  const integer = (v: Uint8Array): Bytes => {
    let i = 0;
    while (i < v.byteLength - 1 && v[i] === 0) i++;
    const digits = (v[i]! & 0x80) !== 0 ? concat(u8(0), v.subarray(i)) : v.slice(i);
    return concat(u8(0x02), u8(digits.byteLength), digits);
  };
  const half = raw.byteLength / 2;
  const body = concat(integer(raw.subarray(0, half)), integer(raw.subarray(half)));
  return concat(u8(0x30), u8(body.byteLength), body);
}
