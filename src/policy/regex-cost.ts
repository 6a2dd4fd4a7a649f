/**
 * A static check that refuses host regexes which a backtracking engine (V8's Irregexp, JSC's
 * YARR: the runtimes' `RegExp`) could run for exponential or high-polynomial time on a name a
 * client chooses (a CONNECT host, a SOCKS name, an SNI), before any name reaches them.
 *
 * It works on the source's positions ({@link regexPositions}), with two rules:
 * - **Inside a repeated group** (`*`, `+`, `{m,}`, `{m,n}` with n ≥ 2) every choice must be
 *   decided by the text: going on in a varying part (`*`, `+`, `?`, `{m,n}`, an empty
 *   alternative) or leaving it, taking one alternative or another. Two runs that part at the
 *   choice must never reach the same position again after reading the same text; otherwise a
 *   name splits across the iterations in exponentially many ways. Refused:
 *   `([a-z0-9-]+\.?)*`, `(\w+)+`, `(.*\.)*`, `(a|aa)+`. Accepted: `(?:[a-z0-9-]+\.)*` (an
 *   iteration ends at a dot its label cannot contain), `(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+`.
 * - **Elsewhere** a varying part whose end is not pinned (a later part can take its last
 *   character before a character the part cannot match comes) is retried at each length on a
 *   name that fails while the later parts go on: about 254 times for `*` or `+` on a name of
 *   at most 253 characters, twice for `?`. The product is capped at {@link MAX_TRIES}: two
 *   `.*` before a literal pass, three do not.
 *
 * The check errs on the side of refusing. It models character classes, groups, alternation
 * and quantifiers; lookarounds are checked as sources of their own and a backreference counts
 * as `.*`.
 * @module
 */

import { type CharSet, END, type RegexNode, regexPositions } from "./regex-positions.ts";

/** Most retries an unpinned part may multiply to (about two `.*`, times 64). */
export const MAX_TRIES = 254 * 254 * 64;

/** Most steps the check takes on one source, so a pathological one cannot stall a config load; past it, it refuses. */
const MAX_STEPS = 5_000_000;

/** What the check may still spend on a source. */
interface Budget {
  steps: number;
}

class TooComplex extends Error {}

function _spend(budget: Budget, n: number): void {
  budget.steps -= n;
  if (budget.steps < 0) throw new TooComplex();
}

function _varies(n: RegexNode): boolean {
  return (n.kind === "rep" && n.min !== n.max) || (n.kind === "alt" && n.nullable);
}

/**
 * Whether the text `n` matches can end at one place only: no position that can follow it, up
 * to a character `n` cannot match, can match the last character of `n`. An unpinned part is
 * retried at every length on a failing name while the parts after it go on matching.
 */
function _pinned(n: RegexNode, sets: readonly CharSet[], follow: readonly (readonly number[])[], budget: Budget): boolean {
  const seen = new Set<number>();
  const queue = [...n.after];
  while (queue.length > 0) {
    const q = queue.pop() as number;
    if (q === END || seen.has(q)) continue;
    seen.add(q);
    const c = sets[q] ?? 0n;
    if ((c & n.lastChars) !== 0n) return false;
    if ((c & n.chars) === 0n) continue;
    const next = follow[q] ?? [];
    _spend(budget, next.length);
    queue.push(...next);
  }
  return true;
}

/**
 * Whether two runs that part at a choice, one going on to a position of `left` and the other
 * to one of `right` on the same character, can reach the same position again after reading
 * the same text (or both end there): then one text has two matches through that choice.
 */
