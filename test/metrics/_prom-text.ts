/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: it throws
 * `SyntaxError` on any line that is not valid, and checks family-level rules (TYPE before
 * samples, samples of a family together, histogram buckets cumulative with a final +Inf
 * equal to _count).
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  help: string | undefined;
  type: string | undefined;
  readonly samples: Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/;
const HELP = new RegExp(`^# HELP (${NAME}) ((?:[^\\\\\\n]|\\\\[\\\\n])*)$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE_NAME = new RegExp(`^${NAME}`);

function unescape(text: string, quote: boolean): string {
  return text.replace(quote ? /\\([\\"n])/g : /\\([\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
}

function parseValue(text: string, line: number): number {
  if (!VALUE.test(text)) throw new SyntaxError(`Line ${line}: invalid value "${text}"`);
  return text === "+Inf" ? Infinity : text === "-Inf" ? -Infinity : Number(text);
}

function parseLabels(text: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after "{"
  for (;;) {
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new SyntaxError(`Line ${line}: label without "="`);
    const name = text.slice(i, eq);
    if (!LABEL.test(name)) throw new SyntaxError(`Line ${line}: invalid label name "${name}"`);
    if (name in labels) throw new SyntaxError(`Line ${line}: repeated label "${name}"`);
    if (text[eq + 1] !== '"') throw new SyntaxError(`Line ${line}: label value must be quoted`);
    let j = eq + 2;
    let raw = "";
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new SyntaxError(`Line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === "\\") {
        const n = text[j + 1];
        if (n !== "\\" && n !== '"' && n !== "n") throw new SyntaxError(`Line ${line}: invalid escape "\\${n}"`);
        raw += c + n;
        j += 2;
        continue;
      }
      raw += c;
      j++;
    }
    labels[name] = unescape(raw, true);
    i = j + 1;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw new SyntaxError(`Line ${line}: expected "," or "}" after a label`);
  }
}

function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(sample);
  if (direct) return direct;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!sample.endsWith(suffix)) continue;
    const f = families.get(sample.slice(0, -suffix.length));
    if (f && f.type === "histogram") return f;
  }
  return undefined;
}

/** Parses `text`; every line must be valid and the text must end with a line feed (or be empty). */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  if (text === "") return families;
  if (!text.endsWith("\n")) throw new SyntaxError("Exposition must end with a line feed");
  const lines = text.slice(0, -1).split("\n");
  let current: Family | undefined;
  const closed = new Set<string>();
  lines.forEach((l, idx) => {
    const line = idx + 1;
    let m: RegExpExecArray | null;
    if ((m = HELP.exec(l))) {
      const f = open(m[1]!);
      if (f.help !== undefined) throw new SyntaxError(`Line ${line}: second HELP for "${f.name}"`);
      f.help = unescape(m[2]!, false);
      return;
    }
    if ((m = TYPE.exec(l))) {
      const f = open(m[1]!);
      if (f.type !== undefined) throw new SyntaxError(`Line ${line}: second TYPE for "${f.name}"`);
      if (f.samples.length > 0) throw new SyntaxError(`Line ${line}: TYPE after samples of "${f.name}"`);
      f.type = m[2]!;
      return;
    }
    if (l.startsWith("#")) throw new SyntaxError(`Line ${line}: unexpected comment "${l}"`);
    const nm = SAMPLE_NAME.exec(l);
    if (!nm) throw new SyntaxError(`Line ${line}: invalid sample "${l}"`);
    const name = nm[0];
    let rest = l.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) ({ labels, rest } = parseLabels(rest, line));
    const parts = rest.split(" ");
    if (parts[0] !== "" || parts.length < 2 || parts.length > 3) throw new SyntaxError(`Line ${line}: expected " value [timestamp]"`);
    const value = parseValue(parts[1]!, line);
    if (parts.length === 3 && !/^-?\d+$/.test(parts[2]!)) throw new SyntaxError(`Line ${line}: invalid timestamp`);
    const f = familyOf(name, families);
    if (!f || f.type === undefined) throw new SyntaxError(`Line ${line}: sample "${name}" before its TYPE`);
    if (f !== current) throw new SyntaxError(`Line ${line}: samples of "${f.name}" are not together`);
    if (f.type === "histogram" && name === f.name) throw new SyntaxError(`Line ${line}: bare histogram sample`);
    if (f.type === "histogram" && name.endsWith("_bucket") && labels.le === undefined) throw new SyntaxError(`Line ${line}: bucket without le`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) checkHistogram(f);
  return families;

  function open(name: string): Family {
    let f = families.get(name);
    if (!f) {
      if (closed.has(name)) throw new SyntaxError(`Family "${name}" appears twice`);
      f = { name, help: undefined, type: undefined, samples: [] };
      families.set(name, f);
    }
    if (current && current !== f) closed.add(current.name);
    current = f;
    return f;
  }
}

function checkHistogram(f: Family): void {
  if (f.type !== "histogram") return;
  const series = new Map<string, { le: number[]; counts: number[]; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let e = series.get(key);
    if (!e) series.set(key, (e = { le: [], counts: [] }));
    if (s.name.endsWith("_bucket")) {
      e.le.push(parseValue(le!, 0));
      e.counts.push(s.value);
    } else if (s.name.endsWith("_count")) e.count = s.value;
    else e.sum = s.value;
  }
  for (const [key, e] of series) {
    for (let i = 1; i < e.le.length; i++) {
      if (!(e.le[i]! > e.le[i - 1]!)) throw new SyntaxError(`Histogram "${f.name}" ${key}: le not increasing`);
      if (e.counts[i]! < e.counts[i - 1]!) throw new SyntaxError(`Histogram "${f.name}" ${key}: buckets not cumulative`);
    }
    if (e.le.at(-1) !== Infinity) throw new SyntaxError(`Histogram "${f.name}" ${key}: no +Inf bucket`);
    if (e.count === undefined || e.sum === undefined) throw new SyntaxError(`Histogram "${f.name}" ${key}: missing _sum or _count`);
    if (e.counts.at(-1) !== e.count) throw new SyntaxError(`Histogram "${f.name}" ${key}: +Inf bucket differs from _count`);
  }
}
