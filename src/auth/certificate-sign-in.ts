/**
 * Signing in with a client certificate (mutual TLS on an HTTPS proxy or reverse listener): the
 * certificate the client presented in its handshake is verified against the listener's CAs
 * (and CRLs), and names the user.
 * @module
 */
import type { ClientCertificateUserField } from "../reverse/config-types.ts";
import type { ClientCertificateTrust, VerifiedClientCertificate } from "../pki/client-cert-trust.ts";
import { USER_NAME_RE } from "../config/schema-kit.ts";
import type { CertificateGroupsOf } from "./certificate-groups.ts";
import { DirectoryUnavailableError } from "./ldap/directory-session.ts";
import { DIRECTORY_RETRY_AFTER_MS, uncheckedAnswer } from "./proxy-auth.ts";

/** A listener's `tls.clientCertificates` as in force. */
export interface ClientCertificatePolicy {
  readonly trust: ClientCertificateTrust;
  /** true: no valid certificate, no service; false: a client without one goes on to `proxyAuth`. */
  readonly required: boolean;
  readonly user: ClientCertificateUserField;
  /** Reverse listeners: backends get the verified certificate (`Client-Cert`, RFC 9440). */
  readonly forwardCertificate?: boolean;
}

/** What a connection's certificate makes of its requests. */
export type CertificateSignIn =
  /** No certificate, and none required: `proxyAuth` (if any) decides. */
  | { readonly kind: "none" }
  | { readonly kind: "user"; readonly user: string; readonly groups: readonly string[]; readonly certificate: VerifiedClientCertificate }
  /**
   * Refused: no certificate where one is required, or one that does not verify or names no
   * user; or (`said`: what the client is told instead of the reason, which names the
   * directory's tree) a user `groups.required` refuses.
   */
  | { readonly kind: "refused"; readonly reason: string; readonly said?: string }
  /** Not checked: the directory that tells `user`'s groups cannot tell now (503, retry later). */
  | { readonly kind: "unchecked"; readonly user: string; readonly reason: string };

/** The flow rule of a refusal, in flow lines and block pages. */
export const CERTIFICATE_RULE = "client-certificate";

/**
 * The answer to a request whose certificate user's groups the directory could not tell:
 * `503` with `Retry-After`, as for a password it could not check.
 */
export function uncheckedCertificateAnswer(signIn: { readonly reason: string }): { readonly status: 429 | 503; readonly message: string; readonly retryAfter: string } {
  return uncheckedAnswer({ ok: false, reason: signIn.reason, retryAfterMs: DIRECTORY_RETRY_AFTER_MS, busy: true, unavailable: true })!;
}

/**
 * What `der` (the client's certificate, null for none) makes of a request under `policy`.
 * A certificate that is presented but not valid is refused even where none is required: a
 * client sending a revoked or foreign certificate does not fall back to a password.
 * `groupsOf`: the groups of a user of that name (the local `proxyAuth` user's, or the
 * directory's), lower case; it may refuse the user (`groups.required`).
 *
 * @example
 * ```ts
 * const signIn = await certificateSignIn(session.peerCertificateDer ?? null, policy, () => []);
 * if (signIn.kind === "user") flow.signedIn(signIn.user, signIn.groups);
 * ```
 */
export async function certificateSignIn(
  der: Uint8Array | null,
  policy: ClientCertificatePolicy,
  groupsOf: CertificateGroupsOf,
): Promise<CertificateSignIn> {
  if (!der) return policy.required ? { kind: "refused", reason: "no client certificate" } : { kind: "none" };
  const verdict = await policy.trust.verify([der]);
  if (!verdict.ok) return { kind: "refused", reason: verdict.reason };
  const named = certificateUser(verdict.certificate, policy.user);
  if (!named.ok) return { kind: "refused", reason: named.reason };
  let groups;
  try {
    groups = await groupsOf(named.user);
  } catch (e) {
    if (e instanceof DirectoryUnavailableError) return { kind: "unchecked", user: named.user, reason: `not checked: ${e.message}` };
    throw e;
  }
  if ("refused" in groups) return { kind: "refused", reason: groups.refused, said: `user ${JSON.stringify(named.user)} is in no group that may sign in` };
  return { kind: "user", user: named.user, groups, certificate: verdict.certificate };
}

/**
 * The user a verified certificate names by `field`: the subject's CN, its e-mail address or
 * its UPN (the first one, when it has several), as written. It must be a name a user can
 * have (1–64 characters, no colon or control characters).
 */
export function certificateUser(
  cert: VerifiedClientCertificate,
  field: ClientCertificateUserField,
): { readonly ok: true; readonly user: string } | { readonly ok: false; readonly reason: string } {
  const subject = JSON.stringify(cert.subject);
  // as written, never case-folded: rules and local users are compared exactly, and folding
  // could turn a look-alike (the Kelvin sign in "\u212Aate") into someone else's name
  const value = field === "cn" ? cert.commonName : field === "email" ? cert.emails[0] : cert.upns[0];
  if (value === undefined || value === null || value === "") {
    const what = field === "cn" ? "common name (CN)" : field === "email" ? "e-mail address" : "user principal name (UPN)";
    return { ok: false, reason: `the client certificate ${subject} has no ${what} to take the user name from` };
  }
  if (!USER_NAME_RE.test(value)) {
    return { ok: false, reason: `the client certificate ${subject} names user ${JSON.stringify(value.slice(0, 80))}, which cannot be a user name (1-64 characters, no colon or control characters)` };
  }
  return { ok: true, user: value };
}