function _rejoins(
  left: readonly number[],
  right: readonly number[],
  sets: readonly CharSet[],
  follow: readonly (readonly number[])[],
  budget: Budget,
): boolean {
  const n = sets.length;
  const seen = new Set<number>();
  const queue: number[] = [];
  const visit = (us: readonly number[], vs: readonly number[]): boolean => {
    _spend(budget, us.length * vs.length);
    for (const u of us) {
      for (const v of vs) {
        if (u === END || v === END) {
          if (u === v) return true;
          continue;
        }
        if (u === v) return true;
        if (((sets[u] ?? 0n) & (sets[v] ?? 0n)) === 0n || seen.has(u * n + v)) continue;
        seen.add(u * n + v);
        queue.push(u, v);
      }
    }
    return false;
  };
  if (visit(left, right)) return true;
  while (queue.length > 0) {
    const v = queue.pop() as number;
    const u = queue.pop() as number;
    if (visit(follow[u] ?? [], follow[v] ?? [])) return true;
  }
  return false;
}

/**
 * The problem with `source` (already known to be a valid regular expression), or undefined
 * when it runs in bounded time. The text says why and how to fix it.
 */
export function regexCostProblem(source: string): string | undefined {
  try {
    return _problem(source, { steps: MAX_STEPS });
  } catch (e) {
    if (!(e instanceof TooComplex)) throw e;
    return `is too complex to check for backtracking cost (more than ${MAX_STEPS} steps); split it into several simpler regexes, or use host patterns`;
  }
}

function _problem(source: string, budget: Budget): string | undefined {
  const { roots, nodes, sets, follow } = regexPositions(source);
  const q = (n: RegexNode) => JSON.stringify(source.slice(n.start, n.end));
  // a choice between going on in `n` and leaving it
  const ambiguous = (n: RegexNode) => _rejoins(n.after, n.first, sets, follow, budget);
  for (let r = 0; r < roots.length; r++) {
    const root = roots[r] as RegexNode;
    for (const n of nodes[r] ?? []) {
      const rep = n.rep;
      if (rep === undefined) continue;
      if (n.kind === "alt") {
        const alts = n.items;
        for (let a = 0; a < alts.length; a++) {
          for (let b = a + 1; b < alts.length; b++) {
            if (_rejoins((alts[a] as RegexNode).first, (alts[b] as RegexNode).first, sets, follow, budget)) {
              return `can take exponential time: the alternatives ${q(alts[a] as RegexNode)} and ${q(alts[b] as RegexNode)} inside the repeated ${q(rep)} can match the same text, so a name splits between them in exponentially many ways; make the alternatives exclusive (start them differently, or merge them into one character class)`;
            }
          }
        }
      }
      if (_varies(n) && ambiguous(n)) {
        const safe = JSON.stringify("(?:[a-z0-9-]+\\.)*example\\.com");
        return `can take exponential time: ${q(n)}, nested in the repeated ${q(rep)}, can end at more than one place, so a name splits across the repetitions in exponentially many ways; end each repetition at a character its inner part cannot match, e.g. ${safe} for example.com and its subdomains`;
      }
    }
    const culprits: RegexNode[] = [];
    const tries = (n: RegexNode): number => {
      if (n.kind === "char" || n.kind === "empty") return 1;
      const inner = n.items.map(tries);
      if (n.kind === "seq") return inner.reduce((a, b) => a * b, 1);
      if (n.kind === "alt") return n.rep === undefined ? inner.reduce((a, b) => a + b, 0) : Math.max(...inner);
      if (!_varies(n) || n.rep !== undefined || _pinned(n, sets, follow, budget)) return inner[0] ?? 1;
      culprits.push(n);
      return (Math.min(n.max - n.min, 253) + 1) * (inner[0] ?? 1);
    };
    const total = tries(root);
    if (total > MAX_TRIES) {
      const named = culprits.slice(0, 4).map(q).join(", ") + (culprits.length > 4 ? ", …" : "");
      return `can take polynomial time on a name it does not match: ${named} can each match the same characters in turn (about ${total.toPrecision(2)} ways to try); make them exclusive, e.g. "[^.]*" or "[a-z0-9-]+" (one label) instead of ".*"`;
    }
  }
  return undefined;
}
