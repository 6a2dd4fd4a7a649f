/**
 * Sans-IO SOCKS version 5 (RFC 1928) with username/password authentication (RFC 1929): the
 * three messages a client sends (method greeting, credentials, request) and the answers a
 * server writes, each side's parsers and encoders. Each message has a bounded size by construction (at most 513 bytes);
 * parsers take the bytes received so far and return `undefined` while the message is
 * incomplete, and throw a {@link SocksError} at the first byte that proves it malformed.
 * {@link SocksMessageReader} feeds them chunk by chunk and keeps what follows a message.
 * @module
 */
import { concatBytes } from "../core/bytes.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../core/ip.ts";

/** Reply codes (RFC 1928 §6). */
export const SocksReply = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowed: 0x02,
  networkUnreachable: 0x03,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  ttlExpired: 0x06,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;
export type SocksReplyCode = (typeof SocksReply)[keyof typeof SocksReply];

/** Authentication methods (RFC 1928 §3). */
export const SocksMethod = { noAuth: 0x00, gssapi: 0x01, userPass: 0x02, noAcceptable: 0xff } as const;

/** Commands (RFC 1928 §4). */
export const SocksCommand = { connect: 0x01, bind: 0x02, udpAssociate: 0x03 } as const;

/** A byte stream that is not the SOCKS5 message expected; `reply` is the code to answer with, when one can be. */
export class SocksError extends Error {
  override readonly name = "SocksError";
  readonly reply: SocksReplyCode;
  constructor(message: string, reply: SocksReplyCode = SocksReply.generalFailure) {
    super(message);
    this.reply = reply;
  }
}

/** A message parsed from the start of a buffer, and how many bytes it took. */
export type Parsed<T> = { readonly value: T; readonly length: number } | undefined;

/** The client's first message: the authentication methods it can do. */
export interface SocksGreeting {
  readonly methods: readonly number[];
}

/** RFC 1929 credentials. */
export interface SocksCredentials {
  readonly user: string;
  readonly password: string;
}

