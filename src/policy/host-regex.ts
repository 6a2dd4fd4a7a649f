/**
 * Host regular expressions. A source `src` is compiled as `^(?:src)$` with the `i` flag and
 * matched against the normalised DNS name (lowercase, punycode, no trailing dot); it never
 * matches IP destinations (use IP/CIDR host patterns for those). Anchoring means
 * `example\.com` matches exactly "example.com", never "example.com.evil.net". Escape dots.
 *
 * Host regexes run on names clients choose, on the runtimes' backtracking engines, so a
 * source that could take exponential or high-polynomial time is refused (`regex-cost.ts`):
 * nested quantifiers such as `([a-z0-9-]+\.?)*example\.com`, whose safe form is
 * `(?:[a-z0-9-]+\.)*example\.com`.
 *
 * @example
 * ```ts
 * compileHostRegex("(www|api)\\.example\\.com").test("api.example.com"); // true
 * regexError("a(b");                                                       // "invalid regular expression ..."
 * ```
 * @module
 */

import { regexCostProblem } from "./regex-cost.ts";

/** Longest regex source accepted. */
export const MAX_REGEX_SOURCE = 1024;

/**
 * Compile an anchored host regex. The source must be valid on its own, so an unbalanced
 * group such as `x)|(.*` cannot escape the anchors.
 *
 * @throws {TypeError} when the source is not a valid regular expression, or could backtrack
 * for exponential or high-polynomial time (nested quantifiers, overlapping alternatives in a
 * repetition)
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
  let re: RegExp;
  try {
    new RegExp(source, "i");
    re = new RegExp(`^(?:${source})$`, "i");
  } catch (e) {
    throw new TypeError(`invalid regular expression ${JSON.stringify(source)}: ${(e as Error).message}`);
  }
  // it runs on names clients choose, on a backtracking engine: refuse what could stall it
  const problem = regexCostProblem(source);
  if (problem !== undefined) throw new TypeError(`regular expression ${JSON.stringify(source)} ${problem}`);
  return re;
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
