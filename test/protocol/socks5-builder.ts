/** Builds SOCKS5 client messages for tests. */

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