/** A request: what to do (`command`) with which destination. */
export interface SocksRequest {
  readonly command: number;
  /** "domain": `host` is the name as sent; "ipv4"/"ipv6": `host` is the address in text. */
  readonly addressType: "ipv4" | "domain" | "ipv6";
  readonly host: string;
  readonly port: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** What the first byte of something that is not SOCKS5 most likely is, for the error. */
function notSocks5(first: number): SocksError {
  if (first === 0x04) return new SocksError("SOCKS version 4 is not supported; use SOCKS5");
  if (first === 0x16) return new SocksError("TLS on a SOCKS5 listener (expected SOCKS version 5)");
  if (first >= 0x41 && first <= 0x5a) return new SocksError("HTTP on a SOCKS5 listener (expected SOCKS version 5); use the explicit HTTP listener for an HTTP proxy");
  return new SocksError(`Not SOCKS5: the first byte is 0x${first.toString(16).padStart(2, "0")}, expected 0x05`);
}

/**
 * The method greeting: VER (5), NMETHODS (≥ 1), METHODS.
 *
 * @example
 * ```ts
 * parseGreeting(Uint8Array.of(5, 2, 0, 2)); // { value: { methods: [0, 2] }, length: 4 }
 * parseGreeting(Uint8Array.of(5, 2, 0)); // undefined: one method still to come
 * ```
 */
export function parseGreeting(b: Uint8Array): Parsed<SocksGreeting> {
  if (b.length < 1) return undefined;
  if (b[0] !== 0x05) throw notSocks5(b[0]!);
  if (b.length < 2) return undefined;
  const n = b[1]!;
  if (n === 0) throw new SocksError("The greeting offers no authentication method");
  if (b.length < 2 + n) return undefined;
  return { value: { methods: Array.from(b.subarray(2, 2 + n)) }, length: 2 + n };
}

/**
 * Username/password (RFC 1929): VER (1), ULEN (≥ 1), UNAME, PLEN, PASSWD; both in UTF-8.
 *
 * @example
 * ```ts
 * parseCredentials(Uint8Array.of(1, 1, 0x61, 1, 0x62)); // { value: { user: "a", password: "b" }, length: 5 }
 * ```
 */
export function parseCredentials(b: Uint8Array): Parsed<SocksCredentials> {
  if (b.length < 1) return undefined;
  if (b[0] !== 0x01) throw new SocksError(`Username/password sub-negotiation version ${b[0]}, expected 1`);
  if (b.length < 2) return undefined;
  const ulen = b[1]!;
  if (ulen === 0) throw new SocksError("Empty user name");
  if (b.length < 3 + ulen) return undefined;
  const plen = b[2 + ulen]!;
  const end = 3 + ulen + plen;
  if (b.length < end) return undefined;
  let user: string;
  let password: string;
  try {
    user = utf8.decode(b.subarray(2, 2 + ulen));
    password = utf8.decode(b.subarray(3 + ulen, end));
  } catch {
    throw new SocksError("User name or password is not UTF-8");
  }
  return { value: { user, password }, length: end };
}

/**
 * A request: VER (5), CMD, RSV (0), ATYP, DST.ADDR, DST.PORT. Any command parses (the
 * server answers those it does not do); an unknown address type throws with reply 0x08.
 *
 * @example
 * ```ts
 * parseRequest(Uint8Array.of(5, 1, 0, 3, 3, 0x61, 0x2e, 0x62, 1, 187));
 * // { value: { command: 1, addressType: "domain", host: "a.b", port: 443 }, length: 10 }
 * ```
 */
export function parseRequest(b: Uint8Array): Parsed<SocksRequest> {
  const m = parseAddressed(b, "Request");
  return m && { value: { command: m.value.code, addressType: m.value.addressType, host: m.value.host, port: m.value.port }, length: m.length };
}

/** A server's reply: the code (0 = succeeded) and the bound address it names. */
export interface SocksServerReply {
  readonly reply: number;
  readonly addressType: SocksRequest["addressType"];
  readonly host: string;
  readonly port: number;
}

/**
 * A reply, as a client reads it: VER (5), REP, RSV (0), ATYP, BND.ADDR, BND.PORT.
 *
 * @example
 * ```ts
 * parseReply(Uint8Array.of(5, 2, 0, 1, 0, 0, 0, 0, 0, 0)); // { value: { reply: 2, addressType: "ipv4", host: "0.0.0.0", port: 0 }, length: 10 }
 * ```
 */
export function parseReply(b: Uint8Array): Parsed<SocksServerReply> {
  const m = parseAddressed(b, "Reply");
  return m && { value: { reply: m.value.code, addressType: m.value.addressType, host: m.value.host, port: m.value.port }, length: m.length };
}

/** The shape requests and replies share: VER (5), a code, RSV (0), an address and a port. */
function parseAddressed(b: Uint8Array, what: string): Parsed<{ code: number; addressType: SocksRequest["addressType"]; host: string; port: number }> {
  if (b.length < 1) return undefined;
  if (b[0] !== 0x05) throw new SocksError(`${what} version ${b[0]}, expected 5`);
  if (b.length < 4) return undefined;
  if (b[2] !== 0x00) throw new SocksError(`Reserved ${what.toLowerCase()} byte is ${b[2]}, expected 0`);
  const code = b[1]!;
  const atyp = b[3]!;
  let addressType: SocksRequest["addressType"];
  let addrEnd: number;
  if (atyp === 0x01) {
    addressType = "ipv4";
    addrEnd = 8;
  } else if (atyp === 0x04) {
    addressType = "ipv6";
    addrEnd = 20;
  } else if (atyp === 0x03) {
    addressType = "domain";
    if (b.length < 5) return undefined;
    if (b[4] === 0) throw new SocksError("Empty destination name", SocksReply.hostUnreachable);
    addrEnd = 5 + b[4]!;
  } else {
    throw new SocksError(`Address type ${atyp} is not one of 1 (IPv4), 3 (name), 4 (IPv6)`, SocksReply.addressTypeNotSupported);
  }
  if (b.length < addrEnd + 2) return undefined;
  let host: string;
  if (addressType === "ipv4") host = formatIPv4(b.subarray(4, 8));
  else if (addressType === "ipv6") host = formatIPv6(b.subarray(4, 20));
  else {
    try {
      host = utf8.decode(b.subarray(5, addrEnd));
    } catch {
      throw new SocksError("Destination name is not UTF-8", SocksReply.hostUnreachable);
    }
  }
  const port = (b[addrEnd]! << 8) | b[addrEnd + 1]!;
  return { value: { code, addressType, host, port }, length: addrEnd + 2 };
}

/**
 * A client's request for `host:port`: a name (ATYP 3, at most 255 bytes) unless `host` is an
 * IPv4 or IPv6 address in text.
 *
 * @example
 * ```ts
 * socksConnectRequest("a.b", 443); // 05 01 00 03 03 61 2e 62 01 bb
 * ```
 */
export function socksConnectRequest(host: string, port: number): Uint8Array {
  const v4 = parseIPv4(host);
  const v6 = v4 ? undefined : parseIPv6(host);
  let addr: Uint8Array;
  if (v4) addr = Uint8Array.of(0x01, ...v4);
  else if (v6) addr = Uint8Array.of(0x04, ...v6);
  else {
    const name = new TextEncoder().encode(host);
    if (name.length === 0 || name.length > 255) throw new TypeError(`A SOCKS5 name is 1-255 bytes, got ${name.length}`);
    addr = Uint8Array.of(0x03, name.length, ...name);
  }
  return Uint8Array.of(0x05, SocksCommand.connect, 0x00, ...addr, port >> 8, port & 0xff);
}

/** A client's greeting offering `methods`. */
export function socksGreeting(methods: readonly number[]): Uint8Array {
  return Uint8Array.of(0x05, methods.length, ...methods);
}

/** A client's RFC 1929 credentials (each at most 255 bytes of UTF-8). */
export function socksCredentials(user: string, password: string): Uint8Array {
  const u = new TextEncoder().encode(user);
  const p = new TextEncoder().encode(password);
  if (u.length === 0 || u.length > 255 || p.length > 255) throw new TypeError("SOCKS5 user names are 1-255 bytes and passwords up to 255 bytes of UTF-8");
  return Uint8Array.of(0x01, u.length, ...u, p.length, ...p);
}

/** The server's answer to credentials, as a client reads it: `true` when accepted. */
export function parseCredentialsAnswer(b: Uint8Array): Parsed<boolean> {
  if (b.length < 2) return undefined;
  if (b[0] !== 0x01) throw new SocksError(`Sign-in answer version ${b[0]}, expected 1`);
  return { value: b[1] === 0x00, length: 2 };
}

/** The server's choice of method, as a client reads it. */
export function parseMethodChoice(b: Uint8Array): Parsed<number> {
  if (b.length < 2) return undefined;
  if (b[0] !== 0x05) throw new SocksError(`Method choice version ${b[0]}, expected 5 (is it a SOCKS5 proxy?)`);
  return { value: b[1]!, length: 2 };
}

/** The server's choice of method: VER (5), METHOD. */
export function methodChoice(method: number): Uint8Array {
  return Uint8Array.of(0x05, method);
}

/** The server's answer to credentials: VER (1), STATUS (0 = success). */
export function credentialsAnswer(ok: boolean): Uint8Array {
  return Uint8Array.of(0x01, ok ? 0x00 : 0x01);
}

/**
 * A reply: VER (5), REP, RSV, ATYP, BND.ADDR, BND.PORT. `bound` defaults to 0.0.0.0:0
 * (what many servers send for CONNECT: clients do not use it).
 *
 * @example
 * ```ts
 * socksReply(SocksReply.notAllowed); // 05 02 00 01 00 00 00 00 00 00
 * ```
 */
export function socksReply(code: SocksReplyCode, bound: { readonly address: string; readonly port: number } = { address: "0.0.0.0", port: 0 }): Uint8Array {
  const v4 = parseIPv4(bound.address);
  const addr = v4 ?? parseIPv6(bound.address);
  if (!addr) throw new TypeError(`Not an IP address: ${JSON.stringify(bound.address)}`);
  const out = new Uint8Array(6 + addr.length);
  out.set([0x05, code, 0x00, v4 ? 0x01 : 0x04]);
  out.set(addr, 4);
  out[4 + addr.length] = bound.port >> 8;
  out[5 + addr.length] = bound.port & 0xff;
  return out;
}

/**
 * Feeds chunks to one parser until its message is complete; {@link rest} then holds the
 * bytes that came after it (a client that sends ahead). Buffering is bounded by the
 * message's own limit (513 bytes at most; a SOCKS4 request 520) plus the chunk being pushed.
 */
export class SocksMessageReader<T> {
  readonly #parse: (b: Uint8Array) => Parsed<T>;
  #buf: Uint8Array = new Uint8Array(0);
  #rest: Uint8Array | undefined;

  constructor(parse: (b: Uint8Array) => Parsed<T>) {
    this.#parse = parse;
  }

  push(chunk: Uint8Array): T | undefined {
    this.#buf = this.#buf.length === 0 ? chunk : concatBytes([this.#buf, chunk]);
    const parsed = this.#parse(this.#buf);
    if (!parsed) return undefined;
    this.#rest = this.#buf.subarray(parsed.length);
    return parsed.value;
  }

  /** Bytes after the message (empty until it is complete). */
  rest(): Uint8Array {
    return this.#rest ?? new Uint8Array(0);
  }
}
