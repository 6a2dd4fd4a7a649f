import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ClientCertificatePolicy } from "../../src/auth/certificate-sign-in.ts";
import { ConnectionCertificate } from "../../src/auth/connection-certificate.ts";
import { DirectoryUnavailableError } from "../../src/auth/ldap/directory.ts";
import type { ClientCertificateTrust, ClientCertificateVerdict, VerifiedClientCertificate } from "../../src/pki/client-cert-trust.ts";

function verified(commonName: string): VerifiedClientCertificate {
  return {
    subject: `CN=${commonName}`,
    issuer: "CN=Corp Client CA",
    serial: "1001",
    sha256: "ab".repeat(32),
    notAfter: new Date("2027-01-01T00:00:00Z"),
    commonName,
    emails: [`${commonName}@corp.example`],
    upns: [],
  };
}

/** A listener's settings whose trust answers `verdict`, counting what it is asked. */
function settings(verdict: ClientCertificateVerdict, over: Partial<ClientCertificatePolicy> = {}): ClientCertificatePolicy & { readonly asked: () => number } {
  let asked = 0;
  const trust: ClientCertificateTrust = { caPem: [], crlNextUpdate: null, verify: () => (asked++, Promise.resolve(verdict)) };
  return { trust, required: true, user: "cn", ...over, asked: () => asked };
}

const der = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]);
const alice: ClientCertificateVerdict = { ok: true, certificate: verified("alice") };
const revoked: ClientCertificateVerdict = { ok: false, reason: 'certificate "CN=alice" (serial 1001) was revoked at 2026-11-24T10:00:00.000Z' };

/** A connection whose listener's settings are whatever `inForce.now` is. */
function connection(first: ClientCertificatePolicy | undefined, certificate: Uint8Array | null = der, asked = true) {
  const inForce = { now: first };
  const cert = new ConnectionCertificate(certificate, asked, () => inForce.now, (u) => (u === "alice" ? ["staff"] : []));
  return { cert, inForce };
}

