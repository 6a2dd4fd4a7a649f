/** Host name normalisation and validation shared by the resolver and the config. */

const LABEL_RE = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Normalise a host name: lowercase, without one trailing dot.
 *
 * @example
 * ```ts
 * normaliseName("Origin.Test."); // "origin.test"
 * ```
 */
export function normaliseName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/**
 * Validate a normalised host name (ASCII/punycode labels of letters, digits, "-" and "_",
 * at most 63 characters each and 253 in all). Returns `undefined` when valid, else a message.
 *
 * @example
 * ```ts
 * hostNameError("exa mple.com"); // 'expected a host name, got "exa mple.com"'
 * ```
 */
export function hostNameError(name: string): string | undefined {
  const ok = name.length > 0 && name.length <= 253 && name.split(".").every((label) => LABEL_RE.test(label));
  return ok ? undefined : `expected a host name, got ${JSON.stringify(name)}`;
}
