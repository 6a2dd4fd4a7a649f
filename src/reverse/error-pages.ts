/**
 * What visitors of a published app see when the gateway itself answers with an error
 * (`reverse.errorPages`): no route, a refusal, a backend down or silent.
 *
 * The full reason names the gateway's inside: backend addresses and their errors, pool and
 * route names, rule reasons, rate settings. It always goes to the request line; the client is
 * shown it only when its address (the original client's, through a trusted proxy) is in
 * `detailsFor`. Anyone else gets, for a 5xx and for a route's own refusals (`clients`,
 * `deny`, `rateLimit`), one sentence for the status and the request's id, which finds the
 * line in the log. Answers about the client's own request (400, 404, 405) and sign-in
 * answers (written for the user and naming no route, a 503 included) say the same to
 * everyone.
 *
 * A browser (its `Accept` names HTML) gets the `template` page instead of text when there is one.
 * @module
 */
import { wantsHtml } from "../block/block-page.ts";
import { compilePageTemplate, escapeHtml, fillPageTemplate, type PageTemplate } from "../block/page-template.ts";
import { type AnswerOptions, errorAnswer, reasonPhrase } from "../flows/answers.ts";
import { TrustList } from "./forwarded.ts";

/** The placeholders an error page template may use. */
export const ERROR_PLACEHOLDERS = ["status", "title", "message", "requestId", "host", "url", "client", "time"] as const;
export type ErrorPlaceholder = (typeof ERROR_PLACEHOLDERS)[number];

/** `reverse.errorPages`, with the template file's text read. */
export interface ErrorPagesSettings {
  /** HTML with `{{placeholders}}` for browsers; absent = text for everyone. */
  readonly template?: string;
  /** Clients (IP addresses and CIDRs) shown the full reason. */
  readonly detailsFor: readonly string[];
}

/** One error answer to make. */
export interface ErrorFacts {
  readonly status: number;
  /** The full reason, as the request line has it. */
  readonly message: string;
  /**
   * The reason names the gateway's inside (a route's refusal, a backend's failure): only
   * `detailsFor` clients see it. Default: for a 5xx.
   */
  readonly internal?: boolean;
  /** The original client's address. */
  readonly client: string;
  readonly requestId: string;
  /** The request's method and `Accept` field. */
  readonly method: string;
  readonly accept: string | undefined;
  /** The host and URL as the request line writes them. */
  readonly host: string;
  readonly url: string;
  readonly proxyError?: string | undefined;
  /** More header fields (`Retry-After`, `WWW-Authenticate`, `X-Request-Id`). */
  readonly headers?: readonly (readonly [string, string])[];
}

/** What a client outside `detailsFor` is told instead of a private reason. */
const BRIEF: Readonly<Record<number, string>> = {
  403: "Access denied",
  429: "Too many requests",
  502: "The service could not be reached",
  503: "The service is unavailable",
  504: "The service did not answer in time",
};

export class ReverseErrorPages {
  readonly #template: PageTemplate<ErrorPlaceholder> | undefined;
  readonly #detailsFor: TrustList;

  /**
   * @throws {Error} on a template with an unknown placeholder or over 256 KiB
   * @throws {TypeError} on an entry of `detailsFor` that is not an address or CIDR
   */
  constructor(settings: ErrorPagesSettings) {
    this.#template = settings.template === undefined ? undefined : compilePageTemplate(settings.template, ERROR_PLACEHOLDERS);
    this.#detailsFor = new TrustList(settings.detailsFor);
  }

  /** Text for everyone, no details to anyone. */
  static readonly default: ReverseErrorPages = new ReverseErrorPages({ detailsFor: [] });

  /** What the client is told: the full reason, or the status's sentence and the request id. */
  shown(facts: Pick<ErrorFacts, "status" | "message" | "internal" | "client" | "requestId">): string {
    const hidden = facts.internal ?? facts.status >= 500;
    if (!hidden || this.#detailsFor.has(facts.client)) return facts.message;
    const sentence = BRIEF[facts.status] ?? (facts.status >= 500 ? "The gateway could not serve this request" : reasonPhrase(facts.status));
    return `${sentence} (request id ${facts.requestId})`;
  }

  /** The whole answer: head, and the text or page (not for `HEAD`). */
  answer(facts: ErrorFacts): Uint8Array {
    const message = this.shown(facts);
    const options: AnswerOptions = {
      proxyError: facts.proxyError,
      method: facts.method,
      headers: [["Cache-Control", "no-store"], ["X-Content-Type-Options", "nosniff"], ...(facts.headers ?? [])],
    };
    if (this.#template === undefined || !wantsHtml(facts.accept)) return errorAnswer(facts.status, message, options);
    const values: Record<ErrorPlaceholder, string> = {
      status: String(facts.status),
      title: reasonPhrase(facts.status),
      message,
      requestId: facts.requestId,
      host: facts.host,
      url: facts.url,
      client: facts.client,
      time: new Date().toISOString(),
    };
    const text = fillPageTemplate(this.#template, (name) => values[name], escapeHtml);
    return errorAnswer(facts.status, message, { ...options, body: { text, type: "text/html; charset=utf-8" } });
  }
}
