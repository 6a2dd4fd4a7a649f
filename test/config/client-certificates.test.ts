import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

const certificates = [{ cert: "proxy.pem", key: "proxy.key" }];
const httpsProxy = (clientCertificates: unknown, mode = "explicit") => ({
  listeners: [{ name: "secure", mode, listen: "127.0.0.1:3129", tls: { certificates, clientCertificates } }],
});

describe("config: tls.clientCertificates of an HTTPS proxy listener", () => {
  it("takes a CA file, and defaults to a required certificate naming the user by its CN", () => {
    const l = parseConfig(httpsProxy({ caFile: "clients-ca.pem" })).listeners[0];
    assert.equal(l?.mode, "explicit");
    assert.deepEqual(l?.mode === "explicit" ? l.tls?.clientCertificates : undefined, { caFile: "clients-ca.pem", required: true, user: "cn" });
    const all = parseConfig(httpsProxy({ caFile: "ca.pem", crlFile: "ca.crl", required: false, user: "email" })).listeners[0];
    assert.deepEqual(all?.mode === "explicit" ? all.tls?.clientCertificates : undefined, { caFile: "ca.pem", crlFile: "ca.crl", required: false, user: "email" });
  });

  it("names what is wrong", () => {
    assert.deepEqual(problems(httpsProxy({})), ["listeners[0].tls.clientCertificates.caFile: required key is missing"]);
    assert.deepEqual(problems(httpsProxy({ caFile: "ca.pem", user: "uid" })), [
      'listeners[0].tls.clientCertificates.user: expected "cn", "email" or "upn", got "uid"',
    ]);
    assert.deepEqual(problems(httpsProxy({ caFile: "ca.pem", required: "yes" })), ['listeners[0].tls.clientCertificates.required: expected true or false, got "yes"']);
  });

  it("is not taken by reverse listeners yet", () => {
    assert.deepEqual(problems({ ...httpsProxy({ caFile: "ca.pem" }, "reverse"), reverse: { pools: { p: { backends: ["http://127.0.0.1:8080"] } }, routes: [{ id: "r", hosts: ["*"], pool: "p" }] } }), [
      'listeners[0].tls.clientCertificates: client certificates are taken by HTTPS proxy listeners ("mode": "explicit") only, not yet by reverse listeners',
    ]);
  });

  it("lets proxy rules name any user, as a certificate may name anyone its CA vouches for; reverse routes still need proxyAuth users", () => {
    const rules = { policy: { rules: [{ hosts: ["x.example"], users: ["carol@corp.example", "Carol Smith"], action: "allow" }] } };
    const config = parseConfig({ ...httpsProxy({ caFile: "ca.pem" }), ...rules });
    assert.deepEqual(config.policy.rules[0]?.users, ["carol@corp.example", "Carol Smith"]);
    assert.deepEqual(problems({ ...httpsProxy({ caFile: "ca.pem" }), policy: { rules: [{ users: ["a:b"], action: "allow" }] } }), [
      'policy.rules[0].users[0]: "a:b" cannot be a proxyAuth user name (1-64 characters, no colon or control characters)',
    ]);
    // without a listener taking certificates, the same names are typos
    assert.deepEqual(problems({ ...httpsProxy(undefined), ...rules }), [
      'policy.rules[0].users[0]: names user "carol@corp.example", but there is no proxyAuth: no flow has a user',
      'policy.rules[0].users[1]: names user "Carol Smith", but there is no proxyAuth: no flow has a user',
    ]);
  });
});
