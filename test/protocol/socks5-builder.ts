/** Builds SOCKS5 client messages for tests, and generates them (fast-check) with what they parse to. */
import fc from "fast-check";
import { formatIp } from "../../src/core/ip.ts";

/** Concatenates bytes, numbers (one byte each) and strings (UTF-8). */
export function bytes(...parts: (number | string | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") out.push(...new TextEncoder().encode(p));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}

/** A request for `host:port` by name (address type 3); `command` 1 is CONNECT. */
export function socksRequest(host: string, port: number, command = 1): Uint8Array {
  const name = new TextEncoder().encode(host);
  return bytes(5, command, 0, 3, name.length, name, port >> 8, port & 0xff);
}

/** RFC 1929 credentials. */
export function socksCredentials(user: string, password: string): Uint8Array {
  const u = new TextEncoder().encode(user);
  const p = new TextEncoder().encode(password);
  return bytes(1, u.length, u, p.length, p);
}

/** Text of 1-40 graphemes that fits a SOCKS5 length byte once UTF-8 encoded. */
export const socksTextArb = fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" }).filter((s) => new TextEncoder().encode(s).length <= 255);

const portArb = fc.integer({ min: 0, max: 65535 });

/** Requests by name (commands 1-3), IPv4 and IPv6 address: the bytes, and what `parseRequest` returns for them. */
export const socksRequestArb = fc.oneof(
  fc.tuple(socksTextArb, portArb, fc.integer({ min: 1, max: 3 })).map(([host, p, cmd]) => ({ wire: socksRequest(host, p, cmd), value: { command: cmd, addressType: "domain", host, port: p } })),
  fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), portArb).map(([a, p]) => ({
    wire: bytes(5, 1, 0, 1, a, p >> 8, p & 0xff),
    value: { command: 1, addressType: "ipv4", host: formatIp(a), port: p },
  })),
  fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), portArb).map(([a, p]) => ({
    wire: bytes(5, 1, 0, 4, a, p >> 8, p & 0xff),
    value: { command: 1, addressType: "ipv6", host: formatIp(a), port: p },
  })),
);
