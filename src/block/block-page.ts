/**
 * The answer to a request the policy denies: a browser (its `Accept` names `text/html`) gets
 * an HTML page, any other client the short text it always got, and with a `redirect` every
 * client is sent to a block portal instead. Bytes out, no I/O: the flows write them.
 */
import { serializeResponseHead } from "../protocol/http-serialize.ts";
import { DEFAULT_BLOCK_PAGE } from "./default-page.ts";
import { type BlockInfo, type BlockTemplate, compileBlockTemplate, escapeHtml, escapeUrlComponent, fillBlockTemplate } from "./block-template.ts";

/** The config's `blockPage`, with the template file's text read. */
export interface BlockPageSettings {
  /** HTML with `{{placeholders}}`; absent = the built-in page. */
  readonly template?: string;
  /** A block portal URL with `{{placeholders}}` (percent-encoded when filled); denied requests are redirected there. */
  readonly redirect?: string;
  /** Show the page for denied TLS (CONNECT or transparent) too, by decrypting with a minted certificate. */
  readonly interceptDenied: boolean;
}

/** The request being denied, as far as the answer depends on it. */
export interface DeniedRequest {
  readonly method: string;
  /** Its `Accept` field, if any. */
  readonly accept: string | undefined;
  /** The page's status: 403 (default), or 413 for a body over a rule's limit. A redirect is 302 regardless. */
  readonly status?: 403 | 413;
}

/** A block answer: the response's bytes and its status. */
export interface BlockAnswer {
  readonly status: number;
  readonly bytes: Uint8Array;
}

/** Where the built-in page may fetch from: nothing (its styles are inline). */
const DEFAULT_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

export class BlockPage {
  readonly interceptDenied: boolean;
  readonly #page: BlockTemplate;
  readonly #custom: boolean;
  readonly #redirect: BlockTemplate | undefined;

  /**
   * @throws {Error} on a template with an unknown placeholder, or a redirect that is not an
   * http(s) URL once filled
   */
  constructor(settings: BlockPageSettings) {
    this.interceptDenied = settings.interceptDenied;
    this.#custom = settings.template !== undefined;
    this.#page = compileBlockTemplate(settings.template ?? DEFAULT_BLOCK_PAGE);
    this.#redirect = settings.redirect === undefined ? undefined : compileRedirect(settings.redirect);
  }

  /** The built-in page, no redirect, no interception of denied TLS. */
  static readonly default: BlockPage = new BlockPage({ interceptDenied: false });

  /** The full response (head and body) for a denied request, and its status (403, 413 or 302). */
  answer(info: BlockInfo, request: DeniedRequest): BlockAnswer {
    const headers: [string, string][] = [];
    let status: number = request.status ?? 403;
    let body: string;
    let type: string;
    if (this.#redirect) {
      status = 302;
      // a lone surrogate (a rule message's cut emoji, a client certificate's BMPString name) must not throw here
      const location = fillBlockTemplate(this.#redirect, info, escapeUrlComponent);
      headers.push(["Location", location]);
      body = `Blocked by Tollgate policy: see ${location}\n`;
      type = "text/plain; charset=utf-8";
    } else if (wantsHtml(request.accept)) {
      body = fillBlockTemplate(this.#page, info, escapeHtml);
      type = "text/html; charset=utf-8";
      if (!this.#custom) headers.push(["Content-Security-Policy", DEFAULT_PAGE_CSP]);
    } else {
      body = blockedText(info);
      type = "text/plain; charset=utf-8";
    }
    const bytes = new TextEncoder().encode(body);
    const head = serializeResponseHead({
      version: "HTTP/1.1",
      status,
      reason: status === 302 ? "Found" : status === 413 ? "Content Too Large" : "Forbidden",
      headers: [
        ["Content-Type", type],
        ["Content-Length", String(bytes.byteLength)],
        ["Cache-Control", "no-store"],
        ["X-Content-Type-Options", "nosniff"],
        ...headers,
        ["Proxy-Status", `tollgate; error=destination_denied; details=${JSON.stringify(`rule ${info.rule}`.replace(/[^\x20-\x7e]/g, "?"))}`],
        ["Connection", "close"],
      ],
    });
    if (request.method === "HEAD") return { status, bytes: head };
    const out = new Uint8Array(head.byteLength + bytes.byteLength);
    out.set(head, 0);
    out.set(bytes, head.byteLength);
    return { status, bytes: out };
  }
}

/** The plain-text answer: the line clients always got, then the rule's message if it has one. */
export function blockedText(info: Pick<BlockInfo, "rule" | "reason" | "message">): string {
  return `Blocked by Tollgate policy: rule "${info.rule}" (${info.reason})\n${info.message === undefined ? "" : `${info.message}\n`}`;
}

/** Whether an `Accept` field asks for HTML (a browser navigating); `*\/*` alone does not. */
export function wantsHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  for (const part of accept.split(",")) {
    const [range = "", ...params] = part.split(";");
    const type = range.trim().toLowerCase();
    if (type !== "text/html" && type !== "application/xhtml+xml") continue;
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith("q="));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

/**
 * A redirect template, checked by filling it with sample values: it must give an absolute
 * http(s) URL.
 */
export function compileRedirect(text: string): BlockTemplate {
  const template = compileBlockTemplate(text);
  const sample = fillBlockTemplate(template, {
    host: "blocked.example", port: 443, url: "https://blocked.example/a?b=c", rule: "r", reason: "why", message: "m",
    client: "192.0.2.1", user: "u", listener: "l", time: new Date(0).toISOString(),
  }, escapeUrlComponent);
  let url: URL;
  try {
    url = new URL(sample);
  } catch {
    throw new Error(`blockPage.redirect: expected an absolute http(s) URL, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`blockPage.redirect: expected an http or https URL, got ${JSON.stringify(text)}`);
  return template;
}
