/**
 * Upstream certificate validation as one decision, shared by the adapters: the TLS library
 * verifies the chain (system roots plus extra CAs), and we check the name ourselves so that
 * DNS names and IP literals are handled the same way on every runtime.
 *
 * @module
 */

import { isIP } from "node:net";
import { checkServerIdentity, rootCertificates } from "node:tls";
import type { PeerCertificate } from "node:tls";
import { TlsValidationError } from "../../core/tls.ts";
import type { TlsVersion } from "../../core/tls.ts";

/** The code the TLS libraries use for a name mismatch (chain fine, name wrong). */
export const ALTNAME_INVALID = "ERR_TLS_CERT_ALTNAME_INVALID";

/** True for an IPv4 or IPv6 literal (no SNI is sent for those, RFC 6066 §3). */
export function isIpLiteral(name: string): boolean {
  return isIP(name) !== 0;
}

/**
 * The trust anchors for a validating client: `undefined` (the library's default roots) when
 * there is no extra CA, else the system roots plus the extras.
 *
 * @example
 * ```ts
 * caList(["-----BEGIN CERTIFICATE-----\n..."]); // [...rootCertificates, extra]
 * ```
 */
export function caList(extraCaPem: readonly string[] | undefined): string[] | undefined {
  if (!extraCaPem || extraCaPem.length === 0) return undefined;
  return [...rootCertificates, ...extraCaPem];
}

/**
 * The `code` of a library error or of an `authorizationError` (Node gives a string,
 * Bun and Deno an Error with `code`).
 */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === "string") return error;
  if (error instanceof Error && "code" in error && typeof error.code === "string") return error.code;
  return undefined;
}

/** Words for the X.509 reason codes that Deno's `authorizationError` gives bare. */
const REASONS: Readonly<Record<string, string>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "unable to verify the first certificate",
  UNABLE_TO_GET_ISSUER_CERT: "unable to get issuer certificate",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "unable to get local issuer certificate",
  DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
  SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in certificate chain",
  CERT_HAS_EXPIRED: "certificate has expired",
  CERT_NOT_YET_VALID: "certificate is not yet valid",
  CERT_REVOKED: "certificate revoked",
  CERT_UNTRUSTED: "certificate not trusted",
  CERT_SIGNATURE_FAILURE: "certificate signature failure",
  INVALID_CA: "invalid CA certificate",
  INVALID_PURPOSE: "unsupported certificate purpose",
};

function errorText(error: unknown): string {
  if (typeof error === "string") return REASONS[error] ?? "certificate verification failed";
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * Decides whether a completed handshake is trustworthy: `authorizationError` is what the
 * library reported for the chain (null when fine; a name mismatch it reports is ignored and
 * re-checked here against `servername`), `peer` the peer certificate. Returns the error to
 * reject with, or null.
 *
 * @example
 * ```ts
 * const err = validatePeer("example.com", socket.authorizationError, socket.getPeerCertificate());
 * if (err) throw err;
 * ```
 */
export function validatePeer(
  servername: string,
  authorizationError: unknown,
  peer: PeerCertificate | null | undefined,
): TlsValidationError | null {
  const code = authorizationError ? errorCode(authorizationError) ?? "CERT_REJECTED" : undefined;
  if (code !== undefined && code !== ALTNAME_INVALID) {
    return new TlsValidationError(
      code,
      `Certificate of "${servername}" is not trusted: ${errorText(authorizationError)} (${code})`,
    );
  }
  if (!peer || !peer.raw) {
    return new TlsValidationError("CERT_MISSING", `Server "${servername}" sent no certificate`);
  }
  const mismatch = checkServerIdentity(servername, peer);
  if (mismatch) {
    const reason = errorCode(mismatch) ?? ALTNAME_INVALID;
    return new TlsValidationError(
      reason,
      `Certificate of "${servername}" does not match the name: ${mismatch.message} (${reason})`,
    );
  }
  return null;
}

/** Bun (BoringSSL) option bits: SSL_OP_NO_SSLv3, _NO_TLSv1, _NO_TLSv1_1, _NO_TLSv1_2. */
const NO_SSLV3 = 0x02000000;
const NO_TLSV1 = 0x04000000;
const NO_TLSV1_1 = 0x10000000;
const NO_TLSV1_2 = 0x08000000;

/** `secureOptions` bits that enforce `minVersion` where no `minVersion` option exists (Bun native TLS). */
export function secureOptionsFor(minVersion: TlsVersion): number {
  const base = NO_SSLV3 | NO_TLSV1 | NO_TLSV1_1;
  return minVersion === "TLSv1.3" ? base | NO_TLSV1_2 : base;
}

/** How the TLS libraries word "no ALPN protocol in common" (BoringSSL, OpenSSL, rustls). */
export const ALPN_FAILURE = /NO_APPLICATION_PROTOCOL|NoApplicationProtocol|no.application.protocol|known protocol/i;

/** A handshake failure's message in plain words, with the ALPN case spelled out. */
export function handshakeFailure(
  side: string,
  error: unknown,
  alpn: readonly string[],
): Error {
  const code = errorCode(error) ?? "";
  const text = errorText(error);
  if (ALPN_FAILURE.test(`${code} ${text}`)) {
    const ours = alpn.map((p) => `"${p}"`).join(", ");
    return new Error(`TLS handshake with ${side} failed: no common ALPN protocol (ours: ${ours})`, { cause: error });
  }
  return new Error(`TLS handshake with ${side} failed: ${text}`, { cause: error });
}
