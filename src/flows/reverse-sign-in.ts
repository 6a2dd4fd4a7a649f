/**
 * Who a request on a reverse listener is: signed in by the connection's client certificate
 * (a listener with `tls.clientCertificates`), checked before the request is routed; then, on a
 * route with `basicAuth`, that user or the password's, held to the route's users and groups.
 * @module
 */
import { CERTIFICATE_RULE, uncheckedCertificateAnswer } from "../auth/certificate-sign-in.ts";
import type { ConnectionCertificate } from "../auth/connection-certificate.ts";
import { basicChallenge, uncheckedAnswer } from "../auth/proxy-auth.ts";
import { checkedInForce } from "../auth/checked-in-force.ts";
import type { HeaderList } from "../protocol/http-headers.ts";
import type { ReverseListenerState } from "../reverse/listener-state.ts";
import type { CompiledRoute } from "../reverse/routes.ts";
import { whoMatches } from "../policy/scope.ts";

/** A request not let through: what to answer and log. */
export interface SignInRefusal {
  readonly status: number;
  /** Said to the client (and logged, unless `logReason`). */
  readonly message: string;
  readonly end: "denied" | "error";
  readonly rule?: string;
  readonly proxyError?: string;
  readonly headers?: readonly (readonly [string, string])[];
  readonly logReason?: string;
  /** The user who signed in, though not let through (a password user a route does not list). */
  readonly user?: string;
}

/** A user the connection's certificate signed in, with their groups. */
export interface CertifiedUser {
  readonly user: string;
  readonly groups: readonly string[];
}

/** What the connection's certificate makes of a request. */
export type CertificateOutcome = { readonly certified: CertifiedUser | undefined } | { readonly refused: SignInRefusal };

/**
 * The connection's certificate checked against the listener's settings in force: refused
 * without a valid one where one is required, or with a bad one at all (`403`, rule
 * `client-certificate`).
 */
export async function requestCertificate(certificate: ConnectionCertificate): Promise<CertificateOutcome> {
  const signIn = await certificate.signIn();
  if (signIn.kind === "refused") {
    const message = signIn.said ?? `A valid client certificate is required: ${signIn.reason}`;
    return { refused: { status: 403, message, end: "denied", rule: CERTIFICATE_RULE, proxyError: "destination_denied", ...(signIn.said ? { logReason: signIn.reason } : {}) } };
  }
  if (signIn.kind === "unchecked") {
    const { status, message, retryAfter } = uncheckedCertificateAnswer(signIn);
    return { refused: { status, message, end: "error", rule: CERTIFICATE_RULE, headers: [["Retry-After", retryAfter]], logReason: signIn.reason } };
  }
  return { certified: signIn.kind === "user" ? { user: signIn.user, groups: signIn.groups } : undefined };
}

/**
 * The user `route` lets through (null: a route without `basicAuth`, anyone). With
 * `basicAuth`, a user `certified` is held to its users and groups without a password;
 * otherwise the `Authorization` credentials are checked: none or wrong `401` with the route's
 * challenge, too many failures `429`/`503`, a user neither listed nor a member `403`.
 */
export async function routeUser(
  route: CompiledRoute,
  certified: CertifiedUser | undefined,
  state: ReverseListenerState,
  headers: HeaderList,
  clientIp: string,
): Promise<{ readonly user: string | null } | { readonly refused: SignInRefusal }> {
  const auth = route.config.basicAuth;
  if (!auth) return { user: certified?.user ?? null };
  const groups = auth.groups?.map((g) => g.toLowerCase());
  // the client is not told the route's id (an inside name, see reverse/error-pages.ts); the log is
  const notListed = (user: string): SignInRefusal => ({
    status: 403,
    message: `User ${JSON.stringify(user)} is not allowed here`,
    logReason: `User ${JSON.stringify(user)} is not allowed on route "${route.id}"`,
    end: "denied",
    proxyError: "destination_denied",
  });
  if (certified) {
    // the certificate signed the user in: no password asked, the route's users and groups decide
    return whoMatches(auth.users, groups?.length ? groups : undefined, certified) ? { user: certified.user } : { refused: notListed(certified.user) };
  }
  const credentials = state.credentials();
  const checked = credentials
    ? await checkedInForce(credentials, state.credentials, (c) => c.check(headers.get("authorization"), "Authorization", clientIp))
    : { ok: false as const, reason: "no proxyAuth users" };
  const unchecked = uncheckedAnswer(checked);
  if (unchecked && !checked.ok) {
    return { refused: { status: unchecked.status, message: unchecked.message, end: unchecked.status === 503 ? "error" : "denied", headers: [["Retry-After", unchecked.retryAfter]], logReason: checked.reason } };
  }
  if (!checked.ok) {
    const challenge: [string, string] = ["WWW-Authenticate", basicChallenge(auth.realm)];
    return { refused: { status: 401, message: "A user name and password are needed here", end: "denied", headers: [challenge], logReason: checked.reason } };
  }
  if (!whoMatches(auth.users, groups?.length ? groups : undefined, checked)) return { refused: { ...notListed(checked.user), user: checked.user } };
  return { user: checked.user };
}
