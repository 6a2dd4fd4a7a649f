/**
 * The reason text of a url rule's decision, shared by the rules decided from the request
 * (`url-rules.ts`) and those decided by the response's type (`response-types.ts`).
 *
 * @module
 */

/**
 * `url rule "ID" matched A, B and C` then `tail` (a schedule's ` during …`, a note on how the
 * path was read); no parts: `matched any request`.
 *
 * @example
 * ```ts
 * urlRuleReason("no-admin", ['path "/admin"', "method GET"]); // 'url rule "no-admin" matched path "/admin" and method GET'
 * ```
 */
export function urlRuleReason(id: string, parts: readonly string[], tail = ""): string {
  const joined = parts.length === 0
    ? "any request"
    : parts.length === 1
    ? parts[0]
    : `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
  return `url rule ${JSON.stringify(id)} matched ${joined}${tail}`;
}
