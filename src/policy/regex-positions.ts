/**
 * Host regex sources as Glushkov positions, for the cost check in `regex-cost.ts`: one
 * position per character atom, with the set of ASCII characters it matches (letters in both
 * cases, as the `i` flag does), the positions that can follow each one, and the syntax tree
 * with, for each node, whether it can match the empty text, its first and last positions and
 * the positions that can come after it.
 *
 * The syntax is JavaScript's without the `u` flag (as host regexes are compiled); the source
 * must be one `new RegExp(source, "i")` accepts. Lookarounds are zero-width here and their
 * bodies become roots of their own; a backreference is modelled as `.*` (it matches a text
 * of any length).
 * @module
 */

/** A set of ASCII characters: bit c for character code c. */
export type CharSet = bigint;
/** Every ASCII character. */
export const ALL: CharSet = (1n << 128n) - 1n;
/** The end of the text, in follow lists. */
export const END = -1;

/** A syntax node's kind. */
export type Kind = "char" | "seq" | "alt" | "rep" | "empty";

/** A syntax node: `char` is one position, `rep` a quantifier over `items[0]`, `empty` zero-width. */
export interface RegexNode {
  readonly kind: Kind;
  /** Where the node is in the source (`source.slice(start, end)`). */
  readonly start: number;
  readonly end: number;
  /** A sequence's parts, an alternation's alternatives, a quantifier's body. */
  readonly items: readonly RegexNode[];
  /** A `char` node's characters. */
  readonly set: CharSet;
  /** A quantifier's counts (`max` may be Infinity). */
  readonly min: number;
  readonly max: number;
  /** A `char` node's position. */
  readonly pos: number;
  /** Whether it can match the empty text. */
  nullable: boolean;
  /** The positions a match can start / end with. */
  first: number[];
  last: number[];
  /** The characters any of its positions / its last positions match. */
  chars: CharSet;
  lastChars: CharSet;
  /** The positions (or {@link END}) that can come right after a match of it. */
  after: number[];
  /** The innermost repeated group holding this node. */
  rep: RegexNode | undefined;
}

function node(kind: Kind, start: number, end: number, items: readonly RegexNode[] = [], set: CharSet = 0n, min = 1, max = 1, pos = -1): RegexNode {
  return {
    kind, start, end, items, set, min, max, pos,
    nullable: true, first: [], last: [], chars: 0n, lastChars: 0n, after: [], rep: undefined,
  };
}

const bit = (c: number): CharSet => (c >= 0 && c < 128 ? 1n << BigInt(c) : 0n);

function _range(lo: number, hi: number): CharSet {
  let s = 0n;
  for (let c = lo; c <= hi && c < 128; c++) s |= bit(c);
  return s;
}

const DIGIT = _range(48, 57);
const WORD = DIGIT | _range(65, 90) | _range(97, 122) | bit(95);
const SPACE = _range(9, 13) | bit(32);
const DOT = ALL & ~(bit(10) | bit(13));

function _fold(s: CharSet): CharSet {
  let out = s;
  for (let c = 65; c <= 90; c++) if ((s & (bit(c) | bit(c + 32))) !== 0n) out |= bit(c) | bit(c + 32);
  return out;
}

const CLASS_ESCAPES: Readonly<Record<string, CharSet>> = {
  d: DIGIT, D: ALL & ~DIGIT, w: WORD, W: ALL & ~WORD, s: SPACE, S: ALL & ~SPACE,
};
const CONTROL: Readonly<Record<string, number>> = { f: 12, n: 10, r: 13, t: 9, v: 11, "0": 0 };

/** Parser for sources `new RegExp(source, "i")` accepted (so malformed input is not expected). */
class Parser {
  i = 0;
  readonly sets: CharSet[] = [];
  readonly lookarounds: RegexNode[] = [];
  readonly #groups: number;
  readonly #named: boolean;
  readonly s: string;

  constructor(s: string) {
    this.s = s;
    const opens = s.match(/\\.|\[(?:\\.|[^\]\\])*\]|\((?!\?)|\(\?<(?![=!])/g) ?? [];
    this.#groups = opens.filter((t) => t.startsWith("(")).length;
    this.#named = opens.some((t) => t === "(?<");
  }

  #char(start: number, set: CharSet): RegexNode {
    this.sets.push(_fold(set));
    return node("char", start, this.i, [], _fold(set), 1, 1, this.sets.length - 1);
  }

