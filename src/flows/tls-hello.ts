import type { Conn } from "../core/conn.ts";
import { type ClientHello, ClientHelloReader } from "../protocol/client-hello.ts";
import { ClientHelloError } from "../protocol/client-hello-error.ts";
import { tlsAlertRecord } from "../protocol/tls-alert.ts";
import { lingerClose } from "./answers.ts";
import { ConnReader, FlowTimeoutError } from "./conn-reader.ts";
import { readFirst, type ReadFirstLimits } from "./read-first.ts";

export interface ClientHelloLimits extends ReadFirstLimits {
  readonly maxBytes: number;
  readonly maxRecords: number;
}

/**
 * Reads until a whole ClientHello arrived (bounded in bytes, records and time) without
 * answering anything. `raw` is every byte read, for byte-identical forwarding or as the
 * TLS layer's initial data. A drain that starts before the first byte ends it as a close
 * would (`truncated`, with nothing received: see {@linkcode hungUpBeforeHello}).
 */
export async function readClientHello(src: ConnReader, limits: ClientHelloLimits): Promise<{ hello: ClientHello; raw: Uint8Array }> {
  const reader = new ClientHelloReader({ maxBytes: limits.maxBytes, maxRecords: limits.maxRecords });
  const hello = await readFirst(src, (chunk) => reader.push(chunk), limits);
  if (!hello) throw new ClientHelloError("truncated", "Connection closed before a complete ClientHello");
  return { hello, raw: reader.bytes() };
}

/** What {@linkcode peekClientHello} saw: the ClientHello, or why there is none. */
export type PeekedHello =
  | { readonly hello: ClientHello; readonly raw: Uint8Array }
  | { readonly hello: undefined; readonly raw: Uint8Array; readonly problem: string };

/**
 * Reads a client's ClientHello, if that is what it sends, for a look before its TLS handshake
 * (`raw`: every byte read, for the handshake's initial data). `hello` is undefined, with the
 * `problem`, when the bytes are no ClientHello (not TLS, malformed, over the limits) or the
 * stream ended first: a TLS layer given `raw` would fail on it as it would have without the
 * look. A timeout still throws (FlowTimeoutError).
 */
export async function peekClientHello(src: ConnReader, limits: ClientHelloLimits): Promise<PeekedHello> {
  const reader = new ClientHelloReader({ maxBytes: limits.maxBytes, maxRecords: limits.maxRecords });
  try {
    const hello = await readFirst(src, (chunk) => reader.push(chunk), limits);
    if (hello) return { hello, raw: reader.bytes() };
    return { hello: undefined, raw: reader.bytes(), problem: "the connection ended before a complete ClientHello" };
  } catch (e) {
    if (e instanceof ClientHelloError) return { hello: undefined, raw: reader.bytes(), problem: e.message };
    throw e;
  }
}

/**
 * True when `e` (from {@linkcode readClientHello}) means the client hung up, with FIN or
 * RST, before sending a single byte. TCP health checks, port probes and connection pools
 * do that; the TLS listeners let them go without a flow line, as the HTTP listeners do.
 * A client that connects and stays silent is another matter (it holds a connection): that
 * still times out and is logged.
 */
export function hungUpBeforeHello(e: unknown, src: ConnReader): boolean {
  if (src.received || e instanceof FlowTimeoutError) return false;
  return !(e instanceof ClientHelloError) || e.reason === "truncated";
}

/** Longest wait for the client's close after a refusal (a TLS client closes on the alert at once). */
export const REFUSAL_LINGER_MS = 500;

/**
 * Sends a fatal TLS alert, half-closes, and closes once the client has closed too, or after
 * {@linkcode REFUSAL_LINGER_MS}: closing with unread input (the rest of the client's first
 * flight, early data) makes the kernel send RST, which can destroy the alert in flight, and a
 * client that closes at once (as TLS clients do on a fatal alert) need not wait for a timer.
 * Returns as soon as the alert is written; the linger goes on in the background. `src` is
 * the flow's reader of `client`, if it still holds one.
 */
export async function refuseTls(client: Conn, alert: number, src?: ConnReader): Promise<void> {
  const w = client.writable.getWriter();
  try {
    await w.write(tlsAlertRecord(alert));
    await w.close();
  } catch {
    // client gone
  } finally {
    w.releaseLock();
  }
  let reader = src;
  try {
    reader ??= new ConnReader(client);
  } catch {
    client.close(); // someone else reads it: nothing left to wait for
    return;
  }
  void lingerClose(client, reader, REFUSAL_LINGER_MS);
}
