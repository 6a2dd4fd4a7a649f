import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

const certificates = [{ cert: "proxy.pem", key: "proxy.key" }];
const httpsProxy = (clientCertificates: unknown, mode = "explicit") => ({
  listeners: [{ name: "secure", mode, listen: "127.0.0.1:3129", tls: { certificates, clientCertificates } }],
});

describe("config: tls.clientCertificates of an HTTPS proxy or reverse listener", () => {
  it("takes a CA file, and defaults to a required certificate naming the user by its CN", () => {
    const l = parseConfig(httpsProxy({ caFile: "clients-ca.pem" })).listeners[0];
    assert.equal(l?.mode, "explicit");
    assert.deepEqual(l?.mode === "explicit" ? l.tls?.clientCertificates : undefined, { caFile: "clients-ca.pem", required: true, user: "cn", forwardCertificate: false });
    const all = parseConfig(httpsProxy({ caFile: "ca.pem", crlFile: "ca.crl", required: false, user: "email" })).listeners[0];
    assert.deepEqual(all?.mode === "explicit" ? all.tls?.clientCertificates : undefined, { caFile: "ca.pem", crlFile: "ca.crl", required: false, user: "email", forwardCertificate: false });
  });

  it("names what is wrong", () => {
    assert.deepEqual(problems(httpsProxy({})), ["listeners[0].tls.clientCertificates.caFile: required key is missing"]);
    assert.deepEqual(problems(httpsProxy({ caFile: "ca.pem", user: "uid" })), [
      'listeners[0].tls.clientCertificates.user: expected "cn", "email" or "upn", got "uid"',
    ]);
    assert.deepEqual(problems(httpsProxy({ caFile: "ca.pem", required: "yes" })), ['listeners[0].tls.clientCertificates.required: expected true or false, got "yes"']);
  });

  const reverseSection = (more: Record<string, unknown> = {}) => ({
    reverse: { pools: { p: { backends: ["http://127.0.0.1:8080"] }, tls: { backends: ["https://127.0.0.1:8443"] } }, routes: [{ id: "r", hosts: ["*"], pool: "p" }], ...more },
  });

  it("is taken by reverse listeners too, which may forward the certificate to their backends", () => {
    const l = parseConfig({ ...httpsProxy({ caFile: "ca.pem", forwardCertificate: true }, "reverse"), ...reverseSection() }).listeners[0];
    assert.deepEqual(l?.mode === "reverse" ? l.tls?.clientCertificates : undefined, { caFile: "ca.pem", required: true, user: "cn", forwardCertificate: true });
    assert.deepEqual(problems(httpsProxy({ caFile: "ca.pem", forwardCertificate: true })), [
      "listeners[0].tls.clientCertificates.forwardCertificate: forwardCertificate is for reverse listeners, which have backends to give the certificate to; an HTTPS proxy listener signs the user in with it",
    ]);
  });

  it("refuses passthrough routes on a reverse listener that requires certificates: nothing would check them", () => {
    const through = (listeners?: string[]) => ({ passthrough: [{ id: "t", hosts: ["db.test"], pool: "tls", ...(listeners ? { listeners } : {}) }] });
    const config = (required: boolean, listeners?: string[]) => ({
      listeners: [
        { name: "secure", mode: "reverse", listen: "127.0.0.1:8443", tls: { certificates, clientCertificates: { caFile: "ca.pem", required } } },
        { name: "open", mode: "reverse", listen: "127.0.0.1:9443", tls: { certificates } },
      ],
      ...reverseSection(through(listeners)),
    });
    assert.deepEqual(problems(config(true, ["open", "secure"])), [
      'reverse.passthrough[0].listeners[1]: listener "secure" requires client certificates, and a passed-through connection is not terminated, so none could be checked: leave it out of this route\'s "listeners"',
    ]);
    assert.deepEqual(problems(config(true)), [
      'reverse.passthrough[0].listeners: applies to every reverse listener (no "listeners"), among them ones that require client certificates ("secure"), which a passed-through connection is not checked for (it is not terminated): name the listeners it applies to in "listeners"',
    ]);
    assert.doesNotThrow(() => parseConfig(config(true, ["open"])));
    assert.doesNotThrow(() => parseConfig(config(false)));
  });

  it("lets reverse routes' basicAuth name any user when a reverse listener takes certificates", () => {
    const routes = [{ id: "r", hosts: ["*"], pool: "p", basicAuth: { users: ["carol@corp.example"] } }];
    assert.doesNotThrow(() => parseConfig({ ...httpsProxy({ caFile: "ca.pem" }, "reverse"), ...reverseSection({ routes }) }));
    // nor on a route of another reverse listener only: there a name is a typo or a password user
    const both = (listeners: string[]) => ({
      listeners: [
        { name: "partners", mode: "reverse", listen: "127.0.0.1:8443", tls: { certificates, clientCertificates: { caFile: "ca.pem" } } },
        { name: "web", mode: "reverse", listen: "127.0.0.1:9443", tls: { certificates } },
      ],
      ...reverseSection({ routes: [{ ...routes[0], listeners }] }),
    });
    assert.doesNotThrow(() => parseConfig(both(["partners"])));
    const noUser = 'reverse.routes[0].basicAuth.users[0]: names user "carol@corp.example", but there is no proxyAuth, and no listener of the route takes client certificates: no request of it has a user';
    assert.deepEqual(problems(both(["web"])), [noUser]);
    // an HTTPS proxy listener's certificates sign no one in on a reverse route
    assert.deepEqual(problems({
      listeners: [
        { name: "secure", mode: "explicit", listen: "127.0.0.1:3129", tls: { certificates, clientCertificates: { caFile: "ca.pem" } } },
        { name: "web", mode: "reverse", listen: "127.0.0.1:8443", tls: { certificates } },
      ],
      ...reverseSection({ routes }),
    }), [noUser]);
  });

  it("lets proxy rules name any user, as a certificate may name anyone its CA vouches for", () => {
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
