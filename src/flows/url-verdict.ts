/**
 * URL rules applied to one HTTP request the gateway can read — a decrypted one, or a plain
 * `http://` one (explicit or transparent): the verdict, the header edits it asks for, and the
 * check of the response's type by rules with `responseTypes`.
 */
import type { Host, UrlDecision, UrlPolicy } from "../policy/types.ts";
import type { Who } from "../policy/scope.ts";
import { decideResponse } from "../policy/response-types.ts";
import type { BodyFraming } from "../protocol/body-framing.ts";
import { applyHeaderEdits, editedNames, NO_EDITS } from "../protocol/header-edits.ts";
import type { HeaderList } from "../protocol/http-headers.ts";
import { requestOverrides } from "../protocol/request-overrides.ts";
import type { ResponseHead } from "../protocol/http-response-head.ts";
import { declaredMediaTypes } from "../protocol/media-type.ts";
import { OVERRIDE_FIELDS, withoutFields } from "../reverse/forwarded.ts";
import { compileUrlRules } from "../policy/url-rules.ts";
import type { FlowContext } from "./context.ts";
import type { BodyLimit, ExchangeOptions } from "./http-exchange.ts";

const NO_URL_RULES: UrlPolicy = compileUrlRules([]);

/**
 * The url rules' verdict on a request (`path` with its query; `who` the connection's user
 * and groups). The methods and paths its override fields name are judged too: an origin
 * may take `X-HTTP-Method-Override: DELETE` or `X-Original-URL: /admin` as the request.
 */
export function decideUrl(ctx: FlowContext, host: Host, path: string, head: { readonly method: string; readonly headers: HeaderList }, who: Who): UrlDecision {
  const overrides = requestOverrides(head.headers, head.method, path);
  return (ctx.urlPolicy?.() ?? NO_URL_RULES).decide({ host, path, method: head.method, ...who, overrides });
}

/**
 * An exchange the url rules stopped after they allowed its request: a response they deny by
 * its type (403), or a body over the deciding rule's limit (413). Thrown before any of the
 * response reached the client, the client gets the block page with `status` instead (the
 * origin's connection is closed, its body unread); thrown mid-body (a body of unknown length
 * that passed a limit), the connection is cut off.
 */
export class UrlRefusalError extends Error {
  override name = "UrlRefusalError";
  readonly decision: UrlDecision;
  readonly status: 403 | 413;
  constructor(decision: UrlDecision, status: 403 | 413) {
    super(decision.reason);
    this.decision = decision;
    this.status = status;
  }
}

/** `10485760` → "10 MiB (10485760 bytes)", `2000` → "2.0 KiB (2000 bytes)", `1000` → "1000 bytes". */
export function bytesText(n: number): string {
  for (const [unit, size] of [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]] as const) {
    if (n >= size) return `${n % size === 0 ? n / size : (n / size).toFixed(1)} ${unit} (${n} bytes)`;
  }
  return `${n} bytes`;
}

/** The limits of an allowing decision, as exchange options. */
function bodyLimits(decision: UrlDecision): ExchangeOptions["bodyLimits"] {
  const limit = (what: "request" | "response", bytes: number): BodyLimit => ({
    bytes,
    exceeded: (length) => {
      const has = length === undefined ? "this one went past it" : `this one has ${bytesText(length)}`;
      const reason = `url rule ${JSON.stringify(decision.ruleId)} allows ${what} bodies of up to ${bytesText(bytes)}; ${has}`;
      return new UrlRefusalError({ ...withoutExtras(decision), action: "deny", reason }, 413);
    },
  });
  const { maxRequestBytes: up, maxResponseBytes: down } = decision;
  if (up === undefined && down === undefined) return undefined;
  return { ...(up === undefined ? {} : { request: limit("request", up) }), ...(down === undefined ? {} : { response: limit("response", down) }) };
}

/** The decision's rule, log and message, without what only an allow carries. */
function withoutExtras(d: UrlDecision): UrlDecision {
  return { action: d.action, ruleId: d.ruleId, reason: d.reason, log: d.log, ...(d.message !== undefined ? { message: d.message } : {}) };
}

/**
 * The exchange options for a request the url rules allowed: the deciding rule's header edits
 * (applied to the fields; the names it edits dropped from trailers, with the override
 * fields) and body limits and, when rules with `responseTypes` matched the request ahead of
 * it, the check of the response's type. A response rule that allows is told to `byResponse` (the
 * request's line names it); one that denies, and a body over a limit, are thrown as
 * {@link UrlRefusalError}. A response without content and without Content-Type (204, 304,
 * an empty redirect, a HEAD answer without one) is not checked.
 */
export function urlExchangeOptions(decision: UrlDecision, byResponse: (d: UrlDecision) => void): ExchangeOptions {
  const { requestHeaders: up, responseHeaders: down } = decision;
  const checked = decision.byResponse !== undefined || decision.byResponseOther !== undefined;
  const limits = bodyLimits(decision);
  // the trailers of a chunked request go on after the head was judged and edited: none may
  // name a method or path, nor bring the client's own value of a field the rule edits (an
  // origin that merges trailers into the fields would take them for the request's own)
  const dropped = [...OVERRIDE_FIELDS, ...editedNames(up ?? NO_EDITS)];
  return {
    requestTrailers: (t: HeaderList) => withoutFields(t, dropped),
    ...(limits ? { bodyLimits: limits } : {}),
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
  if (decided.action === "deny") return new UrlRefusalError(decided, 403);
  byResponse(decided);
  return undefined;
}
