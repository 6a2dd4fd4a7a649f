/**
 * Request paths for url rules: safe normalisation of a request-target, and path patterns.
 *
 * Normalisation ({@link normalizeUrlPath}) — what a path is matched as:
 * 1. the query (from the first `?`) and a fragment are dropped;
 * 2. `%XX` escapes of unreserved characters (`A-Z a-z 0-9 - . _ ~`) are decoded, other
 *    escapes are kept with uppercase hex (`%2f` → `%2F`); nothing is decoded twice;
 * 3. dot-segments are resolved as in RFC 3986 §5.2.4 (`/a/../b` → `/b`, `/a/%2e%2e/b` → `/b`);
 * 4. nothing else changes: case is kept, `//` is not collapsed, `%2F` stays literal.
 *
 * Rules and routes for origins that do not tell `/Admin` from `/admin` (IIS, most Windows
 * and macOS file servers) match with `caseSensitive: false`: the normalised path and the
 * pattern are then both read with ASCII letters in lower case ({@link foldPathCase}),
 * escapes left alone (`%2F` stays `%2F`, so it is never read as `%2f` or `/`).
 *
 * Because origins differ in what they do with an encoded slash, a backslash, `;params` or
 * a run of slashes, a path containing `%2F`, `%5C`, `\`, `;` or `//` also gets a *lenient*
 * reading in which those act as `/` (a run of slashes as one, and `;…` is cut from each
 * segment), dot-segments resolved again. Url rules deny a request when either reading is
 * denied, so `/public/..%2Fadmin`, `/public/..;/admin` and `//admin` cannot slip past a
 * deny on `/admin`.
 *
 * Patterns ({@link parsePathPattern}) start with `/` and are normalised the same way:
 * - without `*`: the path itself or anything below it at a segment boundary
 *   (`/admin` matches `/admin`, `/admin/`, `/admin/x`, not `/administrator`);
 * - with `*`: a glob anchored at both ends; `*` matches within one segment, `**` across
 *   segments, and a whole `/**` segment matches zero or more segments (`/a/**` matches
 *   `/a`, `/a/`, `/a/b/c`; `/a/**` + `/z` matches `/a/z` and `/a/b/z`).
 *
 * Matching costs O(path × pattern) at most (a state-set simulation, no backtracking).
 * @module
 */

/** Longest path pattern accepted, in characters. */
export const MAX_PATH_PATTERN = 1024;

/** A path as url rules see it. */
export interface NormalizedPath {
  /** The normalised path (see the module doc). */
  readonly path: string;
  /** The lenient reading, when it differs from {@link path}. */
  readonly lenient?: string;
  /**
   * True when the target had dot-segments (`.`, `..`, also `%2E`-encoded) that resolving
   * removed: a server that takes the target as sent may read it as another place.
   */
  readonly dotSegments?: true;
}

/** A parsed path pattern. */
export type PathPattern =
  | { readonly kind: "prefix"; readonly source: string; readonly prefix: string }
  | { readonly kind: "glob"; readonly source: string; readonly tokens: Int32Array };

const SLASH = 47;
const STAR = -1;
const ANY = -2;
/** Either nothing, or "/" then {@link ANY} (always followed by an ANY token). */
const SLASH_OPT = -3;

const HEX = "0123456789ABCDEF";

function _hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

function _unreserved(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95 ||
    c === 126;
}

/**
 * Decode escapes of unreserved characters and uppercase the others.
 * @throws {SyntaxError} on a malformed escape or a character outside printable ASCII
 */
function _decodeUnreserved(text: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) {
      throw new SyntaxError(`character ${JSON.stringify(text[i])} at index ${i} is not allowed in a path`);
    }
    if (c !== 37) continue;
    const hi = _hex(text.charCodeAt(i + 1));
    const lo = _hex(text.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) throw new SyntaxError(`malformed percent-escape at index ${i}`);
    const byte = hi * 16 + lo;
    out += text.slice(from, i) + (_unreserved(byte) ? String.fromCharCode(byte) : `%${HEX[hi]}${HEX[lo]}`);
    from = i + 3;
    i += 2;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** Resolve "." and ".." segments (RFC 3986 §5.2.4) of a path starting with "/". */
export function removeDotSegments(path: string): string {
  const segments = path.slice(1).split("/");
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as string;
    if (s === "." || s === "..") {
      if (s === ".." && out.length > 0) out.pop();
      if (i === segments.length - 1) out.push("");
    } else out.push(s);
  }
  return `/${out.join("/")}`;
}

const LENIENT_RE = /%2f|%5c|\\|;|\/\//i;

function _lenient(path: string): string {
  const slashed = path.replace(/%2f|%5c|\\/gi, "/");
  const cut = slashed.split("/").map((segment) => {
    const semi = segment.indexOf(";");
    return semi < 0 ? segment : segment.slice(0, semi);
  });
  // runs of slashes as one, as nginx (merge_slashes), Apache and Tomcat read them
  return removeDotSegments(cut.join("/").replace(/\/{2,}/g, "/"));
}

/**
 * Normalise a request-target for url rules (see the module doc). The asterisk-form `*`
 * is returned as is (it matches no path pattern).
 *
 * @throws {SyntaxError} when the target is not an origin-form path (no leading "/"),
 * has a malformed `%` escape, or a character outside printable ASCII
 *
 * @example
 * ```ts
 * normalizeUrlPath("/a/%2E%2e/b%7e?x=1"); // { path: "/b~" }
 * normalizeUrlPath("/public/..%2fadmin"); // { path: "/public/..%2Fadmin", lenient: "/admin" }
 * ```
 */
