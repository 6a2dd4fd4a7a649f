/**
 * URL rules applied to one HTTP request the gateway can read — a decrypted one, or a plain
 * `http://` one (explicit or transparent): the verdict, and the header edits it asks for.
 */
import type { Host, UrlDecision, UrlPolicy } from "../policy/types.ts";
import { applyHeaderEdits } from "../protocol/header-edits.ts";
import type { HeaderList } from "../protocol/http-headers.ts";
import { compileUrlRules } from "../policy/url-rules.ts";
import type { FlowContext } from "./context.ts";
import type { ExchangeOptions } from "./http-exchange.ts";

const NO_URL_RULES: UrlPolicy = compileUrlRules([]);

/** The url rules' verdict on a request (`path` with its query; `user` the connection's). */
export function decideUrl(ctx: FlowContext, host: Host, path: string, method: string, user: string | null): UrlDecision {
  return (ctx.urlPolicy?.() ?? NO_URL_RULES).decide({ host, path, method, ...(user ? { user } : {}) });
}

/** The exchange options that apply an allowing url rule's header edits. */
export function headerEditOptions(decision: UrlDecision): ExchangeOptions {
  const { requestHeaders: up, responseHeaders: down } = decision;
  return {
    ...(up ? { requestHeaders: (h: HeaderList) => applyHeaderEdits(h, up) } : {}),
    ...(down ? { responseHeaders: (h: HeaderList) => applyHeaderEdits(h, down) } : {}),
  };
}
