/**
 * Sans-IO SOCKS version 4 and its 4a extension (the de facto specs "SOCKS: A protocol for
 * TCP proxy across firewalls" and "SOCKS 4A"): the one request a client sends and the reply
 * a server writes. A request is VN (4), CD, DSTPORT, DSTIP, USERID, NUL; with 4a, a DSTIP of
 * 0.0.0.x (x ≠ 0) says the destination's name follows, NUL-terminated. Both strings are
 * bounded (255 bytes each), so a request is at most 520 bytes; the parser returns
 * `undefined` while it is incomplete and throws a {@link SocksError} at the first byte that
 * proves it malformed. Feed it with `SocksMessageReader`.
 * @module
 */
import { formatIPv4 } from "../core/ip.ts";
import { type Parsed, SocksError } from "./socks5.ts";

/** SOCKS4 commands: CONNECT and BIND. */
export const Socks4Command = { connect: 0x01, bind: 0x02 } as const;

/** Reply codes: 90 granted, 91 rejected or failed (92 and 93 are about identd, not used here). */
export const Socks4Reply = { granted: 90, rejected: 91 } as const;

/** Longest USERID and destination name read (bytes, without the NUL). */
export const SOCKS4_MAX_STRING = 255;

/** A SOCKS4(a) request. */
export interface Socks4Request {
  readonly command: number;
  readonly port: number;
  /** "ipv4": `host` is DSTIP in text; "domain" (4a): the name as sent. */
  readonly addressType: "ipv4" | "domain";
  readonly host: string;
  /**
   * The USERID field (an identity the client claims, not a credential; nothing uses it).
   * Bytes that are not UTF-8 read as U+FFFD: Java clients send the local user's name in
   * ISO-8859-1, and a request is not refused for a field that is ignored.
   */
  readonly userId: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const lenientUtf8 = new TextDecoder("utf-8");

/** The NUL-terminated string at `from`: its end (the NUL's index), or undefined while incomplete. */
function nulTerminated(b: Uint8Array, from: number, what: string): number | undefined {
  const limit = Math.min(b.length, from + SOCKS4_MAX_STRING + 1);
  for (let i = from; i < limit; i++) if (b[i] === 0) return i;
  if (b.length > from + SOCKS4_MAX_STRING) throw new SocksError(`SOCKS4 ${what} longer than ${SOCKS4_MAX_STRING} bytes`);
  return undefined;
}

function text(b: Uint8Array, what: string): string {
  try {
    return utf8.decode(b);
  } catch {
    throw new SocksError(`SOCKS4 ${what} is not UTF-8`);
  }
}

/**
 * A SOCKS4 or 4a request. Any command parses (the server refuses those it does not do).
 *
 * @example
 * ```ts
 * parseSocks4Request(Uint8Array.of(4, 1, 1, 187, 0, 0, 0, 1, 0, 0x61, 0x2e, 0x62, 0));
 * // { value: { command: 1, port: 443, addressType: "domain", host: "a.b", userId: "" }, length: 13 }
 * ```
 */
export function parseSocks4Request(b: Uint8Array): Parsed<Socks4Request> {
  if (b.length < 1) return undefined;
  if (b[0] !== 0x04) throw new SocksError(`SOCKS4 request version ${b[0]}, expected 4`);
  if (b.length < 8) return undefined;
  const command = b[1]!;
  const port = (b[2]! << 8) | b[3]!;
  const ip = b.subarray(4, 8);
  const userEnd = nulTerminated(b, 8, "USERID");
  if (userEnd === undefined) return undefined;
  const userId = lenientUtf8.decode(b.subarray(8, userEnd));
  // 4a: 0.0.0.x with x ≠ 0 is no address, it says a name follows
  const named = ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] !== 0;
  if (!named) return { value: { command, port, addressType: "ipv4", host: formatIPv4(ip), userId }, length: userEnd + 1 };
  const nameEnd = nulTerminated(b, userEnd + 1, "destination name");
  if (nameEnd === undefined) return undefined;
  if (nameEnd === userEnd + 1) throw new SocksError("SOCKS4a request with an empty destination name");
  const host = text(b.subarray(userEnd + 1, nameEnd), "destination name");
  return { value: { command, port, addressType: "domain", host, userId }, length: nameEnd + 1 };
}

/** The 8-byte reply: VN 0, the code, then DSTPORT and DSTIP, which a CONNECT's client ignores. */
export function socks4Reply(code: (typeof Socks4Reply)[keyof typeof Socks4Reply]): Uint8Array {
  return Uint8Array.of(0, code, 0, 0, 0, 0, 0, 0);
}
