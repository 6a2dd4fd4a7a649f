/**
 * Config schema for `listeners`: explicit proxies and transparent listeners and the fields
 * each mode allows. (That rules scoped to listeners name existing ones: `rule-names.ts`.)
 * Mode-dependent defaults (`upstreamPort`, `noSni`, `ech`) are applied by `parseConfig`.
 * @module
 */
import * as v from "valibot";
import { listenAddressError, parseListenAddress, upstreamAddressError } from "./listen.ts";
import { checkedString, cidrList, expected, id, integer, isPlainObject, object, ownString, unique } from "./schema-kit.ts";
import { forwardCertificateReverseOnly, REVERSE_FIELD_MODES, reverseListenerFields, reverseListenerRequired } from "./schema-reverse-listener.ts";

/** Listener modes a config may name. */
export const LISTENER_MODES = ["explicit", "socks5", "transparent", "transparent-http", "reverse", "redirect-https"] as const;

/**
 * `"noSni"` of a transparent listener: `"deny"` (refuse ClientHellos without SNI) or
 * `{"action": "allow", "upstream": "host:port"}` (splice them to that fixed upstream; the
 * policy is still applied to that host).
 */
const noSniSchema = v.lazy((input) =>
  isPlainObject(input)
    ? object({
      action: v.picklist(["allow"], expected('"allow" (or write "deny" instead of an object)')),
      upstream: checkedString('"host:port"', upstreamAddressError),
    })
    : v.picklist(["deny"], expected('"deny" or {"action": "allow", "upstream": "host:port"}'))
);

/** The modes each mode-specific field is valid for. */
const FIELD_MODES: Readonly<Record<string, readonly string[]>> = {
  upstreamPort: ["transparent", "transparent-http"],
  noSni: ["transparent"],
  ech: ["transparent"],
  ...REVERSE_FIELD_MODES,
};

/** Report fields given for a mode that does not use them (at the field). */
function fieldsMatchMode<T>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const listener: unknown = dataset.value;
    if (!isPlainObject(listener)) return;
    const mode = listener["mode"];
    if (typeof mode !== "string" || !(LISTENER_MODES as readonly string[]).includes(mode)) return;
    for (const [field, modes] of Object.entries(FIELD_MODES)) {
      if (listener[field] === undefined || modes.includes(mode)) continue;
      const names = modes.map((m) => JSON.stringify(m)).join(" and ");
      addIssue({
        message: `only valid for ${names} listeners (this one is ${JSON.stringify(mode)})`,
        path: [{ type: "object", origin: "value", input: listener, key: field, value: listener[field] }],
      });
    }
  });
}

const listenerObject = object({
  name: v.optional(id),
  mode: v.picklist(LISTENER_MODES, expected('"explicit", "socks5", "transparent", "transparent-http", "reverse" or "redirect-https"')),
  listen: checkedString('"host:port"', listenAddressError),
  /** Client source CIDRs allowed to use this listener (absent = any client). */
  clients: v.optional(cidrList),
  /**
   * Every connection starts with a PROXY protocol header (v1 or v2) from a load balancer in
   * `from`; the client it names is the one policy, `clients` and the logs see.
   */
  proxyProtocol: v.optional(object({
    from: v.pipe(cidrList, v.check((list) => list.length > 0, "expected at least one load balancer address or CIDR, got an empty array")),
  })),
  /** transparent, transparent-http: the port dialled on the host named by SNI / Host (default 443 / 80). */
  upstreamPort: v.optional(integer(1, 65535)),
  /** transparent: what to do with a ClientHello without SNI (default "deny"). */
  noSni: v.optional(noSniSchema),
  /** transparent: "policy" (default) or "block" ClientHellos offering encrypted_client_hello. */
  ech: v.optional(v.picklist(["policy", "block"], expected('"policy" or "block"'))),
  /** reverse: tls, trustForwardedFrom, trustIdentityFrom; explicit: tls, trustForwardedFrom; redirect-https: httpsPort (see schema-reverse-listener.ts). */
  ...reverseListenerFields,
});

const listenerSchema = v.pipe(
  listenerObject,
  fieldsMatchMode<v.InferOutput<typeof listenerObject>>(),
  reverseListenerRequired<v.InferOutput<typeof listenerObject>>(),
  forwardCertificateReverseOnly<v.InferOutput<typeof listenerObject>>(),
);

/** `listeners`: at least one; names and listen addresses unique. */
export const listenersSchema = v.pipe(
  v.array(listenerSchema, expected("an array of listeners")),
  v.check((list) => list.length > 0, "expected at least one listener, got an empty array"),
  unique("name", "listener name", (item, index) => ownString(item, "name", `listener-${index + 1}`)),
  unique("listen", "listen address", (item) => {
    if (typeof item["listen"] !== "string" || listenAddressError(item["listen"]) !== undefined) return undefined;
    const { hostname, port } = parseListenAddress(item["listen"]);
    return port === 0 ? undefined : `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  }),
);
