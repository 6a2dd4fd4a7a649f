/**
 * A rule's `schedule`: the days of the week and the time of day (in a time zone) during
 * which the rule applies, e.g. social networks allowed at lunchtime only. Outside it the
 * rule does not match and later rules decide.
 *
 * A moment is in the schedule when its weekday (in `timeZone`) is one of `days` and its time
 * of day is in `[from, to)`; with `from` after `to` the window runs over midnight (`22:00` to
 * `06:00`: from 22:00 on, or before 06:00), each part on its own calendar day. Local time
 * comes from `Intl.DateTimeFormat` (ECMA-402, in every runtime), so daylight saving time is
 * the zone's own; it is computed at most once a minute per zone.
 *
 * @example
 * ```ts
 * const s = parseSchedule({ days: ["mon", "tue", "wed", "thu", "fri"], from: "12:00", to: "13:30", timeZone: "Europe/Berlin" });
 * scheduleMatches(s, Date.parse("2026-11-23T11:15:00Z")); // true: Monday 12:15 in Berlin
 * scheduleText(s); // "mon-fri 12:00-13:30 Europe/Berlin"
 * ```
 * @module
 */

/** A schedule as written in a rule. */
export interface ScheduleDefinition {
  /** `"mon"` … `"sun"`; absent = every day. */
  readonly days?: readonly string[];
  /** `"HH:MM"`, default `"00:00"`. */
  readonly from?: string;
  /** `"HH:MM"` (up to `"24:00"`), default `"24:00"`. */
  readonly to?: string;
  /** IANA time zone, e.g. `"Europe/Berlin"`; default the gateway host's. */
  readonly timeZone?: string;
}

/** A compiled schedule. */
export interface Schedule {
  /** Bit `d` set for weekday `d` (0 = Sunday). */
  readonly dayBits: number;
  /** Minutes after midnight. */
  readonly from: number;
  readonly to: number;
  readonly timeZone: string;
}

/** Weekday names in `Date.getDay()` order. */
export const DAY_NAMES: readonly string[] = Object.freeze(["sun", "mon", "tue", "wed", "thu", "fri", "sat"]);

const TIME_RE = /^([01]\d|2[0-4]):([0-5]\d)$/;

function minutes(text: unknown, what: string): number {
  const m = typeof text === "string" ? TIME_RE.exec(text) : null;
  const value = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  if (!m || value > 24 * 60) throw new TypeError(`${what}: expected a time "HH:MM" (00:00-24:00), got ${JSON.stringify(text)}`);
  return value;
}

/** The gateway host's time zone. */
export function hostTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** `undefined` when `name` is a time zone the runtime knows, else why not. */
export function timeZoneError(name: unknown): string | undefined {
  if (typeof name !== "string" || name.length === 0 || name.length > 64) return `expected an IANA time zone like "Europe/Berlin", got ${JSON.stringify(name)}`;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return undefined;
  } catch {
    return `expected an IANA time zone like "Europe/Berlin", got ${JSON.stringify(name)} (unknown to this runtime)`;
  }
}

/**
 * Validate and compile a schedule definition.
 *
 * @throws {TypeError} naming the field (`days[1]`, `from`, `to`, `timeZone`) and the problem
 */
export function parseSchedule(def: unknown): Schedule {
  if (typeof def !== "object" || def === null || Array.isArray(def)) throw new TypeError(`expected a schedule object, got ${JSON.stringify(def)}`);
  const d = def as Record<string, unknown>;
  let dayBits = 0x7f;
  if (d["days"] !== undefined) {
    const days = d["days"];
    if (!Array.isArray(days) || days.length === 0) throw new TypeError(`days: expected a non-empty array of "mon" … "sun", got ${JSON.stringify(days)}`);
    dayBits = 0;
    days.forEach((day, i) => {
      const n = typeof day === "string" ? DAY_NAMES.indexOf(day.toLowerCase()) : -1;
      if (n < 0) throw new TypeError(`days[${i}]: expected "mon", "tue", "wed", "thu", "fri", "sat" or "sun", got ${JSON.stringify(day)}`);
      dayBits |= 1 << n;
    });
  }
  const from = d["from"] === undefined ? 0 : minutes(d["from"], "from");
  const to = d["to"] === undefined ? 24 * 60 : minutes(d["to"], "to");
  if (from === to) throw new TypeError(`to: expected a time other than "from" (${JSON.stringify(d["to"])}), or leave both out for the whole day`);
  const tz = d["timeZone"] ?? hostTimeZone();
  const tzError = timeZoneError(tz);
  if (tzError !== undefined) throw new TypeError(`timeZone: ${tzError}`);
  return { dayBits, from, to, timeZone: tz as string };
}

