/**
 * A strict JSON parser for config files: reports the line and column of the first error
 * (JSON.parse messages differ between runtimes and some lack a position), rejects
 * duplicate keys (the last one would silently win), and bounds size and nesting.
 */

/** The longest text `parseJson` takes by default (UTF-16 code units): a config file's limit. */
export const MAX_JSON_LENGTH = 16 * 1024 * 1024;

/** Limits for `parseJson`. */
export interface JsonLimits {
  /** Maximum text length in UTF-16 code units. Default 16 MiB. */
  readonly maxLength?: number;
  /** Maximum nesting of arrays and objects. Default 64. */
  readonly maxDepth?: number;
}

/** A JSON syntax error with its position (1-based line and column). */
export class JsonSyntaxError extends SyntaxError {
  override name = "JsonSyntaxError";
  /** Offset in UTF-16 code units. */
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  /** The message without the position. */
  readonly reason: string;

  constructor(reason: string, text: string, offset: number) {
    const before = text.slice(0, offset);
    const line = before.split("\n").length;
    const column = offset - before.lastIndexOf("\n");
    super(`${reason} at line ${line}, column ${column}`);
    this.reason = reason;
    this.offset = offset;
    this.line = line;
    this.column = column;
  }
}

const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WS_RE = /[ \t\n\r]*/y;

/**
 * Parse JSON text strictly. Throws `JsonSyntaxError` with the position of the first error.
 *
 * @example
 * ```ts
 * parseJson('{"a": [1, 2]}'); // { a: [1, 2] }
 * parseJson('{"a": 1,}'); // throws: expected a property name in double quotes, got "}" (trailing comma) at line 1, column 9
 * ```
 */
export function parseJson(text: string, limits: JsonLimits = {}): unknown {
  const maxLength = limits.maxLength ?? MAX_JSON_LENGTH;
  if (text.length > maxLength) throw new JsonSyntaxError(`text is longer than ${maxLength} characters`, text, 0);
  const parser = new Parser(text, limits.maxDepth ?? 64);
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  parser.pos = start;
  parser.skipWhitespace();
  const value = parser.value(0);
  parser.skipWhitespace();
  if (parser.pos < text.length) parser.fail("expected the end of the text");
  return value;
}

class Parser {
  pos = 0;
  readonly text: string;
  readonly maxDepth: number;

  constructor(text: string, maxDepth: number) {
    this.text = text;
    this.maxDepth = maxDepth;
  }

  fail(expected: string, at = this.pos, suffix = ""): never {
    const got = at >= this.text.length ? "the end of the text" : JSON.stringify(this.text[at]);
    throw new JsonSyntaxError(`${expected}, got ${got}${suffix}`, this.text, at);
  }

  skipWhitespace(): void {
    WS_RE.lastIndex = this.pos;
    WS_RE.exec(this.text);
    this.pos = WS_RE.lastIndex;
  }

  value(depth: number): unknown {
    const c = this.text[this.pos];
    if (c === "{") return this.object(depth + 1);
    if (c === "[") return this.array(depth + 1);
    if (c === '"') return this.string();
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
    for (const [word, value] of [["true", true], ["false", false], ["null", null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    return this.fail("expected a value");
  }

  object(depth: number): Record<string, unknown> {
    if (depth > this.maxDepth) this.fail(`expected nesting of at most ${this.maxDepth}`);
    const result: Record<string, unknown> = {};
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return result;
    }
    for (;;) {
      if (this.text[this.pos] !== '"') {
        const trailing = this.text[this.pos] === "}" ? " (trailing comma)" : "";
        this.fail("expected a property name in double quotes", this.pos, trailing);
      }
      const keyAt = this.pos;
      const key = this.string();
      if (Object.hasOwn(result, key)) throw new JsonSyntaxError(`duplicate key ${JSON.stringify(key)}`, this.text, keyAt);
      this.skipWhitespace();
      if (this.text[this.pos] !== ":") this.fail(`expected ":" after property name ${JSON.stringify(key)}`);
      this.pos++;
      this.skipWhitespace();
      const value = this.value(depth);
      Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
      this.skipWhitespace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === "}") return result;
      if (c !== ",") this.fail('expected "," or "}" after a property value', this.pos - 1);
      this.skipWhitespace();
    }
  }

  array(depth: number): unknown[] {
    if (depth > this.maxDepth) this.fail(`expected nesting of at most ${this.maxDepth}`);
    const result: unknown[] = [];
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return result;
    }
    for (;;) {
      if (this.text[this.pos] === "]") this.fail("expected a value", this.pos, " (trailing comma)");
      result.push(this.value(depth));
      this.skipWhitespace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === "]") return result;
      if (c !== ",") this.fail('expected "," or "]" after an array element', this.pos - 1);
      this.skipWhitespace();
    }
  }

  string(): string {
    const start = this.pos;
    let i = start + 1;
    for (;;) {
      const code = this.text.charCodeAt(i);
      if (Number.isNaN(code)) this.fail("expected a closing double quote", i);
      if (code === 0x22) break;
      if (code < 0x20) this.fail("expected no control characters in a string (escape them)", i);
      if (code === 0x5c) {
        const next = this.text[i + 1];
        if (next === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(i + 2, i + 6))) this.fail("expected 4 hex digits after \\u", i + 2);
          i += 6;
          continue;
        }
        if (next === undefined || !'"\\/bfnrt'.includes(next)) this.fail("expected a valid escape sequence", i + 1);
        i += 2;
        continue;
      }
      i++;
    }
    this.pos = i + 1;
    return JSON.parse(this.text.slice(start, i + 1)) as string;
  }

  number(): number {
    NUMBER_RE.lastIndex = this.pos;
    const match = NUMBER_RE.exec(this.text);
    if (match === null) return this.fail("expected a number");
    this.pos = NUMBER_RE.lastIndex;
    return Number(match[0]);
  }
}
