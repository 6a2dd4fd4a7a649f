/**
 * Config schema for `blockPage`: what a denied browser sees (see `block/block-page.ts`).
 * The template file is read, and its placeholders checked, when the gateway starts or
 * reloads; the redirect URL is checked here.
 * @module
 */
import * as v from "valibot";
import { compileRedirect } from "../block/block-page.ts";
import { messageError } from "../policy/message.ts";
import { boolean, checkedString, filePath, isPlainObject, object } from "./schema-kit.ts";

const redirectSchema = checkedString("a block portal URL", (text) => {
  if (!/^[\x21-\x7e]+$/.test(text.replace(/\{\{\s*[A-Za-z]+\s*\}\}/g, "x"))) return `expected a URL of printable ASCII without spaces, got ${JSON.stringify(text)}`;
  try {
    compileRedirect(text);
    return undefined;
  } catch (e) {
    return (e as Error).message.replace(/^blockPage\.redirect: /, "");
  }
});

/**
 * `"blockPage": {template?, redirect?, interceptDenied?}`:
 * - `template`: an HTML file with `{{placeholders}}` instead of the built-in page;
 * - `redirect`: send denied requests to a block portal, e.g.
 *   `"https://portal.example/blocked?url={{url}}&rule={{rule}}"` (not with `template`);
 * - `interceptDenied`: show the page for denied HTTPS too, by completing the CONNECT (or the
 *   transparent handshake) with a minted certificate; needs `ca` (default false).
 */
export const blockPageSchema = v.pipe(
  object({
    template: v.optional(filePath),
    redirect: v.optional(redirectSchema),
    interceptDenied: v.optional(boolean, false),
  }),
  v.check((b) => b.template === undefined || b.redirect === undefined, 'expected "template" or "redirect", not both (a redirect shows no page of ours)'),
);

/** A rule's `message` (see `policy/message.ts`). */
export const messageSchema = checkedString("a message", (text) => messageError(text));

/** Report `blockPage.interceptDenied` without a CA (at `blockPage.interceptDenied`). */
export function interceptDeniedNeedsCa<T>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const config: unknown = dataset.value;
    if (!isPlainObject(config) || config["ca"] !== undefined || !isPlainObject(config["blockPage"])) return;
    const block = config["blockPage"];
    if (block["interceptDenied"] !== true) return;
    addIssue({
      message: 'a CA is required to show the block page over TLS; run "tollgate ca init"',
      path: [
        { type: "object", origin: "value", input: config, key: "blockPage", value: block },
        { type: "object", origin: "value", input: block, key: "interceptDenied", value: true },
      ],
    });
  });
}
