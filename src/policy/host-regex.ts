/**
 * Host regular expressions. A source `src` is compiled as `^(?:src)$` with the `i` flag and
 * matched against the normalised DNS name (lowercase, punycode, no trailing dot); it never
 * matches IP destinations (use IP/CIDR host patterns for those). Anchoring means
 * `example\.com` matches exactly "example.com", never "example.com.evil.net". Escape dots.
 *
 * @example
 * ```ts
 * compileHostRegex("(www|api)\\.example\\.com").test("api.example.com"); // true
 * regexError("a(b");                                                       // "invalid regular expression ..."
 * ```
 * @module
 */

/** Longest regex source accepted. */
export const MAX_REGEX_SOURCE = 1024;

/**
 * Compile an anchored host regex. The source must be valid on its own, so an unbalanced
 * group such as `x)|(.*` cannot escape the anchors.
 *
 * @throws {TypeError} when the source is not a valid regular expression
 */
export function compileHostRegex(source: string): RegExp {
  if (typeof source !== "string" || source.length === 0) {
    throw new TypeError(`expected a non-empty regular expression, got ${JSON.stringify(source) ?? String(source)}`);
  }
  if (source.length > MAX_REGEX_SOURCE) {
    throw new TypeError(`regular expression longer than ${MAX_REGEX_SOURCE} characters`);
  }
  // the names it is matched against are ASCII (IDNA's punycode form): a Unicode one never would
  if (/[\u0080-\u{10ffff}]/u.test(source)) {
    throw new TypeError(`expected an ASCII regular expression (host names are matched in their punycode form: write bücher.de as xn--bcher-kva\\.de), got ${JSON.stringify(source)}`);
  }
  try {
    new RegExp(source, "i");
    return new RegExp(`^(?:${source})$`, "i");
  } catch (e) {
    throw new TypeError(`invalid regular expression ${JSON.stringify(source)}: ${(e as Error).message}`);
  }
}

/**
 * `undefined` when `source` is a valid host regex, else the reason. The engine anchors it
 * as `^(?:source)$` (case-insensitive) and matches it against normalised DNS names only.
 */
export function regexError(source: string): string | undefined {
  try {
    compileHostRegex(source);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
