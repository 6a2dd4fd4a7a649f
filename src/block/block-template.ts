/**
 * Block page templates: text with `{{name}}` placeholders, compiled once and filled per
 * denied request. An HTML template escapes what it inserts; a URL template (a redirect to a
 * block portal) percent-encodes it. An unknown placeholder is an error at compile time, so
 * a typo shows when the config is loaded, not as a hole in the page.
 */
import { compilePageTemplate, fillPageTemplate, type PageTemplate } from "./page-template.ts";

export { escapeHtml, escapeUrlComponent } from "./page-template.ts";

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

/** What `{{message}}` says when the rule has no message of its own. */
export const DEFAULT_MESSAGE = "This address is blocked by your organisation's web gateway policy.";

/** A compiled block page template (or block portal URL). */
export type BlockTemplate = PageTemplate<Placeholder>;

/**
 * Splits `text` into literals and placeholders.
 *
 * @throws {Error} on an unknown placeholder (naming it and the known ones) or a template
 * over 256 KiB (`MAX_TEMPLATE_BYTES`).
 */
export function compileBlockTemplate(text: string): BlockTemplate {
  return compilePageTemplate(text, PLACEHOLDERS);
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
  return fillPageTemplate(template, (name) => placeholderValue(info, name), escape);
}
