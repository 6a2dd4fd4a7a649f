/**
 * Merging the Prometheus text expositions of several gateway processes into one, so the
 * primary's `/metrics` describes the whole gateway when it runs worker processes.
 *
 * Every sample with the same name and labels is summed across processes: right for
 * counters, for gauges that count things (open connections, tunnels, cached leaves) and for
 * histogram buckets, sums and counts. Families named in `primaryOnly` describe one process
 * (start time, config generation) and are taken from the first exposition only. Families
 * named in `lowest` say whether something holds (`tollgate_parent_up`: 1 or 0) in each
 * process, which keeps its own health state: the lowest value stands, so 0 in any process
 * is 0 for the gateway, and 1 in all is 1, not the number of processes.
 *
 * @module
 */
import { _formatValue } from "./_format.ts";

interface Family {
  readonly head: string[];
  /** Sample key (`name{labels}`) → value, in first-seen order. */
  readonly samples: Map<string, number>;
}

/** Options of {@linkcode mergeExpositions}. */
export interface MergeOptions {
  /** Families whose samples come from the first exposition only. */
  readonly primaryOnly?: ReadonlySet<string>;
  /** Families whose equal samples are merged by their lowest value, not summed. */
  readonly lowest?: ReadonlySet<string>;
}

/**
 * One exposition (format 0.0.4) from several: families in first-seen order, `# HELP` and
 * `# TYPE` from the first exposition that has them, equal samples summed. A sample line
 * that cannot be read throws `SyntaxError`.
 */
export function mergeExpositions(texts: readonly string[], options: MergeOptions = {}): string {
  const families = new Map<string, Family>();
  const primaryOnly = options.primaryOnly ?? new Set<string>();
  const lowest = options.lowest ?? new Set<string>();
  texts.forEach((text, index) => {
    let current: { name: string; family: Family } | undefined;
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const comment = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (comment) {
        const name = comment[2]!;
        let family = families.get(name);
        if (!family) families.set(name, family = { head: [], samples: new Map() });
        if (!family.head.some((h) => h.startsWith(`# ${comment[1]} `))) family.head.push(line);
        current = { name, family };
        continue;
      }
      if (line.startsWith("#")) continue;
      const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/.exec(line);
      if (!sample) throw new SyntaxError(`Unreadable sample line ${JSON.stringify(line.slice(0, 120))}`);
      const key = sample[1]!;
      const value = parseValue(sample[2]!);
      const name = key.replace(/\{.*$/, "");
      // a sample belongs to the family whose block it is in (histograms: x_bucket, x_sum…)
      const owner = current && name.startsWith(current.name) ? current : undefined;
      const familyName = owner?.name ?? name;
      let family = owner?.family ?? families.get(familyName);
      if (!family) families.set(familyName, family = { head: [], samples: new Map() });
      if (index > 0 && primaryOnly.has(familyName)) continue;
      const before = family.samples.get(key);
      family.samples.set(key, before === undefined ? value : lowest.has(familyName) ? Math.min(before, value) : before + value);
    }
  });
  const out: string[] = [];
  for (const family of families.values()) {
    out.push(...family.head);
    for (const [key, value] of family.samples) out.push(`${key} ${_formatValue(value)}`);
  }
  return out.length === 0 ? "" : out.join("\n") + "\n";
}

/**
 * The counter and histogram families of an exposition (`# HELP`, `# TYPE` and samples),
 * without its gauges: what a process that has exited still contributes to the gateway's
 * totals, so they never go down when a worker dies and starts again from zero.
 */
export function countersOnly(text: string): string {
  const out: string[] = [];
  let block: { name: string; lines: string[]; keep: boolean } | undefined;
  const flush = () => {
    if (block?.keep) out.push(...block.lines);
  };
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const comment = /^# (HELP|TYPE) (\S+)(?: (\S+))?/.exec(line);
    if (comment && comment[2] !== block?.name) {
      flush();
      block = { name: comment[2]!, lines: [], keep: false };
    }
    if (!block) continue;
    if (comment?.[1] === "TYPE") block.keep = comment[3] === "counter" || comment[3] === "histogram";
    block.lines.push(line);
  }
  flush();
  return out.length === 0 ? "" : out.join("\n") + "\n";
}

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const n = Number(text);
  if (Number.isNaN(n)) throw new SyntaxError(`Unreadable sample value ${JSON.stringify(text)}`);
  return n;
}
