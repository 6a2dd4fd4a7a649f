/**
 * A rule's `message`: what a user it denies is told, on the block page and in the 403 body
 * (e.g. "Streaming sites are blocked during work hours; ask it@example.com"). Plain text: the
 * block page escapes it. One to 1000 characters, line breaks allowed, no other control
 * characters, no lone UTF-16 surrogate (half of a character, such as an emoji cut in two).
 */
export const MAX_MESSAGE_LENGTH = 1000;

/** `undefined` when `value` is a valid message, else why not. */
export function messageError(value: unknown): string | undefined {
  if (typeof value !== "string") return `expected a message (a string), got ${JSON.stringify(value) ?? String(value)}`;
  if (value.length === 0 || value.length > MAX_MESSAGE_LENGTH) {
    return `expected a message of 1 to ${MAX_MESSAGE_LENGTH} characters, got ${value.length}`;
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x09\x0b-\x1f\x7f]/.test(value)) return "expected a message without control characters (line breaks are fine)";
  const half = /\p{Surrogate}/u.exec(value);
  if (half !== null) return `expected a message of whole characters, got half of one (a lone surrogate) at character ${half.index + 1}`;
  return undefined;
}