  alt(): RegexNode {
    const start = this.i;
    const alts = [this.seq()];
    while (this.s[this.i] === "|") {
      this.i++;
      alts.push(this.seq());
    }
    return alts.length === 1 ? alts[0] as RegexNode : node("alt", start, this.i, alts);
  }

  seq(): RegexNode {
    const start = this.i;
    const items: RegexNode[] = [];
    while (this.i < this.s.length && this.s[this.i] !== "|" && this.s[this.i] !== ")") items.push(this.#quantified());
    return items.length === 1 ? items[0] as RegexNode : node("seq", start, this.i, items);
  }

  #quantified(): RegexNode {
    const atom = this.#atom();
    const rest = this.s.slice(this.i);
    const m = /^(?:([*+?])|\{(\d+)(,(\d*))?\})/.exec(rest);
    if (m === null) return atom;
    this.i += m[0].length;
    if (this.s[this.i] === "?") this.i++; // lazy: the same ambiguity
    if (atom.kind === "empty") return atom; // a quantified assertion is still zero-width
    const min = m[1] === "+" ? 1 : m[1] !== undefined ? 0 : Number(m[2]);
    const max = m[1] === "?" ? 1 : m[1] !== undefined ? Infinity : m[3] === undefined ? min : m[4] === "" ? Infinity : Number(m[4]);
    return node("rep", atom.start, this.i, [atom], 0n, min, max);
  }

  #atom(): RegexNode {
    const s = this.s;
    const start = this.i;
    const c = s[this.i++] as string;
    if (c === "(") return this.#group(start);
    if (c === "[") return this.#char(start, this.#class());
    if (c === ".") return this.#char(start, DOT);
    if (c === "^" || c === "$") return node("empty", start, this.i);
    if (c !== "\\") return this.#char(start, bit(c.charCodeAt(0)));
    const e = s[this.i++] ?? "\\";
    if (e === "b" || e === "B") return node("empty", start, this.i);
    if (/[1-9]/.test(e)) {
      while (/[0-9]/.test(s[this.i] ?? "")) this.i++;
      const n = Number(s.slice(start + 1, this.i));
      return n <= this.#groups ? this.#backref(start) : this.#char(start, ALL);
    }
    if (e === "k" && this.#named && s[this.i] === "<") {
      this.i = s.indexOf(">", this.i) + 1 || s.length;
      return this.#backref(start);
    }
    return this.#char(start, this.#escape(e));
  }

  /** A backreference matches a text of any length: model it as `.*`. */
  #backref(start: number): RegexNode {
    const any = this.#char(start, ALL);
    return node("rep", start, this.i, [any], 0n, 0, Infinity);
  }

  /** The set of the escape `\e` (the `\` and `e` read). */
  #escape(e: string): CharSet {
    const cls = CLASS_ESCAPES[e];
    if (cls !== undefined) return cls;
    const ctl = CONTROL[e];
    if (ctl !== undefined) return bit(ctl);
    const hex = e === "x" ? 2 : e === "u" ? 4 : 0;
    if (hex > 0 && new RegExp(`^[0-9a-fA-F]{${hex}}`).test(this.s.slice(this.i))) {
      this.i += hex;
      return bit(parseInt(this.s.slice(this.i - hex, this.i), 16));
    }
    if (e === "c" && /[a-zA-Z]/.test(this.s[this.i] ?? "")) return bit(this.s.charCodeAt(this.i++) % 32);
    return bit(e.charCodeAt(0));
  }

  #class(): CharSet {
    const s = this.s;
    const negate = s[this.i] === "^";
    if (negate) this.i++;
    let set = 0n;
    while (this.i < s.length && s[this.i] !== "]") {
      const a = this.#classAtom();
      if (s[this.i] === "-" && s[this.i + 1] !== "]" && this.i + 1 < s.length) {
        this.i++;
        const b = this.#classAtom();
        set |= a.code >= 0 && b.code >= 0 ? _range(a.code, b.code) : a.set | bit(45) | b.set;
      } else {
        set |= a.set;
      }
    }
    this.i++;
    const folded = _fold(set);
    return negate ? ALL & ~folded : folded;
  }

  #classAtom(): { set: CharSet; code: number } {
    const c = this.s[this.i++] as string;
    if (c !== "\\") return { set: bit(c.charCodeAt(0)), code: c.charCodeAt(0) };
    const e = this.s[this.i++] ?? "\\";
    if (e === "b") return { set: bit(8), code: 8 };
    const set = this.#escape(e);
    const single = CLASS_ESCAPES[e] === undefined && (set & (set - 1n)) === 0n;
    return { set, code: single ? set.toString(2).length - 1 : -1 };
  }

  #group(start: number): RegexNode {
    const s = this.s;
    let look = false;
    if (s[this.i] === "?") {
      const m = /^\?(?:(<?[=!])|<[^>]*>|[a-z-]*:)/.exec(s.slice(this.i));
      this.i += m === null ? 1 : m[0].length;
      look = m?.[1] !== undefined;
    }
    const body = this.alt();
    this.i++; // ")"
    if (look) {
      this.lookarounds.push(body);
      return node("empty", start, this.i);
    }
    return node("seq", start, this.i, [body]);
  }
}

