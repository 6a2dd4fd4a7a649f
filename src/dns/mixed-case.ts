/**
 * DNS 0x20 (draft-vixie-dnsext-dns0x20): each query over UDP spells its name in a random
 * mix of upper and lower case, and servers echo the question as it was sent. A forged answer
 * must then also guess one bit per letter of the name, on top of the source port and the
 * query ID (RFC 5452). Names compare case-insensitively everywhere else (RFC 4343).
 *
 * @module
 */

/** `name` with each ASCII letter's case chosen at random (other characters unchanged). */
export function mixCase(name: string): string {
  const bits = crypto.getRandomValues(new Uint8Array(Math.ceil(name.length / 8)));
  let out = "";
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    const upper = ((bits[i >> 3]! >> (i & 7)) & 1) === 1;
    out += letter ? String.fromCharCode(upper ? c & ~0x20 : c | 0x20) : name[i];
  }
  return out;
}

/**
 * Whether the response `msg` repeats the question of the query `query` byte for byte: its
 * name as spelled (both messages carry the question's name uncompressed from byte 12; a
 * response whose question matched only case-insensitively was checked before).
 */
export function echoesSpelling(msg: Uint8Array, query: Uint8Array): boolean {
  let at = 12;
  while (at < query.length && query[at] !== 0) at += 1 + query[at]!;
  if (at >= msg.length) return false;
  for (let i = 12; i < at; i++) if (msg[i] !== query[i]) return false;
  return true;
}
