/**
 * `proxyAuth.ldap.certificateUsers`: users a client certificate signs in (on an HTTPS proxy
 * listener, with real curl and openssl-made certificates) get their groups from a real
 * OpenLDAP slapd, read as the gateway's own account: they gave no password to bind with.
 * Rules by group decide for them; a user in no group is refused with `groups.required`; a
 * directory that cannot tell answers 503, and an answer already read is kept.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { type ClientCast, makeClientCast } from "./support/client-pki.ts";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";
import { type Slapd, startSlapd } from "./support/slapd.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const PEOPLE = "ou=people,dc=tollgate,dc=test";

describe("certificate users' groups from an LDAP directory (proxyAuth.ldap.certificateUsers)", { timeout: 90_000 }, () => {
  let pki: TestPki;
  let cast: ClientCast;
  let slapd: Slapd;
  let origin: Origin;
  let gw: GatewayProcess;
  let config: Record<string, unknown> & { proxyAuth: { ldap: Record<string, unknown> } };

  before(async () => {
    pki = makeTestPki(["ldap.test", "127.0.0.1"]);
    cast = makeClientCast();
    // bob is in proxy's Staff; alice is in no group; dave has no entry; the gateway reads as tollgate-reader
    slapd = await startSlapd({ alice: "wonderland", bob: "builder", "tollgate-reader": "reader-pw" }, pki, [
      { cn: "Staff", ou: "proxy", members: ["bob"] },
    ]);
    const passwordFile = join(tempDir("tollgate-ldap-reader-"), "password");
    writeFileSync(passwordFile, "reader-pw\n", { mode: 0o600 });
    origin = await startOrigin();
    config = {
      listeners: [{
        name: "explicit",
        mode: "explicit",
        listen: "127.0.0.1:0",
        tls: { certificates: [{ cert: join(pki.dir, "server.pem"), key: join(pki.dir, "server.key") }], clientCertificates: { caFile: cast.clients.caFile, crlFile: cast.crlFile } },
      }],
      proxyAuth: {
        ldap: {
          url: `ldaps://ldap.test:${slapd.ports.ldaps}`,
          bindName: slapd.bindName,
          caFile: pki.caFile,
          timeoutMs: 3000,
          groups: { within: "ou=proxy,dc=tollgate,dc=test" },
          certificateUsers: { bindName: `uid=tollgate-reader,${PEOPLE}`, passwordFile, searchBase: PEOPLE, userAttribute: "uid" },
        },
      },
      policy: {
        defaultAction: "deny",
        rules: [{ id: "staff-origin", hosts: ["origin.test"], groups: ["staff"], action: "allow" }],
      },
      dns: { hosts: { "origin.test": ["127.0.0.1"], "ldap.test": ["127.0.0.1"] } },
      addressGuard: { allow: ["127.0.0.0/8"] },
      limits: { headerTimeoutMs: 3000 },
    };
    gw = await startGateway(config);
  });

  after(async () => {
    const graceful = await gw?.stop();
    await slapd?.stop();
    await origin?.close();
    assert.equal(graceful, true);
  });

  const get = async (who: keyof Pick<ClientCast, "alice" | "bob" | "dave">, headers = false, body = false) => {
    const cert = cast[who];
    const r = await curl([
      "-sS", ...(body ? [] : ["-o", "/dev/null"]), ...(headers ? ["-D", "-"] : []), "-w", "%{http_code}",
      "--proxy", `https://127.0.0.1:${gw.port}`, "--proxy-cacert", pki.caFile, "--proxy-cert", cert.cert, "--proxy-key", cert.key,
      `http://origin.test:${origin.port}/hello`,
    ]);
    return r.stdout;
  };
  const lineFor = (pred: (f: Record<string, unknown>) => boolean) => gw.waitForFlow((f) => f.type === "flow" && pred(f));

  it("a certificate user in a directory group is let through by the group's rule, and the line says so", async () => {
    assert.equal(await get("bob"), "200");
    const line = await lineFor((f) => f.user === "bob");
    assert.equal(line.rule, "staff-origin");
    assert.match(String(line.reason), /for user "bob" in group "staff"$/);
  });

  it("one in no group, or with no entry, has no groups: the default decides", async () => {
    assert.equal(await get("alice"), "403");
    assert.equal((await lineFor((f) => f.user === "alice")).rule, "default");
    assert.equal(await get("dave"), "403");
    assert.equal((await lineFor((f) => f.user === "dave")).rule, "default");
  });

  it("with groups.required, a user in no group is refused by the certificate check, saying why", async () => {
    const required = { ...config, proxyAuth: { ldap: { ...config.proxyAuth.ldap, groups: { within: "ou=proxy,dc=tollgate,dc=test", required: true } } } };
    writeFileSync(gw.configFile!, JSON.stringify(required));
    assert.match(await gw.reload(), /SIGHUP: config reloaded/);
    const refused = await get("alice", false, true);
    assert.ok(refused.endsWith("403"), refused);
    assert.match(refused, /user "alice" is in no group that may sign in/);
    assert.ok(!refused.includes("dc=tollgate"), "the client is not shown the directory's tree");
    const line = await lineFor((f) => f.rule === "client-certificate" && /alice/.test(String(f.reason)));
    assert.match(String(line.reason), /the directory shows "alice" in no group within "ou=proxy,dc=tollgate,dc=test", and groups.required is set/);
    assert.equal(await get("bob"), "200");
  });

  it("a directory that cannot tell answers 503 with Retry-After; an answer already read is kept", async () => {
    await slapd.stop();
    const down = await get("dave", true);
    assert.match(down, /^HTTP\/1\.1 503/m);
    assert.match(down, /^retry-after: 5\r?$/im);
    assert.ok(down.endsWith("503"));
    const line = await lineFor((f) => f.rule === "client-certificate" && /not checked: cannot reach the directory/.test(String(f.reason)));
    assert.equal(line.decision, "deny");
    assert.equal(await get("bob"), "200", "bob's groups were read a moment ago");
  });
});
