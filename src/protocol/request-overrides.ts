/**
 * Fields some servers and frameworks take as a request's real method or path, in place of
 * the request line's: method-override middleware (`X-HTTP-Method-Override`, `X-HTTP-Method`,
 * `X-Method-Override`: Express, Symfony, ASP.NET, Google APIs) and IIS / Symfony's
 * `X-Original-URL` and `X-Rewrite-URL`. Also their look-alikes with `_` for `-`
 * (`X_Original_URL`), which CGI-style servers read as the same field, and the `_method`
 * query parameter (Express's method-override, Symfony and Laravel).
 *
 * A gateway that judges only the request line can be walked past: `POST /upload` with
 * `X-HTTP-Method-Override: DELETE`, or `GET /public` with `X-Original-URL: /admin`. The url
 * rules therefore judge each {@link requestOverrides other reading} too.
 * @module
 */
import { isToken, splitList } from "./http-head.ts";
import type { HeaderList } from "./http-headers.ts";

/** Fields that name another method (lower case). */
export const METHOD_OVERRIDE_FIELDS: readonly string[] = Object.freeze(["x-http-method-override", "x-http-method", "x-method-override"]);

/** Fields that name another path (lower case). */
export const PATH_OVERRIDE_FIELDS: readonly string[] = Object.freeze(["x-original-url", "x-rewrite-url"]);

/**
 * Most distinct methods, and most distinct paths, one request may name in override fields:
 * a client names one; each more multiplies what the url rules judge.
 */
export const MAX_OVERRIDES = 2;

/** One value of an override field. */
export interface RequestOverride {
  /** The field as the client spelled its name. */
  readonly field: string;
  readonly value: string;
}

/** The other methods and paths a request names, each once; `tooMany` when it names more than {@link MAX_OVERRIDES} of either. */
export interface RequestOverrides {
  /** Uppercase method tokens other than the request line's (at most {@link MAX_OVERRIDES}). */
  readonly methods: readonly RequestOverride[];
  /** Values other than the request line's target, as sent (at most {@link MAX_OVERRIDES}). */
  readonly paths: readonly RequestOverride[];
  /** Set when the request names more methods or paths than that (reading stopped there). */
  readonly tooMany?: "methods" | "paths";
}

const NONE: RequestOverrides = Object.freeze({ methods: [], paths: [] });

function kind(name: string): "method" | "path" | undefined {
  const n = name.toLowerCase().replaceAll("_", "-");
  if (METHOD_OVERRIDE_FIELDS.includes(n)) return "method";
  if (PATH_OVERRIDE_FIELDS.includes(n)) return "path";
  return undefined;
}

/** Query parameter method-override middleware reads (`?_method=DELETE`). */
export const METHOD_PARAMETER = "_method";

/** `+` as a space and `%XX` as the character with that code, a malformed escape kept as sent (as PHP and `qs` do). */
function formDecoded(text: string): string {
  if (!text.includes("%") && !text.includes("+")) return text;
  return text.replaceAll("+", " ").replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * True when a query key, decoded, is {@link METHOD_PARAMETER} to some server: as sent, with
 * an array suffix (`_method[]`, `_method[0]`), or as PHP reads keys (leading spaces
 * dropped, a space, `.` or lone `[` taken as `_`: `?.method=` is `$_GET["_method"]`).
 */
function isMethodKey(raw: string): boolean {
  const key = formDecoded(raw).replace(/^ +/, "");
  const bracket = key.indexOf("[");
  const name = bracket >= 0 && key.indexOf("]", bracket) > bracket ? key.slice(0, bracket) : key;
  return name.replace(/[ .[]/g, "_") === METHOD_PARAMETER;
}

/** The `_method` parameters of `target`'s query, each `[key as sent, value decoded]`. */
function methodParameters(target: string): [string, string][] {
  const hash = target.indexOf("#");
  const end = hash < 0 ? target.length : hash;
  const q = target.indexOf("?");
  if (q < 0 || q > end) return [];
  const query = target.slice(q + 1, end);
  if (!query.includes("%") && !query.includes("method")) return [];
  const found: [string, string][] = [];
  // `;` separates too for servers of old (Rack before 3): splitting at both reads a superset
  for (const pair of query.split(/[&;]/)) {
    const eq = pair.indexOf("=");
    if (eq > 0 && isMethodKey(pair.slice(0, eq))) found.push([pair.slice(0, eq), formDecoded(pair.slice(eq + 1))]);
  }
  return found;
}

/**
 * The override fields of a request with the request line's `method` and `target`, and the
 * `_method` parameters of its query (a field named `?` and the key as sent). A method
 * value that is not a token is left out (no server can take it as a method); a field's list
 * (`DELETE, PUT`) gives each. Path values are taken whole. Reading stops at the first value
 * past {@link MAX_OVERRIDES}, so its cost is bounded by the head's size, not its square.
 *
 * The query is read whatever the request line's method, though frameworks take `_method`
 * only from a `POST` by default: some can be told to from any.
 *
 * @example
 * ```ts
 * requestOverrides(new HeaderList([["X-HTTP-Method-Override", "delete"]]), "POST", "/a");
 * // { methods: [{ field: "X-HTTP-Method-Override", value: "DELETE" }], paths: [] }
 * ```
 */
export function requestOverrides(headers: HeaderList, method: string, target: string): RequestOverrides {
  let methods: RequestOverride[] | undefined;
  let paths: RequestOverride[] | undefined;
  const own = method.toUpperCase();
  /** Adds `value` as a method; false when that makes one too many. */
  const addMethod = (field: string, value: string): boolean => {
    const m = value.toUpperCase();
    if (m === own || !isToken(m) || methods?.some((o) => o.value === m)) return true;
    (methods ??= []).push({ field, value: m });
    return methods.length <= MAX_OVERRIDES;
  };
  const tooManyMethods = (): RequestOverrides => ({ methods: methods!.slice(0, MAX_OVERRIDES), paths: paths ?? [], tooMany: "methods" });
  for (const [key, value] of methodParameters(target)) if (!addMethod(`?${key}`, value)) return tooManyMethods();
  for (const [field, value] of headers.entries) {
    const k = field.length >= 13 && (field.charCodeAt(0) | 0x20) === 0x78 ? kind(field) : undefined; // all start with x, the shortest has 13 characters
    if (k === "method") {
      for (const item of splitList(value)) if (!addMethod(field, item)) return tooManyMethods();
    } else if (k === "path" && value !== target && !paths?.some((o) => o.value === value)) {
      (paths ??= []).push({ field, value });
      if (paths.length > MAX_OVERRIDES) return { methods: methods ?? [], paths: paths.slice(0, MAX_OVERRIDES), tooMany: "paths" };
    }
  }
  return methods === undefined && paths === undefined ? NONE : { methods: methods ?? [], paths: paths ?? [] };
}
