/**
 * The client certificate of one connection (an HTTPS proxy or reverse listener with
 * `tls.clientCertificates`), checked for each of its requests against the listener's settings
 * in force then, and again after a reload for what is still open on it (a tunnel, an upgraded
 * connection): a certificate the new CRL revokes does not keep its tunnels.
 * @module
 */
import type { CertificateGroupsOf } from "./certificate-groups.ts";
import { type CertificateSignIn, certificateSignIn, type ClientCertificatePolicy } from "./certificate-sign-in.ts";

/** What a connection refused since it was made says (the listener changed under it). */
const CHANGED = "the listener's client certificate settings changed since this connection was made; connect again";

/**
 * A connection's certificate and what it made of the connection's last request.
 *
 * @example
 * ```ts
 * const cert = new ConnectionCertificate(session.peerCertificateDer ?? null, true, () => state().tls?.clientCertificates, groupsOf);
 * const signIn = await cert.signIn(); // each request
 * const why = await cert.revocation(); // after a reload: a reason closes what is open
 * ```
 */
export class ConnectionCertificate {
  /** The certificate (DER) the client presented in its handshake; null: none (or not asked). */
  readonly der: Uint8Array | null;
  /** The listener asked for client certificates when the connection was made. */
  readonly asked: boolean;
  readonly #inForce: () => ClientCertificatePolicy | undefined;
  readonly #groupsOf: CertificateGroupsOf;
  /** The settings the last sign-in was made under, and what it made. */
  #last: { readonly policy: ClientCertificatePolicy | undefined; readonly signIn: CertificateSignIn } | undefined;

  /**
   * `inForce`: the listener's `clientCertificates` as in force now (undefined: it takes none
   * now, or is no longer that kind of listener). `groupsOf`: a user's groups by name.
   */
  constructor(der: Uint8Array | null, asked: boolean, inForce: () => ClientCertificatePolicy | undefined, groupsOf: CertificateGroupsOf) {
    this.der = der;
    this.asked = asked;
    this.#inForce = inForce;
    this.#groupsOf = groupsOf;
  }

  /**
   * What the certificate makes of a request under the settings in force now. A connection
   * asked for a certificate whose listener no longer takes any (renamed, or made another
   * kind by a reload) is refused rather than let on without one: a new connection gets what
   * the listener is now. One made before the listener took certificates has none, and is
   * refused where they are required.
   */
  async signIn(): Promise<CertificateSignIn> {
    let policy = this.#inForce();
    let signIn = await this.#judge(policy);
    // a reload while it was checked (a cold check takes about a millisecond): its recheck
    // found nothing signed in yet, so the settings it put in force are the ones that count
    for (let again = this.#inForce(); again !== policy; again = this.#inForce()) {
      policy = again;
      signIn = await this.#judge(policy);
    }
    this.#last = { policy, signIn };
    return signIn;
  }

  /**
   * Why what the last sign-in let through may not go on under the settings in force now, or
   * undefined: the certificate is refused now (revoked by a new CRL, its CA removed, no
   * longer taken), or it names another user now. Settings that are the very ones of the last
   * sign-in (a reload that left the listener's files alone) are not checked again; then only
   * the certificate's expiry (at `at`) is.
   */
  async revocation(at: number = Date.now()): Promise<string | undefined> {
    const last = this.#last;
    const policy = this.#inForce();
    if (!last || last.signIn.kind === "refused" || last.signIn.kind === "unchecked") return undefined;
    if (policy === last.policy) {
      const notAfter = last.signIn.kind === "user" ? last.signIn.certificate.notAfter : undefined;
      return notAfter && at > notAfter.getTime() ? `its client certificate expired at ${notAfter.toISOString()}` : undefined;
    }
    const now = await this.#judge(policy);
    // a request signed in meanwhile (under settings at least as new) has the last word; an
    // unchecked one is no sign-in to remember
    if (this.#last === last && now.kind !== "unchecked") this.#last = { policy, signIn: now };
    if (now.kind === "refused") return `its client certificate is refused now: ${now.reason}`;
    // the user it names now, even while the directory cannot tell their groups
    const named = now.kind === "user" || now.kind === "unchecked" ? now.user : undefined;
    if (last.signIn.kind === "user" && named !== last.signIn.user) {
      return `its client certificate ${named === undefined ? "signs no one in" : `names user ${JSON.stringify(named)}`} now, not ${JSON.stringify(last.signIn.user)}`;
    }
    // the same user, whose groups the directory may not be able to tell now: nothing to close for that
    return undefined;
  }

  #judge(policy: ClientCertificatePolicy | undefined): Promise<CertificateSignIn> {
    if (policy) return certificateSignIn(this.der, policy, this.#groupsOf);
    if (this.asked) return Promise.resolve({ kind: "refused", reason: CHANGED });
    return Promise.resolve({ kind: "none" });
  }
}
