/**
 * URL rules applied to one HTTP request the gateway can read — a decrypted one, or a plain
 * `http://` one (explicit or transparent): the verdict, the header edits it asks for, and the
 * check of the response's type by rules with `responseTypes`.
 */
import type { Host, UrlDecision, UrlPolicy } from "../policy/types.ts";
import { decideResponse } from "../policy/response-types.ts";
import type { BodyFraming } from "../protocol/body-framing.ts";
import { applyHeaderEdits } from "../protocol/header-edits.ts";
import type { HeaderList } from "../protocol/http-headers.ts";
import type { ResponseHead } from "../protocol/http-response-head.ts";
import { declaredMediaTypes } from "../protocol/media-type.ts";
import { compileUrlRules } from "../policy/url-rules.ts";
import type { FlowContext } from "./context.ts";
import type { ExchangeOptions } from "./http-exchange.ts";

const NO_URL_RULES: UrlPolicy = compileUrlRules([]);

/** The url rules' verdict on a request (`path` with its query; `user` the connection's). */
export function decideUrl(ctx: FlowContext, host: Host, path: string, method: string, user: string | null): UrlDecision {
  return (ctx.urlPolicy?.() ?? NO_URL_RULES).decide({ host, path, method, ...(user ? { user } : {}) });
}

/**
 * A response a url rule denies by its type: the client gets the block page instead (the
 * origin's connection is closed, its body unread).
 */
export class ResponseDeniedError extends Error {
  override name = "ResponseDeniedError";
  readonly decision: UrlDecision;
  /** The status of the origin's response, which the client does not get. */
  readonly originStatus: number;
  constructor(decision: UrlDecision, originStatus: number) {
    super(decision.reason);
    this.decision = decision;
    this.originStatus = originStatus;
  }
}

/**
 * The exchange options for a request the url rules allowed: the deciding rule's header edits
 * and, when rules with `responseTypes` matched the request ahead of it, the check of the
 * response's type. A response rule that allows is told to `byResponse` (the request's line
 * names it); one that denies is thrown as {@link ResponseDeniedError}. A response without
 * content and without Content-Type (204, 304, an empty redirect, a HEAD answer without one)
 * is not checked.
 */
export function urlExchangeOptions(decision: UrlDecision, byResponse: (d: UrlDecision) => void): ExchangeOptions {
  const { requestHeaders: up, responseHeaders: down } = decision;
  const checked = decision.byResponse !== undefined || decision.byResponseLenient !== undefined;
  return {
    ...(up ? { requestHeaders: (h: HeaderList) => applyHeaderEdits(h, up) } : {}),
    ...(down ? { responseHeaders: (h: HeaderList) => applyHeaderEdits(h, down) } : {}),
    ...(checked ? { checkResponse: (head: ResponseHead, framing: BodyFraming) => checkResponse(decision, head, framing, byResponse) } : {}),
  };
}

function checkResponse(decision: UrlDecision, head: ResponseHead, framing: BodyFraming, byResponse: (d: UrlDecision) => void): Error | undefined {
  const types = head.headers.getAll("content-type");
  const empty = framing.kind === "none" || (framing.kind === "length" && framing.length === 0);
  if (empty && types.length === 0) return undefined;
  const decided = decideResponse(decision, declaredMediaTypes(types));
  if (decided === undefined) return undefined;
  if (decided.action === "deny") return new ResponseDeniedError(decided, head.status);
  byResponse(decided);
  return undefined;
}
