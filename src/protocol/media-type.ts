/**
 * The media types a message declares (RFC 9110 §8.3), as url rules' `responseTypes` read
 * them: lowercase `type/subtype`, parameters dropped.
 *
 * @module
 */

/** The type RFC 9110 §8.3 lets a recipient assume for content without a (readable) Content-Type. */
export const DEFAULT_MEDIA_TYPE = "application/octet-stream";

const MEDIA_TYPE_RE = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** At most this many types are read from one message (a head is bounded anyway). */
const MAX_TYPES = 16;

/**
 * The media types in `values`, the message's Content-Type field values: each value is split
 * at commas outside quoted strings (a list, or fields folded into one), each item is read up
 * to its parameters. Items that are no media type are skipped; when none is left (no field,
 * or only malformed ones) the answer is {@link DEFAULT_MEDIA_TYPE}. Duplicates are dropped.
 *
 * @example
 * ```ts
 * declaredMediaTypes(['Text/HTML; charset="a,b"']); // ["text/html"]
 * declaredMediaTypes([]); // ["application/octet-stream"]
 * ```
 */
export function declaredMediaTypes(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    for (const item of splitOutsideQuotes(value)) {
      const semi = item.indexOf(";");
      const type = (semi < 0 ? item : item.slice(0, semi)).trim().toLowerCase();
      if (MEDIA_TYPE_RE.test(type) && !out.includes(type)) out.push(type);
      if (out.length === MAX_TYPES) return out;
    }
  }
  return out.length > 0 ? out : [DEFAULT_MEDIA_TYPE];
}

/** `value` split at commas that are not inside a quoted string (`\` escapes within quotes). */
function splitOutsideQuotes(value: string): string[] {
  const items: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted && c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (c === "," && !quoted) {
      items.push(value.slice(start, i));
      start = i + 1;
    }
  }
  items.push(value.slice(start));
  return items;
}
