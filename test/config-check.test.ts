import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/parse.ts";
import { idleCertificateReader, idleIdentityTrust, uncertifiedRoutes } from "../src/config-check.ts";

const certificates = [{ cert: "app.pem", key: "app.key" }];
const config = (routeListeners: string[] | undefined, required = true) =>
  parseConfig({
    listeners: [
      { name: "partners", mode: "reverse", listen: "127.0.0.1:8443", tls: { certificates, clientCertificates: { caFile: "ca.pem", required } } },
      { name: "web", mode: "reverse", listen: "127.0.0.1:9443", tls: { certificates } },
      { name: "plain", mode: "reverse", listen: "127.0.0.1:9080", tls: false },
    ],
    reverse: {
      pools: { app: { backends: ["http://127.0.0.1:8080"] } },
      routes: [{ id: "app", hosts: ["app.test"], pool: "app", ...(routeListeners ? { listeners: routeListeners } : {}) }],
    },
  });

describe("uncertifiedRoutes", () => {
  it("warns of a route on a listener that requires certificates and on one that takes none", () => {
    assert.deepEqual(uncertifiedRoutes(config(undefined)), [
      'reverse.routes "app" applies to listeners "partners", which require client certificates, and to "web", "plain", which do not: there its backends are reachable without a certificate; if that is not meant, name the listeners in the route\'s "listeners"',
    ]);
    assert.equal(uncertifiedRoutes(config(["partners", "plain"])).length, 1);
  });

  it("counts a listener where certificates are optional among those that do not require them", () => {
    assert.equal(uncertifiedRoutes(config(["partners", "web"])).length, 1);
    const optional = config(undefined, false);
    assert.deepEqual(uncertifiedRoutes({ ...optional, listeners: [optional.listeners[0]!, { ...config(undefined).listeners[0]!, name: "strict" }] }).length, 1);
  });

  it("says nothing of routes on listeners that all require certificates, or none", () => {
    assert.deepEqual(uncertifiedRoutes(config(["partners"])), []);
    assert.deepEqual(uncertifiedRoutes(config(["web", "plain"])), []);
    assert.deepEqual(uncertifiedRoutes(config(undefined, false)), []);
  });
});

describe("idleIdentityTrust", () => {
  it("warns of trustIdentityFrom on a listener that takes client certificates, where it does nothing", () => {
    const c = config(undefined);
    const listeners = c.listeners.map((l) => (l.mode === "reverse" ? { ...l, trustIdentityFrom: ["10.0.0.1"] } : l));
    assert.deepEqual(idleIdentityTrust({ ...c, listeners }), [
      'listeners "partners" trustIdentityFrom has no effect: the listener takes client certificates, so the gateway says who each client is and removes X-Forwarded-User and Client-Cert from everyone\'s requests',
    ]);
    assert.deepEqual(idleIdentityTrust(c), []);
  });
});

describe("idleCertificateReader", () => {
  it("warns of proxyAuth.ldap.certificateUsers where no listener takes client certificates", () => {
    const certificateUsers = { bindName: "cn=reader,dc=test", passwordFile: "reader.pass", searchBase: "dc=test", userAttribute: "uid" };
    const proxyAuth = { ldap: { url: "ldaps://dc.test", bindName: "uid={user},dc=test", groups: {}, certificateUsers } };
    const c = { ...config(undefined), proxyAuth: parseConfig({ proxyAuth }).proxyAuth };
    assert.deepEqual(idleCertificateReader(c), []);
    const without = { ...c, listeners: c.listeners.filter((l) => l.name !== "partners") };
    assert.deepEqual(idleCertificateReader(without), [
      "proxyAuth.ldap.certificateUsers has no effect: no listener takes client certificates (tls.clientCertificates), so no user signs in with one",
    ]);
    assert.deepEqual(idleCertificateReader({ ...without, proxyAuth: parseConfig({ proxyAuth: { ldap: { ...proxyAuth.ldap, certificateUsers: undefined } } }).proxyAuth }), []);
  });
});
