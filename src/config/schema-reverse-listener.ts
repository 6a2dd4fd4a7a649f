/**
 * Config schema for the fields of `"reverse"` and `"redirect-https"` listeners (and the `tls`
 * of HTTPS proxy listeners), and their conversion to the domain types of
 * `reverse/config-types.ts`. The `reverse` section itself is in `schema-reverse.ts`.
 * @module
 */
import * as v from "valibot";
import type { ListenerBase } from "./listener-base.ts";
import { certificateNameError, mintPatternError } from "../reverse/cert-store.ts";
import type { RedirectHttpsListenerConfig, ReverseListenerConfig, ReverseTlsConfig } from "../reverse/config-types.ts";
import { boolean, checkedString, cidrList, expected, filePath, integer, isPlainObject, object } from "./schema-kit.ts";

/** A TLS version setting (listeners' and pools' `minVersion`). */
export const tlsVersion = v.picklist(["TLSv1.2", "TLSv1.3"], expected('"TLSv1.2" or "TLSv1.3"'));

const certificateSchema = v.pipe(
  object({
    cert: filePath,
    key: filePath,
    /** Names the certificate is served for; default: its subjectAltName DNS names. */
    names: v.optional(v.array(checkedString('a server name or "*.suffix"', certificateNameError), expected("an array of server names"))),
    /** The certificate for unknown names (default: the first). */
    default: v.optional(boolean, false),
  }),
  v.check((c) => c.cert !== c.key, 'expected "key" to be a file other than "cert"'),
);

/**
 * `tls.clientCertificates` of an HTTPS proxy or reverse listener: clients sign in with a
 * certificate from `caFile` (mutual TLS), checked against `crlFile` when given.
 */
const clientCertificatesSchema = object({
  /** PEM: the CA certificates that issue client certificates (an intermediate must be here itself). */
  caFile: filePath,
  /** PEM: CRLs of those CAs; with it, every client certificate is checked against its issuer's. */
  crlFile: v.optional(filePath),
  /** false: a client without a certificate goes on to `proxyAuth` (or none); one with a bad certificate is still refused. */
  required: v.optional(boolean, true),
  /** Where the user name is taken from (as written): the subject's CN, its e-mail address, or its Microsoft UPN. */
  user: v.optional(v.picklist(["cn", "email", "upn"], expected('"cn", "email" or "upn"')), "cn"),
  /** Reverse listeners: the backend gets the verified certificate in `Client-Cert` (RFC 9440). */
  forwardCertificate: v.optional(boolean, false),
});

/** A reverse listener's `tls`: certificates and what to do with unknown names. */
const reverseTlsSchema = v.pipe(
  object({
    certificates: v.optional(v.array(certificateSchema, expected("an array of certificates")), []),
    unknownSni: v.optional(v.picklist(["default", "refuse"], expected('"default" or "refuse"')), "default"),
    mint: v.optional(v.array(checkedString('a host name or "*.suffix"', mintPatternError), expected("an array of host patterns")), []),
    minVersion: v.optional(tlsVersion, "TLSv1.2"),
    clientCertificates: v.optional(clientCertificatesSchema),
  }),
  v.check((t) => t.certificates.filter((c) => c.default).length <= 1, "expected at most one certificate marked \"default\""),
  v.check(
    (t) => t.certificates.length > 0 || (t.unknownSni === "refuse" && t.mint.length > 0),
    'expected at least one certificate (without any, "unknownSni" must be "refuse" and "mint" must name hosts)',
  ),
);

