import type { Conn } from "../../src/core/conn.ts";
import { concatBytes } from "../../src/core/bytes.ts";

/** Everything `conn` delivers until its end of stream. */
export async function readAll(conn: Conn): Promise<Uint8Array<ArrayBuffer>> {
  const parts: Uint8Array[] = [];
  const reader = conn.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  reader.releaseLock();
  return new Uint8Array(concatBytes(parts));
}

/** SHA-256 of `data` as lowercase hex. */
export async function sha(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Deterministic bytes (byte i depends on i and `seed` only), so corruption anywhere shows. */
export function pattern(size: number, seed = 0): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + (i >> 11) + seed) & 0xff;
  return out;
}

/**
 * Writes 256 KiB zero chunks to `conn` until `total` bytes went out, then closes it; after
 * each write `sent` gets the running count. A write that fails (the reader went away) ends
 * it quietly. For backpressure tests: the count shows how far the writer got.
 */
export async function flood(conn: Conn, total: number, sent: (bytes: number) => void): Promise<void> {
  const w = conn.writable.getWriter();
  const chunk = new Uint8Array(256 * 1024);
  let written = 0;
  try {
    while (written < total) {
      await w.write(chunk);
      written += chunk.byteLength;
      sent(written);
    }
    await w.close();
  } catch {
    // the reader went away
  }
}

/**
 * Reads `conn` to its end pausing `pauseMs` after each chunk (a slow client); resolves to the
 * bytes read and when the last chunk came (`performance.now()`).
 */
export async function readSlowly(conn: Conn, pauseMs: number): Promise<{ got: number; lastAt: number }> {
  const reader = conn.readable.getReader();
  let got = 0;
  let lastAt = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { got, lastAt };
    got += value.byteLength;
    lastAt = performance.now();
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}
