/**
 * The `responseTypes` condition of url rules: media ranges matched against the media types
 * the origin's response declares. Such a rule cannot be decided from the request; a request
 * the other url rules allow carries the ones that matched it ahead of the deciding rule
 * (`UrlDecision.byResponse`), and `decideResponse` settles them when the response head
 * arrives.
 *
 * A response may declare more than one type (several Content-Type fields, or a list): a deny
 * rule applies when any of them matches, an allow rule only when all do, so a second type
 * cannot carry a response past a deny.
 *
 * @example
 * ```ts
 * const verdict = compileUrlRules([{ id: "no-video", responseTypes: ["video/*"], action: "deny" }])
 *   .decide({ host: normalizeHost("tv.example"), path: "/", method: "GET" });
 * decideResponse(verdict, ["video/mp4"])?.reason; // 'url rule "no-video" matched response type "video/mp4" (pattern "video/*")'
 * decideResponse(verdict, ["text/html"]); // undefined: the request's decision stands
 * ```
 * @module
 */
import type { MediaRange, PendingResponseRule, UrlDecision } from "./types.ts";
import { urlRuleReason } from "./url-rule-reason.ts";

/** RFC 9110 §5.6.2 token. */
const TOKEN = "[!#$%&'*+.^_`|~0-9a-z-]+";
const RANGE_RE = new RegExp(`^(${TOKEN})/(${TOKEN})$`);

/** `undefined` when `text` is a media range a rule accepts, else why not. */
export function mediaRangeError(text: string): string | undefined {
  const got = JSON.stringify(text) ?? String(text);
  if (typeof text !== "string") return `expected a media type like "video/*" or "application/pdf", got ${got}`;
  const m = RANGE_RE.exec(text.toLowerCase());
  if (m === null) {
    const hint = text.includes(";") ? " (parameters such as charset are not matched: leave them out)" : "";
    return `expected a media type like "video/*" or "application/pdf", got ${got}${hint}`;
  }
  const [, type, subtype] = m as unknown as [string, string, string];
  if (type === "*" && subtype !== "*") return `expected "*/*" or a type before "/*", got ${got}`;
  if (type.includes("*") && type !== "*") return `"*" stands for a whole type or subtype, got ${got}`;
  if (subtype.includes("*") && subtype !== "*") return `"*" stands for a whole type or subtype, got ${got}`;
  return undefined;
}

/**
 * A media range (`"video/*"`, `"Application/PDF"`), lowercased.
 *
 * @throws {TypeError} with the reason of {@link mediaRangeError}
 */
export function parseMediaRange(text: string): MediaRange {
  const error = mediaRangeError(text);
  if (error !== undefined) throw new TypeError(error);
  const [type, subtype] = text.toLowerCase().split("/") as [string, string];
  return { type, subtype };
}

export function mediaRangeText(range: MediaRange): string {
  return `${range.type}/${range.subtype}`;
}

/** True when the media type `type/subtype` (lowercase, no parameters) is in `range`. */
export function mediaRangeMatches(range: MediaRange, mediaType: string): boolean {
  if (range.type === "*") return true;
  const slash = mediaType.indexOf("/");
  if (slash < 0 || mediaType.slice(0, slash) !== range.type) return false;
  return range.subtype === "*" || mediaType.slice(slash + 1) === range.subtype;
}

/** The first range of `rule` each of `types` falls in; undefined when the rule does not apply to them. */
function matchedRanges(rule: PendingResponseRule, types: readonly string[]): MediaRange[] | undefined {
  const hits: MediaRange[] = [];
  for (const t of types) {
    const hit = rule.types.find((r) => mediaRangeMatches(r, t));
    if (hit !== undefined) hits.push(hit);
    else if (rule.action === "allow") return undefined; // an allow must hold for every declared type
  }
  return hits.length > 0 ? hits : undefined;
}

function typeText(types: readonly string[], ranges: readonly MediaRange[]): string {
  const shown = types.map((t) => JSON.stringify(t)).join(", ");
  const patterns = [...new Set(ranges.map(mediaRangeText))];
  const same = types.length === 1 && patterns.length === 1 && patterns[0] === types[0];
  return `response type ${shown}${same ? "" : ` (pattern ${patterns.map((p) => JSON.stringify(p)).join(", ")})`}`;
}

/**
 * The decision of the first rule of `request.byResponse` that applies to a response of the
 * media types `types` (lowercase `type/subtype`, as `declaredMediaTypes` reads them), or
 * undefined when none does and the request's decision stands. A response another reading
 * of the request would deny (`byResponseOther`: the lenient reading of the path, override
 * fields) is denied.
 */
export function decideResponse(request: UrlDecision, types: readonly string[]): UrlDecision | undefined {
  const decided = firstApplying(request.byResponse, types);
  if (decided?.action === "deny") return decided;
  for (const other of request.byResponseOther ?? []) {
    const d = firstApplying(other, types);
    if (d?.action === "deny") return d;
  }
  return decided;
}

function firstApplying(rules: readonly PendingResponseRule[] | undefined, types: readonly string[]): UrlDecision | undefined {
  for (const rule of rules ?? []) {
    const hits = matchedRanges(rule, types);
    if (hits === undefined) continue;
    return {
      action: rule.action,
      ruleId: rule.id,
      reason: urlRuleReason(rule.id, [...rule.matched, typeText(types, hits)], rule.during + rule.note),
      log: rule.log,
      ...(rule.message !== undefined ? { message: rule.message } : {}),
    };
  }
  return undefined;
}
