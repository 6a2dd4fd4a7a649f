/**
 * Classifies why a flow failed, from its canonical record, into a small fixed set of kinds
 * (the `kind` label of `tollgate_errors_total`).
 *
 * The record carries the error as text, so this maps the messages the flows write (see
 * `src/flows/`) plus the answered status. A new message shape falls into "other" until it
 * is mapped here.
 *
 * @module
 */
import type { FlowRecord } from "../log/flow-record.ts";

/** Every kind {@linkcode flowErrorKind} returns. */
export const FLOW_ERROR_KINDS = [
  "dns",
  "connect",
  "timeout",
  "idle",
  "tls_upstream",
  "tls_client",
  "cert",
  "parse",
  "limit",
  "config",
  "reset",
  "upstream",
  "other",
] as const;

/**
 * Why a flow failed:
 * - "dns": the upstream name did not resolve;
 * - "connect": no upstream address accepted the TCP connection (nor any backend of a pool, or
 *   parent proxy);
 * - "timeout": a connect, DNS, request-head, ClientHello or client-handshake deadline passed (408/504);
 * - "idle": a tunnel or kept-alive connection was closed for inactivity;
 * - "tls_upstream": the upstream TLS handshake or certificate validation failed;
 * - "tls_client": the client's TLS handshake with a minted certificate failed;
 * - "cert": a certificate could not be minted;
 * - "parse": the client sent a malformed or refused request or ClientHello (4xx, invalid);
 * - "limit": a size or count limit was hit (413, 431);
 * - "config": the configuration cannot serve the request (e.g. decryption without a CA);
 * - "reset": a peer reset or closed the connection mid-flow;
 * - "upstream": the upstream failed otherwise (502);
 * - "other": anything not mapped yet.
 */
export type FlowErrorKind = (typeof FLOW_ERROR_KINDS)[number];

/**
 * The kind of error that ended `record`, or null if it ended without one (a policy denial,
 * or a revocation of an open flow the policy now denies, is not an error).
 *
 * @example
 * ```ts
 * flowErrorKind({ ...record, status: 502, error: 'DNS: Host "x.test" not found' }); // "dns"
 * ```
 */
export function flowErrorKind(record: Pick<FlowRecord, "kind" | "status" | "error"> & { readonly end?: string | null }): FlowErrorKind | null {
  const { error, status } = record;
  if (error === null || record.end === "revoked") return null;
  if (error.startsWith("DNS:")) return "dns";
  if (error.startsWith("Client TLS handshake failed")) return "tls_client";
  if (error.startsWith("Upstream certificate rejected") || error.startsWith("Upstream TLS")) return "tls_upstream";
  if (error.startsWith("Could not issue a certificate")) return "cert";
  if (status === 408 || status === 504 || /timed out|timeout|^No complete .* within/i.test(error)) return "timeout";
  if (error.startsWith("Connect to ") || /^No (backend of pool "[^"]*"|parent proxy) could be reached/.test(error)) return "connect";
  if (error === "idle") return "idle";
  if (status === 413 || status === 431 || /too large|too many|limit/i.test(error)) return "limit";
  if (status === 501 || /no CA is configured/i.test(error)) return "config";
  // a client reset before its first request was whole: nothing was parsed, nothing answered
  if (status === null && /ECONNRESET|reset by peer/i.test(error)) return "reset";
  if (record.kind === "invalid" || (status !== null && status >= 400 && status < 500)) return "parse";
  if (/ECONNRESET|EPIPE|reset|broken pipe|closed/i.test(error)) return "reset";
  if (status === 502) return "upstream";
  return "other";
}