interface LocalMinute {
  /** The epoch minute it was computed for. */
  readonly at: number;
  readonly day: number;
  readonly minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const lastMinute = new Map<string, LocalMinute>();
const WEEKDAY: Readonly<Record<string, number>> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** The weekday (0 = Sunday) and minute of the day of `nowMs` in `timeZone`. */
export function localTime(timeZone: string, nowMs: number): { readonly day: number; readonly minute: number } {
  const at = Math.floor(nowMs / 60_000);
  const cached = lastMinute.get(timeZone);
  if (cached && cached.at === at) return cached;
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    formatters.set(timeZone, f);
  }
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const part of f.formatToParts(at * 60_000)) {
    if (part.type === "weekday") day = WEEKDAY[part.value] ?? 0;
    else if (part.type === "hour") hour = Number(part.value) % 24;
    else if (part.type === "minute") minute = Number(part.value);
  }
  const result = { at, day, minute: hour * 60 + minute };
  if (lastMinute.size > 64) lastMinute.clear(); // a handful of zones in practice
  lastMinute.set(timeZone, result);
  return result;
}

/**
 * The field a `parseSchedule` error names (`"from"`, `"days[2]"`…, undefined for the whole
 * schedule) and the rest of its message, for a path like `rules[3].schedule.from`.
 */
export function scheduleErrorField(message: string): readonly [field: string | undefined, text: string] {
  const m = /^(days\[\d+\]|days|from|to|timeZone): (.*)$/s.exec(message);
  return m ? [m[1], m[2]!] : [undefined, message];
}

/** True when `nowMs` lies in the schedule (see the module doc). */
export function scheduleMatches(s: Schedule, nowMs: number): boolean {
  const { day, minute } = localTime(s.timeZone, nowMs);
  if ((s.dayBits & (1 << day)) === 0) return false;
  return s.from < s.to ? minute >= s.from && minute < s.to : minute >= s.from || minute < s.to;
}

function hhmm(m: number): string {
  return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

/** The days as text: "every day", "mon-fri", "sat,sun", "mon,wed-fri". */
function daysText(bits: number): string {
  if (bits === 0x7f) return "every day";
  const order = [1, 2, 3, 4, 5, 6, 0]; // Monday first
  const runs: string[] = [];
  for (let i = 0; i < 7;) {
    if ((bits & (1 << order[i]!)) === 0) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < 7 && (bits & (1 << order[j + 1]!)) !== 0) j++;
    const a = DAY_NAMES[order[i]!]!;
    const b = DAY_NAMES[order[j]!]!;
    runs.push(j === i ? a : j === i + 1 ? `${a},${b}` : `${a}-${b}`);
    i = j + 1;
  }
  return runs.join(",");
}

/** E.g. "mon-fri 09:00-17:00 Europe/Berlin". */
export function scheduleText(s: Schedule): string {
  return `${daysText(s.dayBits)} ${hhmm(s.from)}-${hhmm(s.to)} ${s.timeZone}`;
}

/** E.g. "Tue 18:05 Europe/Berlin": `nowMs` as the schedule's zone sees it. */
export function localText(s: Schedule, nowMs: number): string {
  const { day, minute } = localTime(s.timeZone, nowMs);
  const name = DAY_NAMES[day]!;
  return `${name[0]!.toUpperCase()}${name.slice(1)} ${hhmm(minute)} ${s.timeZone}`;
}
