/**
 * Where the length fields of a TLS ClientHello byte stream are (record lengths, handshake
 * length, vector lengths of the body and of the known extensions), so the fuzzer can push
 * exactly those to extremes. Written independently of the parser; stops quietly at anything
 * it does not understand (seeds are valid, so it rarely has to).
 *
 * @module
 */
import type { LengthField } from "./mutate.ts";

/** Length fields of a well-formed ClientHello stream, each as stream offsets (big-endian). */
export function helloLengthFields(stream: Uint8Array): LengthField[] {
  const fields: LengthField[] = [];
  const pos: number[] = []; // handshake-message index -> stream offset
  let i = 0;
  while (i + 5 <= stream.length && stream[i] === 0x16) {
    fields.push([i + 3, i + 4]);
    const len = ((stream[i + 3] ?? 0) << 8) | (stream[i + 4] ?? 0);
    for (let k = 0; k < len && i + 5 + k < stream.length; k++) pos.push(i + 5 + k);
    i += 5 + len;
  }
  const at = (idx: number, width: number): LengthField | undefined => {
    const offs = Array.from({ length: width }, (_, k) => pos[idx + k]);
    return offs.every((o) => o !== undefined) ? (offs as number[]) : undefined;
  };
  const msg = (idx: number): number => stream[pos[idx] ?? -1] ?? 0;
  const num = (idx: number, width: number): number => {
    let v = 0;
    for (let k = 0; k < width; k++) v = v * 256 + msg(idx + k);
    return v;
  };
  const add = (idx: number, width: number): number | undefined => {
    const f = at(idx, width);
    if (f === undefined) return undefined;
    fields.push(f);
    return num(idx, width);
  };
  if (add(1, 3) === undefined) return fields; // handshake length
  let p = 4 + 34; // type + length, legacy_version + random
  for (const width of [1, 2, 1]) { // session id, cipher suites, compression methods
    const n = add(p, width);
    if (n === undefined) return fields;
    p += width + n;
  }
  const extsLen = add(p, 2);
  if (extsLen === undefined) return fields;
  p += 2;
  const end = Math.min(p + extsLen, pos.length);
  while (p + 4 <= end) {
    const type = num(p, 2);
    const len = add(p + 2, 2) ?? 0;
    extensionFields(type, p + 4, Math.min(p + 4 + len, end), add);
    p += 4 + len;
  }
  return fields;
}

/** Inner vector lengths of the extensions whose layout is known. */
function extensionFields(
  type: number,
  start: number,
  end: number,
  add: (idx: number, width: number) => number | undefined,
): void {
  const simple: Record<number, number> = { 10: 2, 11: 1, 13: 2, 43: 1 }; // one vector: groups, point formats, sig algs, versions
  const outer = simple[type];
  if (outer !== undefined) {
    add(start, outer);
    return;
  }
  if (type !== 0 && type !== 16 && type !== 51) return;
  if (add(start, 2) === undefined) return;
  let p = start + 2;
  while (p < end) {
    if (type === 16) { // ALPN: vec8 names
      const n = add(p, 1);
      if (n === undefined) return;
      p += 1 + n;
    } else if (type === 0) { // SNI: name_type, vec16 name
      const n = add(p + 1, 2);
      if (n === undefined) return;
      p += 3 + n;
    } else { // key_share: group, vec16 key
      const n = add(p + 2, 2);
      if (n === undefined) return;
      p += 4 + n;
    }
  }
}
