/**
 * A host regex the backtracking check (`src/policy/regex-cost.ts`) cannot finish within its
 * budget of steps, though it is short (341 characters, within a host regex's 1024): runs that
 * part in `(?:ab|a)+` ("ab", or "a" and then any character) go on into four layers of 40
 * alternatives that each match any character, and the check follows every pair of them,
 * layer after layer (about 8 million steps).
 *
 * @module
 */

/** `(?:ab|a)+` and four layers of `(?:.|.|…)` (40 dots each). */
export const TOO_COSTLY = `(?:ab|a)+${`(?:${Array(40).fill(".").join("|")})`.repeat(4)}`;
