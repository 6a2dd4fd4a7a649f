/** Readable issue messages and paths for config validation. */

/** A path item as valibot reports it (only `key` matters here). */
export interface PathItemLike {
  readonly key: unknown;
}

const IDENTIFIER_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Describe a value for a "got …" message: strings and numbers as JSON, containers by kind.
 *
 * @example
 * ```ts
 * describeValue(3128); // "3128"
 * describeValue("x"); // '"x"'
 * describeValue(undefined); // "nothing"
 * ```
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 76)}…"` : json;
  }
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

/**
 * Format an issue path: object keys joined with dots (or `["key"]` when not an identifier),
 * array indexes as `[n]`.
 *
 * @example
 * ```ts
 * formatPath([{ key: "policy" }, { key: "rules" }, { key: 2 }, { key: "hosts" }, { key: 0 }]);
 * // "policy.rules[2].hosts[0]"
 * ```
 */
export function formatPath(path: readonly PathItemLike[] | undefined): string {
  let out = "";
  for (const { key } of path ?? []) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && IDENTIFIER_RE.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/**
 * The known key closest to a mistyped one (edit distance at most 2, or same letters in
 * another case), for a "did you mean" hint.
 *
 * @example
 * ```ts
 * suggestKey("acton", ["id", "action"]); // "action"
 * ```
 */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
