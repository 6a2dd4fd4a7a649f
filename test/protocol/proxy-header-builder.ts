/** Builds PROXY protocol headers for tests (what a load balancer sends first). */
import { concatBytes, encodeLatin1 } from "../../src/core/bytes.ts";
import { crc32c } from "../../src/core/crc32c.ts";
import { parseIp } from "../../src/core/ip.ts";

export const V2_SIGNATURE = new Uint8Array([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** A v1 line, e.g. `v1("TCP4", "192.0.2.7", "10.0.0.1", 5555, 443)`. */
export function v1(family: "TCP4" | "TCP6", src: string, dst: string, sport: number, dport: number): Uint8Array {
  return encodeLatin1(`PROXY ${family} ${src} ${dst} ${sport} ${dport}\r\n`);
}

export interface V2Spec {
  /** 0 LOCAL, 1 PROXY (default 1). */
  readonly command?: number;
  /** The family/transport byte; default from the addresses (0x11 TCP over IPv4, 0x21 over IPv6). */
  readonly familyByte?: number;
  readonly src?: string;
  readonly dst?: string;
  readonly sport?: number;
  readonly dport?: number;
  /** Raw address block instead of src/dst/ports. */
  readonly addressBlock?: Uint8Array;
  readonly tlvs?: readonly { readonly type: number; readonly value: Uint8Array }[];
  /** Append a CRC-32C TLV (correct unless `badCrc`). */
  readonly crc?: boolean;
  readonly badCrc?: boolean;
  /** Overrides the version nibble (default 2). */
  readonly version?: number;
}

/** A v2 header. */
export function v2(spec: V2Spec = {}): Uint8Array {
  const src = spec.src ?? "192.0.2.7";
  const dst = spec.dst ?? "198.51.100.1";
  const srcBytes = parseIp(src)!;
  const dstBytes = parseIp(dst)!;
  const ports = new Uint8Array(4);
  new DataView(ports.buffer).setUint16(0, spec.sport ?? 5555);
  new DataView(ports.buffer).setUint16(2, spec.dport ?? 443);
  const block = spec.addressBlock ?? concatBytes([srcBytes, dstBytes, ports]);
  const familyByte = spec.familyByte ?? (srcBytes.length === 4 ? 0x11 : 0x21);
  const tlvParts: Uint8Array[] = [];
  for (const t of spec.tlvs ?? []) tlvParts.push(tlv(t.type, t.value));
  let crcAt = -1;
  if (spec.crc) {
    crcAt = 16 + block.byteLength + tlvParts.reduce((n, p) => n + p.byteLength, 0) + 3;
    tlvParts.push(tlv(0x03, new Uint8Array(4)));
  }
  const body = concatBytes([block, ...tlvParts]);
  const head = new Uint8Array(16);
  head.set(V2_SIGNATURE);
  head[12] = ((spec.version ?? 2) << 4) | (spec.command ?? 1);
  head[13] = familyByte;
  new DataView(head.buffer).setUint16(14, body.byteLength);
  const out = concatBytes([head, body]);
  if (crcAt >= 0) new DataView(out.buffer, out.byteOffset).setUint32(crcAt, (crc32c(out) ^ (spec.badCrc ? 1 : 0)) >>> 0);
  return out;
}

function tlv(type: number, value: Uint8Array): Uint8Array {
  const h = new Uint8Array(3);
  h[0] = type;
  h[1] = value.byteLength >> 8;
  h[2] = value.byteLength & 0xff;
  return concatBytes([h, value]);
}
