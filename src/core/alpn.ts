/**
 * ALPN protocol names (RFC 7301) as a TLS peer can be offered them: each 1 to 255 bytes of
 * UTF-8, and the whole list small enough for the extension, whose data (a 2-byte length,
 * then each name after its 1-byte length) is at most 65535 bytes. The TLS libraries do not
 * all say so: Deno's `node:tls` took an empty name, or one over 255 bytes, and then hung
 * until the caller's signal fired. Web standards only.
 *
 * @module
 */
import type { TlsCapability } from "./tls.ts";

/** The most bytes one name has (its length is one byte). */
const NAME_MAX = 255;
/** The most bytes the extension's data has (its length is two bytes). */
const EXTENSION_MAX = 0xffff;
/** How many characters of a name an error quotes. */
const QUOTED = 32;

const utf8 = new TextEncoder();

/** `name` quoted for a message, cut after `QUOTED` characters. */
function quoted(name: string): string {
  const chars = [...name];
  return JSON.stringify(chars.length > QUOTED ? `${chars.slice(0, QUOTED).join("")}…` : name);
}

/** Each name's UTF-8, or the TypeError that says why the list cannot be offered. */
function encoded(protocols: readonly string[]): Uint8Array[] | TypeError {
  const names: Uint8Array[] = [];
  let size = 2;
  for (const [i, p] of protocols.entries()) {
    const b = utf8.encode(p);
    if (b.byteLength === 0 || b.byteLength > NAME_MAX) {
      return new TypeError(`ALPN protocol name ${i + 1} (${quoted(p)}) is ${b.byteLength} bytes, not 1 to ${NAME_MAX}`);
    }
    names.push(b);
    size += 1 + b.byteLength;
  }
  if (size > EXTENSION_MAX) return new TypeError(`ALPN protocol list is ${size} bytes in the extension, over its limit of ${EXTENSION_MAX}`);
  return names;
}

/**
 * Why `protocols` cannot be offered as ALPN names (a name empty or over 255 bytes of UTF-8,
 * or the list over what the extension holds), undefined when it can. An empty list can
 * (no ALPN at all).
 *
 * @example
 * ```ts
 * alpnError(["h2", "http/1.1"]); // undefined
 * alpnError([""])?.message; // 'ALPN protocol name 1 ("") is 0 bytes, not 1 to 255'
 * ```
 */
export function alpnError(protocols: readonly string[]): TypeError | undefined {
  const names = encoded(protocols);
  return names instanceof TypeError ? names : undefined;
}

/**
 * ALPN protocol names in wire format (each after its length in one byte), as Bun's native
 * TLS wants them; undefined for none.
 *
 * @throws {TypeError} when they cannot be offered (see {@linkcode alpnError})
 * @example
 * ```ts
 * alpnWire(["h2"]); // Uint8Array [2, 104, 50]
 * ```
 */
export function alpnWire(protocols: readonly string[]): Uint8Array | undefined {
  const names = encoded(protocols);
  if (names instanceof TypeError) throw names;
  if (names.length === 0) return undefined;
  const out = new Uint8Array(names.reduce((n, b) => n + 1 + b.byteLength, 0));
  let o = 0;
  for (const b of names) {
    out[o++] = b.byteLength;
    out.set(b, o);
    o += b.byteLength;
  }
  return out;
}

/**
 * `tls` refusing, at once and on every path of the adapter, an `alpn` list that cannot be
 * offered: `accept` and `connect` reject with the TypeError of {@linkcode alpnError} without
 * a handshake (or a dial), closing the Conn they were handed (`conn`, `over`) as they do for
 * any failure.
 *
 * @example
 * ```ts
 * const runtime = { ...adapter, tls: refusingInvalidAlpn(adapterTls) };
 * ```
 */
export function refusingInvalidAlpn(tls: TlsCapability): TlsCapability {
  return {
    ...tls,
    accept: (conn, options) => {
      const error = alpnError(options.alpn);
      if (!error) return tls.accept(conn, options);
      conn.close();
      return Promise.reject(error);
    },
    connect: (options) => {
      const error = alpnError(options.alpn);
      if (!error) return tls.connect(options);
      options.over?.close();
      return Promise.reject(error);
    },
  };
}