export function normalizeUrlPath(target: string): NormalizedPath {
  const end = target.search(/[?#]/);
  const raw = end < 0 ? target : target.slice(0, end);
  if (raw === "*" && end < 0) return { path: "*" };
  if (raw.charCodeAt(0) !== SLASH) {
    throw new SyntaxError(`expected a path starting with "/", got ${JSON.stringify(raw.slice(0, 64))}`);
  }
  const decoded = _decodeUnreserved(raw);
  const path = removeDotSegments(decoded);
  const dots = path === decoded ? {} : { dotSegments: true as const };
  if (!LENIENT_RE.test(decoded)) return { path, ...dots };
  // from before the dot-segments: a ".." after "//" goes up a segment where slashes merge
  const lenient = _lenient(decoded);
  return lenient === path ? { path, ...dots } : { path, lenient, ...dots };
}

/**
 * A normalised path (or pattern text) with its ASCII letters in lower case, except the hex
 * digits of `%XX` escapes, which normalisation keeps in upper case on both sides.
 *
 * @example
 * ```ts
 * foldPathCase("/Admin/%C3%A9"); // "/admin/%C3%A9"
 * ```
 */
export function foldPathCase(path: string): string {
  if (!/[A-Z]/.test(path)) return path;
  let out = "";
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 37) {
      out += path.slice(i, i + 3);
      i += 2;
    } else out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : path[i];
  }
  return out;
}

/**
 * Parse a path pattern (see the module doc); with `foldCase` it matches paths read by
 * {@link foldPathCase} (its `source` stays as written).
 *
 * @throws {SyntaxError} naming the pattern, e.g. `expected a path starting with "/", got "admin"`
 *
 * @example
 * ```ts
 * const p = parsePathPattern("/api/*" + "/private");
 * pathPatternMatches(p, "/api/v1/private"); // true
 * pathPatternMatches(p, "/api/v1/x/private"); // false
 * ```
 */
export function parsePathPattern(source: string, foldCase = false): PathPattern {
  const got = JSON.stringify(source) ?? String(source);
  if (typeof source !== "string" || source.charCodeAt(0) !== SLASH) {
    throw new SyntaxError(`expected a path starting with "/", got ${got}`);
  }
  if (source.length > MAX_PATH_PATTERN) throw new SyntaxError(`expected a path pattern of at most ${MAX_PATH_PATTERN} characters, got ${got.slice(0, 40)}…`);
  if (source.includes("?") || source.includes("#")) throw new SyntaxError(`expected a path without a query or fragment, got ${got}`);
  let text: string;
  try {
    text = _decodeUnreserved(source);
  } catch (e) {
    throw new SyntaxError(`expected a path pattern, got ${got} (${(e as Error).message})`);
  }
  if (foldCase) text = foldPathCase(text);
  const segments = text.slice(1).split("/");
  for (const segment of segments) {
    if (segment === "." || segment === "..") throw new SyntaxError(`expected a path pattern without "." or ".." segments, got ${got}`);
    if (segment.includes("***")) throw new SyntaxError(`expected "*" or "**", not "***", got ${got}`);
  }
  if (!text.includes("*")) return { kind: "prefix", source, prefix: text };
  const tokens: number[] = [];
  for (const segment of segments) {
    if (segment === "**") {
      tokens.push(SLASH_OPT, ANY);
      continue;
    }
    tokens.push(SLASH);
    for (let i = 0; i < segment.length; i++) {
      const c = segment.charCodeAt(i);
      if (c !== 42) tokens.push(c);
      else if (segment.charCodeAt(i + 1) === 42) {
        tokens.push(ANY);
        i++;
      } else tokens.push(STAR);
    }
  }
  return { kind: "glob", source, tokens: Int32Array.from(tokens) };
}

/** `undefined` when `source` is a valid path pattern, else the reason. */
export function pathPatternError(source: string): string | undefined {
  try {
    parsePathPattern(source);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function _close(tokens: Int32Array, states: Uint8Array): void {
  for (let p = 0; p < tokens.length; p++) {
    if (states[p] === 0) continue;
    const t = tokens[p] as number;
    if (t === STAR || t === ANY) states[p + 1] = 1;
    else if (t === SLASH_OPT) states[p + 2] = 1;
  }
}

function _glob(tokens: Int32Array, path: string): boolean {
  const m = tokens.length;
  let cur = new Uint8Array(m + 1);
  let next = new Uint8Array(m + 1);
  cur[0] = 1;
  _close(tokens, cur);
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    next.fill(0);
    let alive = false;
    for (let p = 0; p < m; p++) {
      if (cur[p] === 0) continue;
      const t = tokens[p] as number;
      if (t >= 0 ? t === c : t === ANY || (t === STAR ? c !== SLASH : c === SLASH)) {
        next[t === STAR || t === ANY ? p : p + 1] = 1;
        alive = true;
      }
    }
    if (!alive) return false;
    _close(tokens, next);
    [cur, next] = [next, cur];
  }
  return cur[m] === 1;
}

/** True when the normalised `path` matches `pattern`. */
export function pathPatternMatches(pattern: PathPattern, path: string): boolean {
  if (pattern.kind === "glob") return _glob(pattern.tokens, path);
  const prefix = pattern.prefix;
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || prefix.charCodeAt(prefix.length - 1) === SLASH ||
    path.charCodeAt(prefix.length) === SLASH;
}
