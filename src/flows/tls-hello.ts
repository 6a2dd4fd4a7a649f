import type { Conn } from "../core/conn.ts";
import { type ClientHello, ClientHelloReader } from "../protocol/client-hello.ts";
import { ClientHelloError } from "../protocol/client-hello-error.ts";
import { tlsAlertRecord } from "../protocol/tls-alert.ts";
import type { ConnReader } from "./conn-reader.ts";

export interface ClientHelloLimits {
  readonly maxBytes: number;
  readonly maxRecords: number;
  /** The whole ClientHello must arrive within this time. */
  readonly timeoutMs: number;
}

/**
 * Reads until a whole ClientHello arrived (bounded in bytes, records and time) without
 * answering anything. `raw` is every byte read, for byte-identical forwarding or as the
 * TLS layer's initial data.
 */
export async function readClientHello(src: ConnReader, limits: ClientHelloLimits): Promise<{ hello: ClientHello; raw: Uint8Array }> {
  const reader = new ClientHelloReader({ maxBytes: limits.maxBytes, maxRecords: limits.maxRecords });
  const until = Date.now() + limits.timeoutMs;
  for (;;) {
    const chunk = await src.read(Math.max(1, until - Date.now()));
    if (!chunk) throw new ClientHelloError("truncated", "Connection closed before a complete ClientHello");
    const hello = reader.push(chunk);
    if (hello) return { hello, raw: reader.bytes() };
  }
}

/** Sends a fatal TLS alert and closes (the client sees a handshake failure, not a hang). */
export async function refuseTls(client: Conn, alert: number): Promise<void> {
  const w = client.writable.getWriter();
  try {
    await w.write(tlsAlertRecord(alert));
    await w.close();
  } catch {
    // client gone
  } finally {
    w.releaseLock();
  }
  setTimeout(() => client.close(), 500);
}
