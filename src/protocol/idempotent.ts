/**
 * RFC 9110 §9.2.2: the methods a proxy may send again on a fresh connection when a reused
 * one failed before any answer (the request may have reached the server once already).
 * @module
 */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/** True for an idempotent method (uppercase, as parsed). */
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}
