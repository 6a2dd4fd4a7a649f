/**
 * Connecting to one backend: resolve its host once (static hosts, cache, system), then dial
 * each address in turn within the pool's connect timeout; for `https://` backends, TLS with
 * validation (system roots plus the pool's CA), SNI and an optional client certificate.
 *
 * Backends are the operator's own configuration, so the forward-proxy address guard does
 * not apply to them (a backend on 127.0.0.1 or 10.x is the normal case).
 * @module
 */
import type { Conn } from "../core/conn.ts";
import { bareHost, hostText } from "../core/host.ts";
import type { Runtime } from "../core/runtime.ts";
import { TlsValidationError, type TlsVersion } from "../core/tls.ts";
import { DnsError } from "../dns/error.ts";
import type { Resolver } from "../dns/types.ts";
import { UpstreamError } from "../flows/upstream.ts";
import type { Backend } from "./pool.ts";

/** How a pool's `https://` backends are reached. */
export interface BackendTlsSettings {
  /** Extra trusted CAs (PEM) besides the system roots. */
  readonly extraCaPem: readonly string[];
  /** Name checked in the certificate and sent as SNI; default: the URL's host. */
  readonly serverName?: string;
  readonly clientCertPem?: string;
  readonly clientKeyPem?: string;
  readonly minVersion: TlsVersion;
}

/** What dialing needs from the gateway. */
export interface DialDeps {
  readonly runtime: Pick<Runtime, "dial" | "tls">;
  readonly resolver: Resolver;
}

/** What is sent or left out when a connection to a backend is opened. */
export interface DialOptions {
  /** Written first on the TCP connection, before any TLS (a PROXY protocol header). */
  readonly preamble?: Uint8Array;
  /** Only TCP, even to an `https://` backend (passthrough: the client's TLS goes through). */
  readonly tcpOnly?: boolean;
}

/** An open connection to a backend (plaintext side for https). */
export interface BackendConn {
  readonly conn: Conn;
  /** The IP address dialed. */
  readonly address: string;
}

/**
 * Opens a connection to `backend`, sending `options.preamble` first. Rejects with an
 * `UpstreamError` ("dns", "dns-timeout", "connect" or "timeout") or a `TlsValidationError`
 * (the backend's certificate is not trusted for its name; no other address is tried then),
 * or `signal.reason`.
 */
export async function dialBackend(
  deps: DialDeps,
  backend: Backend,
  tls: BackendTlsSettings | undefined,
  timeoutMs: number,
  signal?: AbortSignal,
  options: DialOptions = {},
): Promise<BackendConn> {
  const budget = AbortSignal.timeout(timeoutMs);
  const deadline = signal ? AbortSignal.any([signal, budget]) : budget;
  const target = `${backend.scheme}://${backend.authority}`;
  let addresses: readonly string[];
  const host = backend.host;
  if (host.kind === "dns") {
    try {
      addresses = (await deps.resolver.resolve(host.name, deadline)).addresses;
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      if (e instanceof DnsError) throw new UpstreamError(e.code === "timeout" ? "dns-timeout" : "dns", `Backend ${target}: DNS: ${e.message}`, { cause: e });
      if (budget.aborted) throw new UpstreamError("dns-timeout", `Backend ${target}: DNS lookup of "${host.name}" timed out`);
      throw new UpstreamError("dns", `Backend ${target}: DNS lookup of "${host.name}" failed: ${text(e)}`, { cause: e });
    }
  } else {
    addresses = [host.address];
  }
  let last: unknown;
  for (const address of addresses) {
    try {
      const preamble = options.preamble;
      if (backend.scheme === "http" || !tls || options.tcpOnly) {
        const conn = await deps.runtime.dial({ address, port: backend.port, signal: deadline });
        if (preamble) await writeFirst(conn, preamble);
        return { conn, address };
      }
      let over: Conn | undefined;
      if (preamble) {
        over = await deps.runtime.dial({ address, port: backend.port, signal: deadline });
        await writeFirst(over, preamble);
      }
      const session = await deps.runtime.tls.connect({
        ...(over ? { over } : {}),
        address,
        port: backend.port,
        servername: tls.serverName ?? bareHost(host),
        extraCaPem: tls.extraCaPem,
        verify: true,
        alpn: ["http/1.1"],
        minVersion: tls.minVersion,
        signal: deadline,
        ...(tls.clientCertPem && tls.clientKeyPem ? { clientCertPem: tls.clientCertPem, clientKeyPem: tls.clientKeyPem } : {}),
      });
      return { conn: session.conn, address };
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      if (e instanceof TlsValidationError) throw e;
      last = e;
      if (deadline.aborted) break;
    }
  }
  if (budget.aborted) throw new UpstreamError("timeout", `Connect to backend ${target} timed out after ${timeoutMs} ms`);
  throw new UpstreamError("connect", `Connect to backend ${target} (${addresses.join(", ")}) failed: ${text(last)}`, { cause: last });
}

/** Writes `bytes` ahead of anything else on `conn` (closing it when that fails). */
async function writeFirst(conn: Conn, bytes: Uint8Array): Promise<void> {
  const w = conn.writable.getWriter();
  try {
    await w.write(bytes);
  } catch (e) {
    conn.close();
    throw e;
  } finally {
    w.releaseLock();
  }
}

function text(e: unknown): string {
  if (e instanceof Error) return (e as Error & { code?: string }).code ?? e.message;
  return String(e);
}

/** A backend's name for logs: `https://host:port`. */
export function backendName(b: Backend): string {
  return `${b.scheme}://${hostText(b.host)}:${b.port}`;
}