function _union(a: readonly number[], b: readonly number[]): number[] {
  return [...new Set([...a, ...b])];
}

/** Bottom-up: nullable, first/last positions and character sets. */
function _measure(n: RegexNode, sets: readonly CharSet[]): void {
  for (const item of n.items) _measure(item, sets);
  const items = n.items;
  switch (n.kind) {
    case "char":
      n.nullable = false;
      n.first = [n.pos];
      n.last = [n.pos];
      break;
    case "empty":
      break;
    case "seq":
      n.nullable = items.every((x) => x.nullable);
      for (const x of items) {
        n.first = _union(n.first, x.first);
        if (!x.nullable) break;
      }
      for (let k = items.length - 1; k >= 0; k--) {
        const x = items[k] as RegexNode;
        n.last = _union(n.last, x.last);
        if (!x.nullable) break;
      }
      break;
    case "alt":
      n.nullable = items.some((x) => x.nullable);
      for (const x of items) {
        n.first = _union(n.first, x.first);
        n.last = _union(n.last, x.last);
      }
      break;
    case "rep": {
      const body = items[0] as RegexNode;
      n.nullable = n.min === 0 || body.nullable;
      n.first = body.first;
      n.last = body.last;
      break;
    }
  }
  n.chars = n.kind === "char" ? n.set : items.reduce((acc, x) => acc | x.chars, 0n);
  n.lastChars = n.last.reduce((acc, p) => acc | (sets[p] ?? 0n), 0n);
}

/** Top-down: the positions that can come after each node (`follow` for a position). */
function _place(n: RegexNode, after: number[], rep: RegexNode | undefined, follow: number[][], all: RegexNode[]): void {
  n.after = after;
  n.rep = rep;
  all.push(n);
  if (n.kind === "char") follow[n.pos] = after;
  else if (n.kind === "alt") for (const x of n.items) _place(x, after, rep, follow, all);
  else if (n.kind === "seq") {
    const placed: [RegexNode, number[]][] = [];
    let a = after;
    for (let k = n.items.length - 1; k >= 0; k--) {
      const x = n.items[k] as RegexNode;
      placed.unshift([x, a]);
      a = x.nullable ? _union(x.first, a) : x.first;
    }
    for (const [x, xa] of placed) _place(x, xa, rep, follow, all);
  } else if (n.kind === "rep") {
    const body = n.items[0] as RegexNode;
    const loops = n.max >= 2;
    _place(body, loops ? _union(body.first, after) : after, loops ? n : rep, follow, all);
  }
}

/** A parsed source: the main pattern and each lookaround's body as roots. */
export interface RegexPositions {
  readonly roots: readonly RegexNode[];
  /** Every node under each root, parents before children. */
  readonly nodes: readonly (readonly RegexNode[])[];
  /** The characters of each position. */
  readonly sets: readonly CharSet[];
  /** The positions (or {@link END}) that can follow each position. */
  readonly follow: readonly (readonly number[])[];
}

/** Parse `source` (valid for `new RegExp(source, "i")`) into positions. */
export function regexPositions(source: string): RegexPositions {
  const p = new Parser(source);
  const roots = [p.alt(), ...p.lookarounds];
  const follow: number[][] = [];
  const nodes = roots.map((root) => {
    _measure(root, p.sets);
    const all: RegexNode[] = [];
    _place(root, [END], undefined, follow, all);
    return all;
  });
  return { roots, nodes, sets: p.sets, follow };
}
