/** HTTP/1.1 request head parser (RFC 9112 §3, RFC 9110 §7.1-7.2), strict and sans-IO. */
import { decodeLatin1 } from "../core/bytes.ts";
import { readFramingFields } from "./body-framing.ts";
import { parseHostPort, type Authority } from "./http-authority.ts";
import { HttpParseError } from "./http-errors.ts";
import {
  DEFAULT_MAX_HEAD_BYTES,
  DEFAULT_MAX_HEADERS,
  countHeadLines,
  isToken,
  isVisibleAscii,
  parseHeadFields,
  quote,
  type HeadLimits,
  type HttpVersion,
} from "./http-head.ts";
import type { HeaderList } from "./http-headers.ts";

/** The four request-target forms of RFC 9112 §3.2. */
export type RequestTargetForm = "origin" | "absolute" | "authority" | "asterisk";

/** A parsed, validated request head. */
export interface RequestHead {
  /** Method as sent (case-sensitive token). */
  readonly method: string;
  /** Request target exactly as sent. */
  readonly target: string;
  readonly version: HttpVersion;
  readonly headers: HeaderList;
  readonly form: RequestTargetForm;
  /** Target host and port for authority-form (CONNECT) and absolute-form (default port 80 / 443). */
  readonly authority?: Authority;
  /** The target URL for absolute-form (WHATWG-parsed). */
  readonly url?: URL;
  /** Scheme of an absolute-form target; "https" means the client asked a plain proxy for an https URL. */
  readonly scheme?: "http" | "https";
  /**
   * Origin-form target to forward: the target as sent for origin-form, the URL's path and
   * query for absolute-form, "*" for asterisk-form; absent for authority-form.
   */
  readonly path?: string;
}

const VERSION_SHAPE = /^HTTP\/[0-9]\.[0-9]$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;

/**
 * Parse and validate a complete request head (as returned by `HeadReader`, ending with
 * CRLF CRLF; no leading empty lines).
 *
 * @throws {HttpParseError} 400 for malformed or ambiguous heads (including request smuggling
 * patterns), 431 when the head or header count is too large, 501 for an unknown transfer
 * coding, 505 for an HTTP version other than 1.0 / 1.1.
 * @example
 * ```ts
 * const head = parseRequestHead(new TextEncoder().encode("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n"));
 * head.form;      // "authority"
 * head.authority; // { host: "::1", port: 443 }
 * ```
 */
export function parseRequestHead(bytes: Uint8Array, limits: HeadLimits = {}): RequestHead {
  const maxBytes = limits.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES;
  if (bytes.length > maxBytes) throw new HttpParseError(431, `Request head exceeds ${maxBytes} bytes`);
  const text = decodeLatin1(bytes);
  const lines = countHeadLines(text, 400, "Request head");
  // the request line is three non-empty parts between two single spaces
  const end = text.indexOf("\r");
  const sp1 = text.indexOf(" ");
  const sp2 = text.indexOf(" ", sp1 + 1);
  const sp3 = text.indexOf(" ", sp2 + 1);
  if (sp1 <= 0 || sp2 <= sp1 + 1 || sp2 + 1 >= end || (sp3 !== -1 && sp3 < end)) {
    throw new HttpParseError(400, `Malformed request line ${quote(text.slice(0, end))}`);
  }
  const method = text.slice(0, sp1);
  const target = text.slice(sp1 + 1, sp2);
  const versionText = text.slice(sp2 + 1, end);
  if (!isToken(method)) throw new HttpParseError(400, `Invalid method ${quote(method)}`);
  if (!isVisibleAscii(target)) throw new HttpParseError(400, `Invalid request target ${quote(target)}`);
  const version = parseVersion(versionText);
  const headers = parseHeadFields(text, lines, limits.maxHeaders ?? DEFAULT_MAX_HEADERS, 400, 431);

  const hosts = headers.getAll("host");
  if (hosts.length > 1) throw new HttpParseError(400, "Multiple Host header fields");
  const host = hosts[0];
  if (host === undefined && version === "HTTP/1.1") throw new HttpParseError(400, "Missing Host header field");
  if (host !== undefined && host !== "" && parseHostPort(host, 0) === undefined) {
    throw new HttpParseError(400, `Invalid Host header ${quote(host)}`);
  }
  readFramingFields(headers, version, "request");
  return parseTarget(method, target, version, headers);
}

function parseVersion(text: string): HttpVersion {
  if (text === "HTTP/1.1" || text === "HTTP/1.0") return text;
  if (VERSION_SHAPE.test(text)) throw new HttpParseError(505, `Unsupported HTTP version ${quote(text)}`);
  throw new HttpParseError(400, `Invalid HTTP version ${quote(text)}`);
}

/** The head with what its target says (built whole: spreading the parts into it cost ~70 ns). */
function parseTarget(method: string, target: string, version: HttpVersion, headers: HeaderList): RequestHead {
  if (target.includes("#")) throw new HttpParseError(400, `Request target ${quote(target)} contains a fragment`);
  if (method === "CONNECT") {
    const authority = parseHostPort(target);
    if (authority === undefined) {
      throw new HttpParseError(400, `CONNECT target ${quote(target)} is not host:port with a port 1-65535`);
    }
    return { method, target, version, headers, form: "authority", authority };
  }
  if (target === "*") {
    if (method !== "OPTIONS") throw new HttpParseError(400, `Asterisk-form target is only allowed with OPTIONS, not ${quote(method)}`);
    return { method, target, version, headers, form: "asterisk", path: "*" };
  }
  if (target.startsWith("/")) return { method, target, version, headers, form: "origin", path: target };
  // scheme "://" authority, the authority up to "/", "?" or the end ("#" is refused above)
  const colon = target.indexOf(":");
  const rawScheme = target.slice(0, colon);
  if (colon === -1 || !SCHEME.test(rawScheme) || !target.startsWith("//", colon + 1)) {
    throw new HttpParseError(400, `Request target ${quote(target)} is not origin-form or absolute-form`);
  }
  const scheme = rawScheme.toLowerCase();
  const rawAuthority = target.slice(colon + 3, authorityEnd(target, colon + 3));
  if (scheme !== "http" && scheme !== "https") {
    throw new HttpParseError(400, `Unsupported scheme ${quote(scheme)} in request target`);
  }
  if (rawAuthority.includes("@")) throw new HttpParseError(400, `Request target ${quote(target)} contains userinfo`);
  const authority = parseHostPort(rawAuthority, scheme === "https" ? 443 : 80);
  if (authority === undefined) throw new HttpParseError(400, `Invalid host ${quote(rawAuthority)} in request target`);
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new HttpParseError(400, `Invalid request target ${quote(target)}`);
  }
  // The WHATWG parser rewrites some hosts (e.g. "0x7f.1" -> "127.0.0.1"); refuse the ambiguity.
  if (!authority.host.includes(":") && url.hostname !== authority.host.toLowerCase()) {
    throw new HttpParseError(400, `Ambiguous host ${quote(authority.host)} in request target`);
  }
  const path = `${url.pathname}${url.search}`;
  return { method, target, version, headers, form: "absolute", authority, url, scheme, path };
}

function authorityEnd(target: string, from: number): number {
  const slash = target.indexOf("/", from);
  const query = target.indexOf("?", from);
  if (slash === -1) return query === -1 ? target.length : query;
  return query === -1 || slash < query ? slash : query;
}
