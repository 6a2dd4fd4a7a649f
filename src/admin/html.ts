/**
 * HTML helpers of the admin pages: escaping, and responses with a strict Content Security
 * Policy (inline style and script allowed only with the per-response nonce).
 *
 * @module
 */

export { escapeHtml } from "../block/page-template.ts";

/** A random nonce for a `Content-Security-Policy` (128 bits, base64). */
export function cspNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

/**
 * An HTML response: no caching, no framing, no referrer, and a CSP that lets the page
 * talk only to its own origin and run only the inline code carrying `nonce`.
 */
export function htmlResponse(status: number, html: string, nonce: string): Response {
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  return new Response(html, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "no-referrer",
    },
  });
}
