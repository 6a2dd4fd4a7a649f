import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { certificateSignIn, certificateUser, type ClientCertificatePolicy } from "../../src/auth/certificate-sign-in.ts";
import { DirectoryUnavailableError } from "../../src/auth/ldap/directory.ts";
import type { ClientCertificateTrust, ClientCertificateVerdict, VerifiedClientCertificate } from "../../src/pki/client-cert-trust.ts";

function verified(overrides: Partial<VerifiedClientCertificate> = {}): VerifiedClientCertificate {
  return {
    subject: "CN=Alice Smith, O=Corp",
    issuer: "CN=Corp Client CA",
    serial: "1001",
    sha256: "ab".repeat(32),
    notAfter: new Date("2027-01-01T00:00:00Z"),
    commonName: "Alice Smith",
    emails: ["Alice@Corp.Example", "alice.smith@corp.example"],
    upns: ["ASmith@CORP.example"],
    ...overrides,
  };
}

/** Trust that answers `verdict` and records what it was asked. */
function trust(verdict: ClientCertificateVerdict): ClientCertificateTrust & { asked: Uint8Array[][] } {
  const asked: Uint8Array[][] = [];
  return { caPem: [], crlNextUpdate: null, asked, verify: (chain) => (asked.push([...chain]), Promise.resolve(verdict)) };
}

const policy = (t: ClientCertificateTrust, over: Partial<ClientCertificatePolicy> = {}): ClientCertificatePolicy => ({ trust: t, required: true, user: "cn", ...over });
const der = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]);

describe("certificateUser", () => {
  it("takes the CN, the first e-mail address or UPN, as written (never case-folded)", () => {
    assert.deepEqual(certificateUser(verified(), "cn"), { ok: true, user: "Alice Smith" });
    assert.deepEqual(certificateUser(verified(), "email"), { ok: true, user: "Alice@Corp.Example" });
    assert.deepEqual(certificateUser(verified(), "upn"), { ok: true, user: "ASmith@CORP.example" });
    // folding would make the Kelvin sign a "K": this one is no one else
    assert.deepEqual(certificateUser(verified({ upns: ["\u212Aate@corp.example"] }), "upn"), { ok: true, user: "\u212Aate@corp.example" });
  });

  it("refuses a certificate without the field, or with a value no user can have", () => {
    const none = certificateUser(verified({ upns: [] }), "upn");
    assert.deepEqual(none, { ok: false, reason: 'the client certificate "CN=Alice Smith, O=Corp" has no user principal name (UPN) to take the user name from' });
    assert.equal(certificateUser(verified({ commonName: null }), "cn").ok, false);
    assert.equal(certificateUser(verified({ commonName: "" }), "cn").ok, false);
    const colon = certificateUser(verified({ commonName: "a:b" }), "cn");
    assert.equal(colon.ok, false);
    assert.match(colon.ok ? "" : colon.reason, /names user "a:b", which cannot be a user name/);
    assert.equal(certificateUser(verified({ commonName: "x".repeat(65) }), "cn").ok, false);
  });
});

describe("certificateSignIn", () => {
  it("signs in the user a verified certificate names, with that user's groups", async () => {
    const t = trust({ ok: true, certificate: verified({ emails: ["alice@corp.example"] }) });
    const r = await certificateSignIn(der, policy(t, { user: "email" }), (u) => (u === "alice@corp.example" ? ["staff"] : []));
    assert.equal(r.kind, "user");
    assert.equal(r.kind === "user" && r.user, "alice@corp.example");
    assert.deepEqual(r.kind === "user" && r.groups, ["staff"]);
    assert.deepEqual(t.asked, [[der]], "the client's own certificate, alone, is what is verified");
  });

  it("refuses where the trust refuses, and where the certificate names no user", async () => {
    assert.deepEqual(await certificateSignIn(der, policy(trust({ ok: false, reason: "certificate \"CN=x\" expired at …" })), () => []), {
      kind: "refused",
      reason: "certificate \"CN=x\" expired at …",
    });
    const noUpn = await certificateSignIn(der, policy(trust({ ok: true, certificate: verified({ upns: [] }) }), { user: "upn" }), () => []);
    assert.equal(noUpn.kind, "refused");
  });

  it("without a certificate: refused where one is required, otherwise nothing (the password decides)", async () => {
    const t = trust({ ok: true, certificate: verified() });
    assert.deepEqual(await certificateSignIn(null, policy(t), () => []), { kind: "refused", reason: "no client certificate" });
    assert.deepEqual(await certificateSignIn(null, policy(t, { required: false }), () => []), { kind: "none" });
    assert.equal(t.asked.length, 0);
  });

  it("refuses a bad certificate even where none is required: no falling back to a password", async () => {
    const r = await certificateSignIn(der, policy(trust({ ok: false, reason: "not issued by a CA of the listener" }), { required: false }), () => []);
    assert.deepEqual(r, { kind: "refused", reason: "not issued by a CA of the listener" });
  });

  it("waits for groups the directory reads; a refusal by them refuses, and a directory that cannot tell leaves the request unchecked", async () => {
    const t = trust({ ok: true, certificate: verified() });
    const r = await certificateSignIn(der, policy(t), () => Promise.resolve(["remote"]));
    assert.deepEqual(r.kind === "user" && r.groups, ["remote"]);
    const refused = await certificateSignIn(der, policy(t), () => Promise.resolve({ refused: "the directory shows \"Alice Smith\" in no group, and groups.required is set" }));
    assert.deepEqual(refused, { kind: "refused", reason: "the directory shows \"Alice Smith\" in no group, and groups.required is set", said: 'user "Alice Smith" is in no group that may sign in' });
    const unchecked = await certificateSignIn(der, policy(t), () => Promise.reject(new DirectoryUnavailableError("cannot reach the directory ldaps://dc.test: timed out")));
    assert.deepEqual(unchecked, { kind: "unchecked", user: "Alice Smith", reason: "not checked: cannot reach the directory ldaps://dc.test: timed out" });
    await assert.rejects(certificateSignIn(der, policy(t), () => Promise.reject(new TypeError("a bug"))), TypeError, "anything else is not hidden");
  });
});