describe("ConnectionCertificate", () => {
  it("signs each request in under the settings in force when it arrives", async () => {
    const before = settings(alice);
    const { cert, inForce } = connection(before);
    assert.deepEqual(await cert.signIn(), { kind: "user", user: "alice", groups: ["staff"], certificate: verified("alice") });
    inForce.now = settings(revoked);
    assert.deepEqual(await cert.signIn(), { kind: "refused", reason: revoked.ok ? "" : revoked.reason });
  });

  it("after a reload, says why what its last request opened may not go on: revoked now", async () => {
    const { cert, inForce } = connection(settings(alice));
    await cert.signIn();
    inForce.now = settings(revoked);
    assert.equal(await cert.revocation(), `its client certificate is refused now: ${revoked.ok ? "" : revoked.reason}`);
  });

  it("does not check again under the very settings of the last sign-in (a reload that left the files alone)", async () => {
    const same = settings(alice);
    const { cert } = connection(same);
    await cert.signIn();
    assert.equal(same.asked(), 1);
    assert.equal(await cert.revocation(), undefined);
    assert.equal(same.asked(), 1, "nothing verified again");
  });

  it("under the same settings, only the expiry is looked at: past the certificate's notAfter, it keeps nothing open", async () => {
    const same = settings(alice);
    const { cert } = connection(same);
    await cert.signIn();
    const notAfter = Date.parse("2027-01-01T00:00:00Z");
    assert.equal(await cert.revocation(notAfter), undefined, "valid through its last second");
    assert.equal(await cert.revocation(notAfter + 1), "its client certificate expired at 2027-01-01T00:00:00.000Z");
    assert.equal(same.asked(), 1, "no signature checked for it");
  });

  it("new settings that still take the certificate let it go on, and are not checked twice", async () => {
    const { cert, inForce } = connection(settings(alice));
    await cert.signIn();
    const renewed = settings(alice);
    inForce.now = renewed;
    assert.equal(await cert.revocation(), undefined);
    assert.equal(await cert.revocation(), undefined);
    assert.equal(renewed.asked(), 1);
  });

  it("a certificate that names another user now (the listener's user field changed) does not keep what alice opened", async () => {
    const { cert, inForce } = connection(settings(alice));
    await cert.signIn();
    inForce.now = settings(alice, { user: "email" });
    assert.equal(await cert.revocation(), 'its client certificate names user "alice@corp.example" now, not "alice"');
  });

  it("a listener that no longer takes certificates refuses what a certificate opened on it", async () => {
    const { cert, inForce } = connection(settings(alice));
    await cert.signIn();
    inForce.now = undefined;
    assert.match(await cert.revocation() ?? "", /^its client certificate is refused now: the listener's client certificate settings changed since this connection was made/);
  });

  it("a client without a certificate, where none was required, is refused once one is", async () => {
    const { cert, inForce } = connection(settings(alice, { required: false }), null);
    assert.deepEqual(await cert.signIn(), { kind: "none" });
    inForce.now = settings(alice, { required: true });
    assert.equal(await cert.revocation(), "its client certificate is refused now: no client certificate");
  });

  it("a connection made before the listener took certificates is refused where they are required, and left alone where they are not", async () => {
    const plain = connection(undefined, null, false);
    assert.deepEqual(await plain.cert.signIn(), { kind: "none" });
    assert.equal(await plain.cert.revocation(), undefined, "nothing changed");
    plain.inForce.now = settings(alice, { required: false });
    assert.equal(await plain.cert.revocation(), undefined);
    plain.inForce.now = settings(alice);
    assert.equal(await plain.cert.revocation(), "its client certificate is refused now: no client certificate");
  });

  it("a reload while a request is being checked: the settings it put in force decide (its recheck found nothing signed in yet)", async () => {
    let release!: () => void;
    const slow: ClientCertificatePolicy = {
      trust: { caPem: [], crlNextUpdate: null, verify: async () => (await new Promise<void>((r) => (release = r)), alice) },
      required: true,
      user: "cn",
    };
    const { cert, inForce } = connection(slow);
    const signingIn = cert.signIn();
    await new Promise((r) => setTimeout(r, 1));
    inForce.now = settings(revoked); // the reload, while the old CRL's check is under way
    release();
    assert.equal((await signingIn).kind, "refused");
    assert.equal(await cert.revocation(), undefined, "signed in (refused) under the settings in force: nothing left to recheck");
  });

  it("a recheck that ends after a newer request signed in does not overwrite it (a later revocation is still seen)", async () => {
    const { cert, inForce } = connection(settings(alice));
    await cert.signIn();
    let release!: () => void;
    const slowRefusal: ClientCertificatePolicy = {
      trust: { caPem: [], crlNextUpdate: null, verify: async () => (await new Promise<void>((r) => (release = r)), revoked) },
      required: true,
      user: "cn",
    };
    inForce.now = slowRefusal; // a reload revoking it
    const checking = cert.revocation();
    await new Promise((r) => setTimeout(r, 1));
    inForce.now = settings(alice); // a second reload takes it back; a new request signs in under it
    assert.equal((await cert.signIn()).kind, "user");
    release();
    await checking;
    inForce.now = settings(revoked); // a third reload revokes it for good
    assert.equal(await cert.revocation(), `its client certificate is refused now: ${revoked.ok ? "" : revoked.reason}`);
  });

  it("nothing to say before a first request, or after one that was refused (that connection is closed anyway)", async () => {
    const { cert, inForce } = connection(settings(revoked));
    inForce.now = settings(alice);
    assert.equal(await cert.revocation(), undefined, "no request yet");
    inForce.now = settings(revoked);
    assert.equal((await cert.signIn()).kind, "refused");
    inForce.now = settings(revoked);
    assert.equal(await cert.revocation(), undefined);
  });

  it("a directory that cannot tell the groups after a reload closes nothing, and leaves the last sign-in in place", async () => {
    const inForce = { now: settings(alice) as ClientCertificatePolicy };
    let directoryUp = true;
    const cert = new ConnectionCertificate(der, true, () => inForce.now, () => (directoryUp ? ["staff"] : Promise.reject(new DirectoryUnavailableError("cannot reach the directory ldaps://dc.test: timed out"))));
    assert.equal((await cert.signIn()).kind, "user");
    directoryUp = false;
    inForce.now = settings(alice);
    assert.equal(await cert.revocation(), undefined);
    inForce.now = settings(revoked);
    assert.match(String(await cert.revocation()), /refused now: .*revoked/, "a later reload that does refuse still closes");
    assert.deepEqual(await cert.signIn(), { kind: "refused", reason: revoked.ok ? "" : revoked.reason });
    inForce.now = settings(alice);
    assert.deepEqual(await cert.signIn(), { kind: "unchecked", user: "alice", reason: "not checked: cannot reach the directory ldaps://dc.test: timed out" });
  });

  it("a certificate that names another user after a reload is closed even while the directory cannot tell that user's groups", async () => {
    const inForce = { now: settings(alice) as ClientCertificatePolicy };
    let directoryUp = true;
    const cert = new ConnectionCertificate(der, true, () => inForce.now, () => (directoryUp ? ["staff"] : Promise.reject(new DirectoryUnavailableError("timed out"))));
    assert.equal((await cert.signIn()).kind, "user");
    directoryUp = false;
    inForce.now = settings(alice, { user: "email" });
    assert.equal(await cert.revocation(), 'its client certificate names user "alice@corp.example" now, not "alice"');
  });
});
