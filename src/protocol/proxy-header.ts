/**
 * Incremental, sans-IO reader of the PROXY protocol header (HAProxy's, versions 1 and 2)
 * that a load balancer sends at the start of a connection to name the client it relays
 * for. Spec: https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt
 *
 * @module
 */
import type { Address } from "../core/conn.ts";
import { concatBytes, decodeLatin1 } from "../core/bytes.ts";
import { crc32c } from "../core/crc32c.ts";
import { formatIp, formatIPv4, isIPv4Mapped, parseIPv4, parseIPv6 } from "../core/ip.ts";

/** A v2 type-length-value field (e.g. 0x02 authority, 0x05 unique id, 0xE0–0xEF custom). */
export interface ProxyTlv {
  readonly type: number;
  readonly value: Uint8Array;
}

/** A parsed PROXY header. */
export interface ProxyHeader {
  readonly version: 1 | 2;
  /**
   * "proxy": relayed for `source`. "local": the sender's own connection (a health check),
   * or a relayed one whose addresses it did not give (v1 `UNKNOWN`, v2 `UNSPEC` or unix
   * sockets): the receiver uses the connection's real addresses.
   */
  readonly command: "proxy" | "local";
  /** The original client; only with command "proxy". IPv4-mapped IPv6 is given as IPv4. */
  readonly source?: Address;
  /** The address the client connected to; only with command "proxy". */
  readonly destination?: Address;
  /** v2 TLVs in order (the checksum TLV, if any, was verified). Empty for v1. */
  readonly tlvs: readonly ProxyTlv[];
  /** Bytes the header took on the wire. */
  readonly length: number;
}

/** A byte stream that does not start with a valid PROXY header (message says why). */
export class ProxyHeaderError extends Error {
  override readonly name = "ProxyHeaderError";
}

/** Longest v1 header, CRLF included (spec section 2.1). */
export const MAX_V1_BYTES = 107;
/** Default largest v2 header accepted (16-byte fixed part plus addresses and TLVs). */
export const DEFAULT_MAX_V2_BYTES = 4096;

const V1_PREFIX = [0x50, 0x52, 0x4f, 0x58, 0x59, 0x20]; // "PROXY "
const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const TLV_CRC32C = 0x03;
const PORT_RE = /^(0|[1-9]\d{0,4})$/;

/**
 * Feed the first bytes of a connection until a header is complete. `push` returns the
 * header once its last byte arrived (undefined before), and throws a
 * {@link ProxyHeaderError} at the first byte that proves the stream is not one: a first
 * byte other than "P" (v1) or CR (v2) fails at once. Buffering is bounded by the
 * header's limit plus the chunk being pushed. After the header, {@link rest} holds the
 * bytes that followed it (the client's own first bytes, often in the same segment).
 *
 * @example
 * ```ts
 * const reader = new ProxyHeaderReader();
 * let header;
 * while (!(header = reader.push(await nextChunk()))) {}
 * const client = header.source ?? conn.remote; // then hand reader.rest() to the flow
 * ```
 */
export class ProxyHeaderReader {
  readonly #maxV2: number;
  #buf: Uint8Array = new Uint8Array(0);
  #header: ProxyHeader | undefined;
  #error: ProxyHeaderError | undefined;

  constructor(options: { readonly maxV2Bytes?: number } = {}) {
    this.#maxV2 = options.maxV2Bytes ?? DEFAULT_MAX_V2_BYTES;
  }