/** Fields of `reverse` and `redirect-https` listeners, spread into the listener object. */
export const reverseListenerFields = {
  /** reverse: TLS settings, or false for plain HTTP. Required. explicit: TLS to the proxy itself (an HTTPS proxy); absent or false: plain. */
  tls: v.optional(v.lazy((input) => (isPlainObject(input) ? reverseTlsSchema : v.literal(false, expected('{"certificates": […]} or false (plain HTTP)'))))),
  /** reverse: proxies whose X-Forwarded-* / Forwarded fields are believed. explicit: child proxies whose X-Forwarded-For names the client. */
  trustForwardedFrom: v.optional(cidrList),
  /** reverse: proxies whose X-Forwarded-User / Client-Cert fields reach backends (where the gateway signs no one in). */
  trustIdentityFrom: v.optional(cidrList),
  /** redirect-https: the port in the Location URL (default 443). */
  httpsPort: v.optional(integer(1, 65535)),
};

/** The modes each reverse listener field is valid for (merged into the listener schema's table). */
export const REVERSE_FIELD_MODES: Readonly<Record<string, readonly string[]>> = {
  tls: ["reverse", "explicit"],
  trustForwardedFrom: ["reverse", "explicit"],
  trustIdentityFrom: ["reverse"],
  httpsPort: ["redirect-https"],
};

/** Reports a `reverse` listener without `tls` (at `tls`). */
export function reverseListenerRequired<T>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const listener: unknown = dataset.value;
    if (!isPlainObject(listener) || listener["mode"] !== "reverse" || listener["tls"] !== undefined) return;
    addIssue({
      message: 'required for reverse listeners: {"certificates": [{"cert": "…", "key": "…"}]}, or false for plain HTTP',
      path: [{ type: "object", origin: "value", input: listener, key: "tls", value: undefined }],
    });
  });
}

/** Reports `tls.clientCertificates.forwardCertificate` on an HTTPS proxy listener: it has no backend to give it to. */
export function forwardCertificateReverseOnly<T>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const listener: unknown = dataset.value;
    if (!isPlainObject(listener) || listener["mode"] !== "explicit") return;
    const tls = listener["tls"];
    const certs = isPlainObject(tls) ? tls["clientCertificates"] : undefined;
    if (!isPlainObject(tls) || !isPlainObject(certs) || certs["forwardCertificate"] !== true) return;
    addIssue({
      message: "forwardCertificate is for reverse listeners, which have backends to give the certificate to; an HTTPS proxy listener signs the user in with it",
      path: [
        { type: "object", origin: "value", input: listener, key: "tls", value: tls },
        { type: "object", origin: "value", input: tls, key: "clientCertificates", value: certs },
        { type: "object", origin: "value", input: certs, key: "forwardCertificate", value: true },
      ],
    });
  });
}

type WireTls = v.InferOutput<typeof reverseTlsSchema>;

/** The domain form of a `reverse` listener. */
export function toReverseListener(
  base: ListenerBase,
  tls: WireTls | false | undefined,
  trustForwardedFrom: readonly string[] | undefined,
  trustIdentityFrom: readonly string[] | undefined,
): ReverseListenerConfig {
  return {
    ...base,
    mode: "reverse",
    tls: tls ? toListenerTls(tls) : null,
    trustForwardedFrom: [...(trustForwardedFrom ?? [])],
    trustIdentityFrom: [...(trustIdentityFrom ?? [])],
  };
}

/** The domain form of a `redirect-https` listener. */
export function toRedirectListener(
  base: ListenerBase,
  httpsPort: number | undefined,
): RedirectHttpsListenerConfig {
  return { ...base, mode: "redirect-https", httpsPort: httpsPort ?? 443 };
}

/** The domain form of a listener's `tls` (a reverse listener's, an HTTPS proxy's). */
export function toListenerTls(t: WireTls): ReverseTlsConfig {
  const marked = t.certificates.findIndex((c) => c.default);
  return {
    certificates: t.certificates.map((c) => ({ cert: c.cert, key: c.key, ...(c.names ? { names: [...c.names] } : {}) })),
    defaultCertificate: marked < 0 ? 0 : marked,
    unknownSni: t.unknownSni,
    mint: [...t.mint],
    minVersion: t.minVersion,
    ...(t.clientCertificates ? { clientCertificates: { ...t.clientCertificates } } : {}),
  };
}
