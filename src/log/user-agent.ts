/**
 * The `User-Agent` a request named, as log lines record it: which software asked, for
 * audits and for telling a browser from a script. Bounded so that a client cannot make log
 * lines arbitrarily long.
 * @module
 */
import type { HeaderList } from "../protocol/http-headers.ts";

/** Characters of a User-Agent kept in a log line; longer ones end in "…". */
export const USER_AGENT_MAX = 256;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The request's first `User-Agent` field, at most {@link USER_AGENT_MAX} characters; null
 * without one. Field bytes are read as latin1 (RFC 9110 §5.5); bytes that are valid UTF-8,
 * as user agents with non-ASCII names send, are shown as the text they encode rather than
 * double-encoded (`Mozilla/5.0 (… Navegación)`), others as they are.
 */
export function userAgentOf(headers: HeaderList): string | null {
  const field = headers.getAll("user-agent")[0];
  if (field === undefined) return null;
  const value = asUtf8(field);
  if (value.length <= USER_AGENT_MAX) return value;
  let end = USER_AGENT_MAX - 1;
  // not between the two halves of a character outside the BMP
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${value.slice(0, end)}…`;
}

/** `latin1` (one byte per character) as the UTF-8 text its bytes are, when they are; else as it is. */
function asUtf8(latin1: string): string {
  // deno-lint-ignore no-control-regex -- ASCII only: nothing to decode
  if (/^[\x00-\x7f]*$/.test(latin1)) return latin1;
  try {
    return utf8.decode(Uint8Array.from(latin1, (c) => c.charCodeAt(0)));
  } catch {
    return latin1;
  }
}