  push(chunk: Uint8Array): ProxyHeader | undefined {
    if (this.#error) throw this.#error;
    if (this.#header) throw new Error("The PROXY header is complete; read rest()");
    this.#buf = this.#buf.byteLength === 0 ? chunk : concatBytes([this.#buf, chunk]);
    try {
      this.#header = this.#buf[0] === V2_SIGNATURE[0] ? parseV2(this.#buf, this.#maxV2) : parseV1(this.#buf);
    } catch (e) {
      this.#error = e instanceof ProxyHeaderError ? e : new ProxyHeaderError(String(e));
      throw this.#error;
    }
    return this.#header;
  }

  /** Bytes received after the header (empty before it is complete). */
  rest(): Uint8Array {
    return this.#header ? this.#buf.subarray(this.#header.length) : new Uint8Array(0);
  }
}

function fail(message: string): never {
  throw new ProxyHeaderError(message);
}

/** Checks `buf` against `expected` as far as it goes. */
function startsLike(buf: Uint8Array, expected: readonly number[], what: string): void {
  const n = Math.min(buf.byteLength, expected.length);
  for (let i = 0; i < n; i++) {
    if (buf[i] !== expected[i]) fail(`Expected a PROXY protocol header, got ${describe(buf.subarray(0, 16))} (${what})`);
  }
}

function describe(bytes: Uint8Array): string {
  return JSON.stringify(decodeLatin1(bytes));
}

function parseV1(buf: Uint8Array): ProxyHeader | undefined {
  startsLike(buf, V1_PREFIX, 'no "PROXY " line or v2 signature');
  // the CR may be at most at index 105: CR LF end the 107 bytes
  const limit = Math.min(buf.byteLength, MAX_V1_BYTES - 1);
  let end = -1;
  for (let i = V1_PREFIX.length; i < limit; i++) {
    const b = buf[i]!;
    if (b === 0x0d) {
      if (i + 1 >= buf.byteLength) return undefined;
      if (buf[i + 1] !== 0x0a) fail("PROXY v1 line: CR not followed by LF");
      end = i;
      break;
    }
    if (b === 0x0a) fail("PROXY v1 line ends with a bare LF (CRLF required)");
    if (b < 0x20 || b > 0x7e) fail(`PROXY v1 line has a non-printable byte 0x${b.toString(16).padStart(2, "0")}`);
  }
  if (end < 0) {
    if (buf.byteLength >= MAX_V1_BYTES) fail(`PROXY v1 line is longer than ${MAX_V1_BYTES} bytes`);
    return undefined;
  }
  const line = decodeLatin1(buf.subarray(0, end));
  const length = end + 2;
  const parts = line.split(" ");
  const family = parts[1];
  if (family === "UNKNOWN") return { version: 1, command: "local", tlvs: [], length };
  if (family !== "TCP4" && family !== "TCP6") fail(`PROXY v1 line: unknown protocol ${JSON.stringify(family ?? "")} (TCP4, TCP6 or UNKNOWN)`);
  if (parts.length !== 6) fail(`PROXY v1 line: expected "PROXY ${family} src dst sport dport", got ${JSON.stringify(line)}`);
  const parse = family === "TCP4" ? parseIPv4 : (t: string) => (t.includes(":") ? parseIPv6(t) : undefined);
  const address = (text: string, what: string): string => {
    const bytes = parse(text);
    if (!bytes) fail(`PROXY v1 line: ${what} address ${JSON.stringify(text)} is not ${family === "TCP4" ? "IPv4" : "IPv6"}`);
    return clientText(bytes);
  };
  const port = (text: string, what: string): number => {
    if (!PORT_RE.test(text) || Number(text) > 65535) fail(`PROXY v1 line: ${what} port ${JSON.stringify(text)} is not 0-65535`);
    return Number(text);
  };
  return {
    version: 1,
    command: "proxy",
    source: { address: address(parts[2]!, "source"), port: port(parts[4]!, "source") },
    destination: { address: address(parts[3]!, "destination"), port: port(parts[5]!, "destination") },
    tlvs: [],
    length,
  };
}

/** Address block sizes by v2 family (INET, INET6, UNIX). */
const V2_ADDRESS_BYTES: Readonly<Record<number, number>> = { 0: 0, 1: 12, 2: 36, 3: 216 };

function parseV2(buf: Uint8Array, maxBytes: number): ProxyHeader | undefined {
  startsLike(buf, V2_SIGNATURE, "bad v2 signature");
  if (buf.byteLength < 16) return undefined;
  const version = buf[12]! >> 4;
  const command = buf[12]! & 0x0f;
  if (version !== 2) fail(`PROXY v2 header: version ${version}, expected 2`);
  if (command > 1) fail(`PROXY v2 header: unknown command ${command} (0 LOCAL, 1 PROXY)`);
  const family = buf[13]! >> 4;
  const transport = buf[13]! & 0x0f;
  const addressBytes = V2_ADDRESS_BYTES[family];
  if (addressBytes === undefined || transport > 2) fail(`PROXY v2 header: unknown address family/protocol byte 0x${buf[13]!.toString(16).padStart(2, "0")}`);
  const bodyLength = (buf[14]! << 8) | buf[15]!;
  const length = 16 + bodyLength;
  if (length > maxBytes) fail(`PROXY v2 header of ${length} bytes is over the ${maxBytes}-byte limit`);
  // LOCAL (a balancer's own health check): the block is discarded, family and all (spec 2.2)
  const local = command === 0;
  if (bodyLength < addressBytes && !local) fail(`PROXY v2 header: ${bodyLength} bytes cannot hold the ${addressBytes}-byte address block`);
  if (buf.byteLength < length) return undefined;
  const header = buf.subarray(0, length);
  if (local && bodyLength < addressBytes) return { version: 2, command: "local", tlvs: [], length };
  const tlvs = parseTlvs(header, 16 + addressBytes);
  if (command === 0 || family === 0 || family === 3) return { version: 2, command: "local", tlvs, length };
  if (transport !== 1) fail(`PROXY v2 header: ${transport === 2 ? "datagram" : "unspecified"} transport on a stream connection`);
  const size = family === 1 ? 4 : 16;
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const portsAt = 16 + 2 * size;
  return {
    version: 2,
    command: "proxy",
    source: { address: clientText(header.subarray(16, 16 + size)), port: view.getUint16(portsAt) },
    destination: { address: clientText(header.subarray(16 + size, portsAt)), port: view.getUint16(portsAt + 2) },
    tlvs,
    length,
  };
}

function parseTlvs(header: Uint8Array, from: number): ProxyTlv[] {
  const tlvs: ProxyTlv[] = [];
  let off = from;
  while (off < header.byteLength) {
    if (off + 3 > header.byteLength) fail(`PROXY v2 header: truncated TLV at byte ${off}`);
    const type = header[off]!;
    const len = (header[off + 1]! << 8) | header[off + 2]!;
    if (off + 3 + len > header.byteLength) fail(`PROXY v2 header: TLV 0x${type.toString(16)} of ${len} bytes overruns the header`);
    // copies, not `slice()`: on a Node Buffer (what Bun's sockets deliver) that is a view
    const value = new Uint8Array(header.subarray(off + 3, off + 3 + len));
    if (type === TLV_CRC32C) checkCrc(header, off + 3, value);
    tlvs.push({ type, value });
    off += 3 + len;
  }
  return tlvs;
}

/** The checksum TLV: CRC-32C of the whole header with the checksum field zeroed. */
function checkCrc(header: Uint8Array, at: number, value: Uint8Array): void {
  if (value.byteLength !== 4) fail(`PROXY v2 header: checksum TLV of ${value.byteLength} bytes, expected 4`);
  const zeroed = new Uint8Array(header);
  zeroed.fill(0, at, at + 4);
  const expected = new DataView(value.buffer, value.byteOffset, 4).getUint32(0);
  if (crc32c(zeroed) !== expected) fail("PROXY v2 header: CRC-32C checksum does not match");
}

/** Canonical text, IPv4-mapped IPv6 as IPv4 (as the runtime adapters report peers). */
function clientText(bytes: Uint8Array): string {
  return isIPv4Mapped(bytes) ? formatIPv4(bytes) : formatIp(bytes);
}
