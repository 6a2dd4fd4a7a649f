import { isIp } from "../core/ip.ts";

/** A validated SNI host name. */
export interface SniHostName {
  /** Lowercase ASCII. */
  readonly name: string;
  /** An IP literal (dotted quad, IPv6, or a last label that is a number, like `127.1` or `a.0x7f`). */
  readonly isIp: boolean;
}

/** Longest DNS name in text form, without a trailing dot. */
export const MAX_SNI_HOST_NAME = 253;

/**
 * Validate the host_name of a server_name extension (RFC 6066 §3): ASCII, no trailing dot,
 * labels of 1–63 characters from `A-Z a-z 0-9 - _` (underscores occur in real names), at most
 * 253 characters; or an IP literal, which RFC 6066 forbids but clients send, returned with
 * `isIp: true` for the caller to judge. Anything else (non-ASCII, spaces, control bytes, empty
 * labels) is refused: a policy must never see a name that resolvers and servers read differently.
 *
 * @returns the lowercased name, or a message saying why it is refused.
 * @example
 * ```ts
 * parseSniHostName(new TextEncoder().encode("WWW.Example.com")); // { name: "www.example.com", isIp: false }
 * parseSniHostName(new TextEncoder().encode("example.com."));    // "SNI \"example.com.\" has a label of 0 characters"
 * ```
 */
export function parseSniHostName(bytes: Uint8Array): SniHostName | string {
  const len = bytes.length;
  if (len === 0 || len > MAX_SNI_HOST_NAME) return `SNI host name length ${len} is not 1–${MAX_SNI_HOST_NAME}`;
  let name = "";
  let ipv6Chars = true;
  let hasColon = false;
  for (const byte of bytes) {
    const c = byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
    const hexDigit = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
    if (c === 0x3a) hasColon = true;
    else if (!hexDigit && c !== 0x2e) ipv6Chars = false;
    name += String.fromCharCode(c);
  }
  if (hasColon) {
    if (!ipv6Chars || !isIp(name)) return `SNI "${printable(name)}" is not a host name`;
    return { name, isIp: true };
  }
  let labelStart = 0;
  for (let i = 0; i <= name.length; i++) {
    const c = i === name.length ? 0x2e : name.charCodeAt(i);
    if (c === 0x2e) {
      const label = i - labelStart;
      if (label === 0 || label > 63) return `SNI "${printable(name)}" has a label of ${label} characters`;
      labelStart = i + 1;
    } else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f)) {
      return `SNI "${printable(name)}" contains byte 0x${c.toString(16).padStart(2, "0")}`;
    }
  }
  return { name, isIp: isIp(name) || /(?:^|\.)(?:[0-9]+|0x[0-9a-f]*)$/.test(name) };
}

/** Non-printable characters escaped, for error messages. */
function printable(s: string): string {
  return s.replace(/[^\x21-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
