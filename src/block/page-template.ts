/**
 * Page templates: text with `{{name}}` placeholders from a fixed set, compiled once and
 * filled per answer. The block page and the reverse proxy's error page are such templates,
 * each with its own names. An unknown placeholder (anything in `{{ }}` that is not a known
 * name) is an error at compile time, so a typo shows when the config is loaded, not as a
 * hole in the page.
 * @module
 */

/** Largest template accepted (a page is small; a huge one is a mistake). */
export const MAX_TEMPLATE_BYTES = 256 * 1024;

/**
 * A placeholder, known or not: whatever stands between `{{` and `}}` (no braces, at most 64
 * characters), so that `{{client_ip}}` or `{{host1}}` is reported rather than shown as it is.
 */
const SLOT_RE = /\{\{([^{}]{0,64})\}\}/g;

/** A compiled template: literal text with slots between. */
export interface PageTemplate<N extends string> {
  /** `literals.length === slots.length + 1`. */
  readonly literals: readonly string[];
  readonly slots: readonly N[];
}

/**
 * Splits `text` into literals and placeholders, each one of `names`.
 *
 * @throws {Error} on an unknown placeholder (naming it, its line and the known ones) or a
 * template over {@link MAX_TEMPLATE_BYTES}
 */
export function compilePageTemplate<N extends string>(text: string, names: readonly N[]): PageTemplate<N> {
  if (text.length > MAX_TEMPLATE_BYTES) throw new Error(`the template is ${text.length} characters; at most ${MAX_TEMPLATE_BYTES}`);
  const literals: string[] = [];
  const slots: N[] = [];
  let last = 0;
  for (const m of text.matchAll(SLOT_RE)) {
    const name = (m[1] as string).trim();
    if (!(names as readonly string[]).includes(name)) {
      const line = text.slice(0, m.index).split("\n").length;
      const shown = name.replace(/\s+/g, " ");
      throw new Error(`unknown placeholder {{${shown}}} at line ${line}; known: ${names.map((p) => `{{${p}}}`).join(" ")}`);
    }
    literals.push(text.slice(last, m.index));
    slots.push(name as N);
    last = m.index + m[0].length;
  }
  literals.push(text.slice(last));
  return { literals, slots };
}

/** Fills `template` with `value(name)` for each placeholder, passed through `escape`. */
export function fillPageTemplate<N extends string>(template: PageTemplate<N>, value: (name: N) => string, escape: (text: string) => string): string {
  let out = template.literals[0] as string;
  for (let i = 0; i < template.slots.length; i++) {
    out += escape(value(template.slots[i] as N)) + (template.literals[i + 1] as string);
  }
  return out;
}

const HTML_ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/**
 * `text` with each lone UTF-16 surrogate (half an emoji, say) replaced by U+FFFD, as
 * `String.prototype.toWellFormed` does: no encoder then fails on it or writes it differently.
 */
export function wellFormed(text: string): string {
  return text.replace(/\p{Surrogate}/gu, "\ufffd");
}

/** Escapes text for HTML element content and quoted attribute values; the result is well-formed. */
export function escapeHtml(text: string): string {
  return wellFormed(text).replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c);
}

/**
 * Percent-encodes text for a URL (as `encodeURIComponent`), a lone surrogate as U+FFFD
 * (`%EF%BF%BD`) instead of throwing `URIError`.
 */
export function escapeUrlComponent(text: string): string {
  return encodeURIComponent(wellFormed(text));
}
