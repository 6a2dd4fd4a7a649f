/**
 * Block page templates: text with `{{name}}` placeholders, compiled once and filled per
 * denied request. An HTML template escapes what it inserts; a URL template (a redirect to a
 * block portal) percent-encodes it. An unknown placeholder is an error at compile time, so
 * a typo shows when the config is loaded, not as a hole in the page.
 */

/** What a block page may say about a denied request. */
export interface BlockInfo {
  /** The destination host as the flow log writes it. */
  readonly host: string;
  readonly port: number;
  /** The full URL requested, e.g. `https://ads.example/x?y=1`. */
  readonly url: string;
  /** The deciding rule's id (`default` for the default action). */
  readonly rule: string;
  /** Why the rule matched, as in the flow log. */
  readonly reason: string;
  /** The deciding rule's `message`, if it has one. */
  readonly message?: string;
  /** The client's IP address. */
  readonly client: string;
  /** The authenticated proxy user, if any. */
  readonly user?: string;
  readonly listener: string;
  /** When it was denied (ISO 8601, UTC). */
  readonly time: string;
}

/** The placeholders a template may use. */
export const PLACEHOLDERS = ["host", "port", "url", "rule", "reason", "message", "client", "user", "listener", "time"] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** Largest template accepted (a block page is small; a huge one is a mistake). */
export const MAX_TEMPLATE_BYTES = 256 * 1024;

/** What `{{message}}` says when the rule has no message of its own. */
export const DEFAULT_MESSAGE = "This address is blocked by your organisation's web gateway policy.";

const SLOT_RE = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

/** A compiled template: literal text with slots between. */
export interface BlockTemplate {
  /** `literals.length === slots.length + 1`. */
  readonly literals: readonly string[];
  readonly slots: readonly Placeholder[];
}

/**
 * Splits `text` into literals and placeholders.
 *
 * @throws {Error} on an unknown placeholder (naming it and the known ones) or a template
 * over {@link MAX_TEMPLATE_BYTES}.
 */
export function compileBlockTemplate(text: string): BlockTemplate {
  if (text.length > MAX_TEMPLATE_BYTES) throw new Error(`block page template is ${text.length} characters; at most ${MAX_TEMPLATE_BYTES}`);
  const literals: string[] = [];
  const slots: Placeholder[] = [];
  let last = 0;
  for (const m of text.matchAll(SLOT_RE)) {
    const name = m[1] as string;
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      const line = text.slice(0, m.index).split("\n").length;
      throw new Error(`unknown placeholder {{${name}}} at line ${line}; known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(" ")}`);
    }
    literals.push(text.slice(last, m.index));
    slots.push(name as Placeholder);
    last = m.index + m[0].length;
  }
  literals.push(text.slice(last));
  return { literals, slots };
}

/** The text a placeholder stands for (before escaping). */
export function placeholderValue(info: BlockInfo, name: Placeholder): string {
  switch (name) {
    case "port":
      return String(info.port);
    case "message":
      return info.message ?? DEFAULT_MESSAGE;
    case "user":
      return info.user ?? "";
    default:
      return info[name];
  }
}

/** Fills `template`, passing each value through `escape`. */
export function fillBlockTemplate(template: BlockTemplate, info: BlockInfo, escape: (text: string) => string): string {
  let out = template.literals[0] as string;
  for (let i = 0; i < template.slots.length; i++) {
    out += escape(placeholderValue(info, template.slots[i] as Placeholder)) + (template.literals[i + 1] as string);
  }
  return out;
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] as string);
}

const HTML_ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
