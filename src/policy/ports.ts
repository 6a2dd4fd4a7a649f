/**
 * Destination port conditions: a port 1-65535 or an inclusive range "lo-hi".
 *
 * @example
 * ```ts
 * parsePortSpec(443);         // [443, 443]
 * parsePortSpec("8000-8100"); // [8000, 8100]
 * portSpecError("0");         // 'expected a port 1-65535 or a range "lo-hi", got "0"'
 * ```
 * @module
 */

/** An inclusive port range. */
export type PortRange = readonly [lo: number, hi: number];

const PORT_TEXT = /^([1-9]\d{0,4})(?:-([1-9]\d{0,4}))?$/;

function _message(spec: unknown): string {
  return `expected a port 1-65535 or a range "lo-hi" with lo <= hi, got ${JSON.stringify(spec) ?? String(spec)}`;
}

/**
 * Parse a port spec: an integer 1-65535, its decimal text, or "lo-hi" with lo <= hi.
 *
 * @throws {TypeError} when the spec is not valid
 */
export function parsePortSpec(spec: number | string): PortRange {
  if (typeof spec === "number") {
    if (Number.isInteger(spec) && spec >= 1 && spec <= 65535) return [spec, spec];
    throw new TypeError(_message(spec));
  }
  if (typeof spec !== "string") throw new TypeError(_message(spec));
  const m = PORT_TEXT.exec(spec);
  if (m === null) throw new TypeError(_message(spec));
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (hi > 65535 || lo > hi) throw new TypeError(_message(spec));
  return [lo, hi];
}

/** `undefined` when `spec` is a valid port spec (see {@link parsePortSpec}), else the reason. */
export function portSpecError(spec: number | string): string | undefined {
  try {
    parsePortSpec(spec);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Canonical text of a range: "443" or "8000-8100". */
export function portRangeText(range: PortRange): string {
  return range[0] === range[1] ? `${range[0]}` : `${range[0]}-${range[1]}`;
}
