import type { Conn } from "./conn.ts";

/**
 * TLS as the core needs it; each runtime adapter implements it with what works there
 * (see ARCHITECTURE.md §1). Certificates and keys are PEM text.
 */
export interface TlsCapability {
  /**
   * Server side of TLS on an already-accepted connection (after a CONNECT's 200, or after
   * a ClientHello was peeked). `initialData` are bytes already read from `conn` that belong
   * to the handshake. Rejects if the handshake fails (the client gets a TLS alert).
   */
  accept(conn: Conn, options: TlsAcceptOptions): Promise<TlsSession>;
  /**
   * Client side: dial `address:port` (or use `options.over`) and handshake with SNI =
   * `servername`.
   */
  connect(options: TlsConnectOptions): Promise<TlsClientSession>;
  /**
   * Optional, called once at start before any `connect`: every extra CA certificate (PEM)
   * the config names for upstreams, so that an adapter can load them once rather than with
   * every handshake. Never fails; `connect` with any extras (these, a part of them, others
   * after a reload) works either way and trusts the system roots and the extras it is
   * given, nothing more.
   */
  prepareTrust?(extraCaPem: readonly string[]): Promise<void>;
  /**
   * Optional: whether the handshakes that follow may run on a second TLS implementation the
   * runtime has (Deno's own, config `deno.ownTls`) where it fits; off until told. Called at
   * start and by each reload.
   */
  preferOwnTls?(on: boolean): void;
  /**
   * Optional: why `keyPem` is not the private key of the certificate `certDer` (it cannot
   * be read, or it is another key), undefined when it is. Lets a configured pair be refused
   * when it is loaded, rather than fail every handshake later.
   */
  keyPairError?(certDer: Uint8Array, keyPem: string): string | undefined;
}

export type TlsVersion = "TLSv1.2" | "TLSv1.3";

export interface TlsAcceptOptions {
  /** Leaf certificate followed by intermediates. */
  readonly certChainPem: string;
  readonly keyPem: string;
  /**
   * ALPN protocols we accept, in preference order (e.g. ["http/1.1"]). A client offering ALPN
   * with none of these gets a no_application_protocol alert. Each 1 to 255 bytes of UTF-8 and
   * the list within the extension's 65535 bytes, else `accept` rejects at once with a
   * TypeError (core/alpn.ts).
   */
  readonly alpn: readonly string[];
  readonly minVersion: TlsVersion;
  readonly initialData?: Uint8Array;
  readonly signal?: AbortSignal;
  /**
   * Ask the client for a certificate (mutual TLS), naming these CAs (PEM) as acceptable. The
   * handshake does not depend on the answer: a client sending none, or one that does not
   * chain to them, completes it too. Only that the client holds the key of the certificate
   * it sent is checked here (its CertificateVerify); the certificate is the caller's to
   * verify (`TlsSession.peerCertificateDer`).
   */
  readonly requestClientCertificate?: { readonly caPem: readonly string[] };
}

export interface TlsConnectOptions {
  /** The peer's IP address: dialled, or only named in messages when `over` is given. */
  readonly address: string;
  readonly port: number;
  /**
   * An open connection to handshake over instead of dialling (e.g. a tunnel through a parent
   * proxy). It must be unread (the server speaks first in TLS, so nothing can be pending);
   * the session owns it from then on, and closes it when the handshake fails.
   */
  readonly over?: Conn;
  /** SNI and the name the certificate is checked against. */
  readonly servername: string;
  /** Extra trusted CA certificates (PEM), in addition to the system roots. */
  readonly extraCaPem?: readonly string[];
  /** false = do not validate (explicit per-rule opt-in only). */
  readonly verify: boolean;
  /** ALPN protocols offered, in preference order; refused as in `TlsAcceptOptions.alpn`. */
  readonly alpn: readonly string[];
  readonly minVersion: TlsVersion;
  readonly signal?: AbortSignal;
  /** Client certificate chain (PEM) presented for mutual TLS; used only together with `clientKeyPem`. */
  readonly clientCertPem?: string;
  /** Private key (PEM) of `clientCertPem`. */
  readonly clientKeyPem?: string;
  /**
   * The caller needs the server's certificate (`TlsClientSession.peerCertificateDer`); without
   * it an adapter may leave that null (Deno's own TLS does not report it).
   */
  readonly peerCertificate?: boolean;
}

export interface TlsSession {
  /** Plaintext side of the TLS connection. */
  readonly conn: Conn;
  /** Negotiated ALPN protocol, or null. */
  readonly alpn: string | null;
  /** "TLSv1.3", "TLSv1.2"; "TLSv1.2+" where the runtime does not say which (Deno's own TLS, client side). */
  readonly version: string;
  /** SNI the client sent (server side), or null. */
  readonly servername: string | null;
  /**
   * The peer's leaf certificate (DER), if any. Server side only when
   * `requestClientCertificate` was given: the client's own certificate, null when it sent
   * none. Only the leaf: Bun's sockets do not report the rest of a client's chain, so neither
   * runtime's adapter does.
   */
  readonly peerCertificateDer?: Uint8Array | null;
}

export interface TlsClientSession extends TlsSession {
  /** The server's leaf certificate (DER); may be null unless `TlsConnectOptions.peerCertificate` asked for it. */
  readonly peerCertificateDer: Uint8Array | null;
}

/** Upstream certificate validation failed; `code` is the TLS library's reason (e.g. "CERT_HAS_EXPIRED"). */
export class TlsValidationError extends Error {
  override name = "TlsValidationError";
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
