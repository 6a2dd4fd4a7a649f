/**
 * Names, escaping and number formatting of the Prometheus text exposition format 0.0.4.
 *
 * @module
 */

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Throws `TypeError` unless `name` is a valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`). */
export function _checkMetricName(name: string): void {
  if (typeof name !== "string" || !METRIC_NAME.test(name)) {
    throw new TypeError(`Invalid metric name ${JSON.stringify(name)}`);
  }
}

/**
 * Throws `TypeError` unless every label name is valid (`[a-zA-Z_][a-zA-Z0-9_]*`), not reserved
 * (`__` prefix, or one of `reserved`) and not repeated.
 */
export function _checkLabelNames(metric: string, names: readonly string[], reserved: readonly string[] = []): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== "string" || !LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new TypeError(`Invalid label name ${JSON.stringify(name)} for metric "${metric}"`);
    }
    if (reserved.includes(name)) throw new TypeError(`Label name "${name}" is reserved for metric "${metric}"`);
    if (seen.has(name)) throw new TypeError(`Duplicate label name "${name}" for metric "${metric}"`);
    seen.add(name);
  }
}

/** Escapes a label value: backslash, double quote and line feed. */
export function _escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`)) : value;
}

/** Escapes HELP text: backslash and line feed. */
export function _escapeHelp(text: string): string {
  return /[\\\n]/.test(text) ? text.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\")) : text;
}

/** A sample value as Prometheus writes it: `+Inf`, `-Inf`, `NaN`, or the shortest decimal form. */
export function _formatValue(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  return String(value);
}

/** The `{a="x",b="y"}` part of a sample line (empty for no labels). */
export function _formatLabels(names: readonly string[], values: readonly string[], extraName?: string, extraValue?: string): string {
  if (names.length === 0 && extraName === undefined) return "";
  let out = "{";
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += ",";
    out += `${names[i]}="${_escapeLabelValue(values[i] ?? "")}"`;
  }
  if (extraName !== undefined) out += `${names.length > 0 ? "," : ""}${extraName}="${_escapeLabelValue(extraValue ?? "")}"`;
  return out + "}";
}
