import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { configCommand } from "../../src/cli/config.ts";
import { createLeafIssuer, decodePem, encodePem, generateCa, loadCa } from "../../src/pki/mod.ts";
import { x509 } from "../../src/pki/_x509.ts";

/** The served (non-CA) certificate of `files`: what a client CA file must not hold. */
const www = (files: Record<string, string>) => files["/etc/tg/certs/www.pem"]!;
import { keyPairError } from "../../src/runtime/node-tls/key-pair.ts";
import { cliCommand } from "../e2e/support/gateway.ts";
import { tempDir } from "../helpers/temp-dir.ts";

interface Run {
  code: number;
  out: string;
  err: string;
}

/** `tollgate config ARGS` over the files of `files` (by path); nothing is dialed. */
async function run(args: string[], files: Record<string, string>, configFromEnv?: string, adminTokenFromEnv?: string): Promise<Run> {
  let out = "";
  let err = "";
  const code = await configCommand(args, {
    runtime: {
      dial: () => Promise.reject(new Error("no dialing while checking")),
      tls: {
        accept: () => Promise.reject(new Error("no TLS while checking")),
        connect: () => Promise.reject(new Error("no TLS while checking")),
        keyPairError, // what both runtime adapters use
      },
    },
    readText: (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: "ENOENT" });
      return text;
    },
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    configFromEnv,
    adminTokenFromEnv,
  });
  return { code, out, err };
}

describe("tollgate config check", () => {
  let files: Record<string, string>;
  let otherKey: string;
  let soon: { chainPem: string; keyPem: string };
  const config = {
    listeners: [
      { name: "proxy", mode: "explicit", listen: "127.0.0.1:3128" },
      { name: "web", mode: "reverse", listen: "127.0.0.1:8443", tls: { certificates: [{ cert: "certs/www.pem", key: "certs/www.key" }] } },
    ],
    ca: { cert: "ca/ca.pem", key: "ca/ca.key" },
    parents: { corp: { url: "http://10.0.0.8:3128", username: "gw", passwordFile: "secrets/corp" } },
    blockPage: { template: "block.html" },
    reverse: { pools: { site: { backends: ["http://10.0.1.1:8080"] } }, routes: [{ id: "site", hosts: ["www.test"], pool: "site" }] },
    policy: {
      defaultAction: "deny",
      hostLists: { feed: { file: "lists/feed.txt", format: "domains" } },
      rules: [{ id: "threats", hostLists: ["feed"], action: "deny" }, { id: "corp", hosts: ["*.corp.test"], action: "allow", parent: "corp" }],
    },
  };

  const caPem = () => files["/etc/tg/ca/ca.pem"]!;

  before(async () => {
    const ca = await generateCa({ commonName: "Check test CA", validityDays: 365 });
    const www = await createLeafIssuer(await loadCa(ca), { validityDays: 30 }).issue(["www.test"]);
    soon = await createLeafIssuer(await loadCa(ca), { validityDays: 3 }).issue(["www.test"]);
    otherKey = (await createLeafIssuer(await loadCa(await generateCa({ commonName: "Other CA", validityDays: 1 })), { validityDays: 1 }).issue(["x.test"])).keyPem;
    files = {
      "/etc/tg/gw.json": JSON.stringify(config),
      "/etc/tg/ca/ca.pem": ca.certPem,
      "/etc/tg/ca/ca.key": ca.keyPem,
      "/etc/tg/certs/www.pem": www.chainPem,
      "/etc/tg/certs/www.key": www.keyPem,
      "/etc/tg/secrets/corp": "s3cret\n",
      "/etc/tg/block.html": "<p>{{host}} blocked: {{reason}}</p>",
      "/etc/tg/lists/feed.txt": "# feed\nevil.test\n",
    };
  });

  it("passes a config whose every file is there and usable, read beside the config file", async () => {
    const r = await run(["check", "/etc/tg/gw.json"], files);
    assert.equal(r.err, "");
    assert.equal(r.code, 0);
    assert.equal(r.out, "OK: /etc/tg/gw.json (2 listeners, 2 rules, 0 url rules, default deny; 7 files read and checked)\n");
    // --config and TOLLGATE_CONFIG name the file too
    assert.equal((await run(["check", "--config", "/etc/tg/gw.json"], files)).out, r.out);
    assert.equal((await run(["check", "--config=/etc/tg/gw.json"], files)).out, r.out);
    assert.equal((await run(["check"], files, "/etc/tg/gw.json")).out, r.out);
  });

  it("names every problem with its setting and file, not just the first: exit 1", async () => {
    const broken: Record<string, string> = {
      ...files,
      "/etc/tg/certs/www.key": otherKey,
      "/etc/tg/block.html": "<p>{{hots}}</p>",
      "/etc/tg/lists/feed.txt": "evil.test\nevil test\n",
    };
    delete broken["/etc/tg/ca/ca.key"];
    delete broken["/etc/tg/secrets/corp"];
    const r = await run(["check", "/etc/tg/gw.json"], broken);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    const lines = r.err.split("\n");
    assert.equal(lines[0], 'Invalid config "/etc/tg/gw.json" (5 problems)');
    assert.match(lines[1]!, /^ {2}cannot read ca\.key "ca\/ca\.key": ENOENT$/);
    assert.equal(lines[2], '  policy.hostLists.feed: "lists/feed.txt" line 2: expected one host pattern per line, got "evil test"');
    assert.match(lines[3]!, /^ {2}cannot read parents\.corp\.passwordFile "secrets\/corp": ENOENT$/);
    assert.match(lines[4]!, /^ {2}blockPage\.template "block\.html": unknown placeholder \{\{hots\}\}/);
    assert.match(lines[5]!, /^ {2}listeners "web" tls\.certificates\[0\]\.key "certs\/www\.key" does not go with .*: the private key does not belong to the certificate/);
  });

  it("reads the syslog collector's TLS files", async () => {
    const withSyslog = { ...config, log: { syslog: { url: "tls://siem.test", caFile: "siem/ca.pem", certFile: "siem/gw.pem", keyFile: "siem/gw.key" } } };
    const good: Record<string, string> = { ...files, "/etc/tg/syslog.json": JSON.stringify(withSyslog), "/etc/tg/siem/ca.pem": caPem(), "/etc/tg/siem/gw.pem": "cert", "/etc/tg/siem/gw.key": "key" };
    const ok = await run(["check", "/etc/tg/syslog.json"], good);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /; 10 files read and checked\)/);
    const notCa = await run(["check", "/etc/tg/syslog.json"], { ...good, "/etc/tg/siem/ca.pem": "<html>404 Not Found</html>" });
    assert.equal(notCa.code, 1);
    assert.match(notCa.err, /^ {2}log\.syslog\.caFile "siem\/ca\.pem": expected PEM CA certificates \(-----BEGIN CERTIFICATE-----\), found no PEM block$/m);
    delete good["/etc/tg/siem/gw.key"];
    const r = await run(["check", "/etc/tg/syslog.json"], good);
    assert.equal(r.code, 1);
    assert.match(r.err, /^ {2}cannot read log\.syslog\.keyFile "siem\/gw\.key": ENOENT$/m);
  });

  it("reads the reverse error page template and checks its placeholders", async () => {
    const withPages = { ...config, reverse: { ...config.reverse, errorPages: { template: "pages/error.html", detailsFor: ["10.0.0.0/8"] } } };
    const good: Record<string, string> = { ...files, "/etc/tg/pages.json": JSON.stringify(withPages), "/etc/tg/pages/error.html": "<h1>{{status}}</h1>{{message}}" };
    const ok = await run(["check", "/etc/tg/pages.json"], good);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /; 8 files read and checked\)/);
    good["/etc/tg/pages/error.html"] = "<h1>{{status}}</h1>\n{{backend}}";
    const unknown = await run(["check", "/etc/tg/pages.json"], good);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /^ {2}reverse\.errorPages\.template "pages\/error\.html": unknown placeholder \{\{backend\}\} at line 2; known: /m);
    // named once, and a bad certificate beside it is still named
    delete good["/etc/tg/certs/www.pem"];
    const both = await run(["check", "/etc/tg/pages.json"], good);
    assert.equal(both.code, 1);
    assert.deepEqual(both.err.split("\n").filter((l) => l.startsWith("  ")).map((l) => l.replace(/: known: .*|certs\/www\.pem.*/, "")), [
      '  reverse.errorPages.template "pages/error.html": unknown placeholder {{backend}} at line 2; known: {{status}} {{title}} {{message}} {{requestId}} {{host}} {{url}} {{client}} {{time}}',
      '  cannot read listeners "web" tls.certificates[0].cert "',
    ]);
    delete good["/etc/tg/pages/error.html"];
    const missing = await run(["check", "/etc/tg/pages.json"], good);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^ {2}cannot read reverse\.errorPages\.template "pages\/error\.html": ENOENT$/m);
  });

  it("names a CA bundle that holds no certificate: interception's upstream CAs, a reverse pool's", async () => {
    const withBundles = {
      ...config,
      interception: { upstreamCaFiles: ["cas/corp.pem", "cas/partner.pem"] },
      reverse: { ...config.reverse, pools: { site: { backends: ["https://10.0.1.1:8443"], tls: { caFile: "cas/backend.pem" } } } },
    };
    const good: Record<string, string> = {
      ...files,
      "/etc/tg/bundles.json": JSON.stringify(withBundles),
      "/etc/tg/cas/corp.pem": caPem(),
      "/etc/tg/cas/partner.pem": `# a partner's CA\n${caPem()}`,
      "/etc/tg/cas/backend.pem": caPem(),
    };
    const ok = await run(["check", "/etc/tg/bundles.json"], good);
    assert.equal(ok.code, 0, ok.err);
    const r = await run(["check", "/etc/tg/bundles.json"], { ...good, "/etc/tg/cas/partner.pem": "<html><h1>404 Not Found</h1></html>\n", "/etc/tg/cas/backend.pem": "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n" });
    assert.equal(r.code, 1);
    assert.match(r.err, /^ {2}interception\.upstreamCaFiles "cas\/partner\.pem": expected PEM CA certificates \(-----BEGIN CERTIFICATE-----\), found no PEM block$/m);
    assert.match(r.err, /^ {2}reverse\.pools\.site\.tls\.caFile "cas\/backend\.pem": PEM block "CERTIFICATE" has invalid base64$/m);
  });

  it("holds the admin API to serve's token rules, TOLLGATE_ADMIN_TOKEN included", async () => {
    const withAdmin = (admin: Record<string, unknown>) => ({ ...files, "/etc/tg/admin.json": JSON.stringify({ ...config, admin }) });
    const open = await run(["check", "/etc/tg/admin.json"], withAdmin({ listen: "0.0.0.0:9090" }));
    assert.equal(open.code, 1);
    assert.match(open.err, /^ {2}refusing to bind the admin API to 0\.0\.0\.0 without a token \(admin\.token or TOLLGATE_ADMIN_TOKEN\)$/m);
    const short = await run(["check", "/etc/tg/admin.json"], withAdmin({ listen: "0.0.0.0:9090" }), undefined, "short-token");
    assert.equal(short.code, 1);
    assert.match(short.err, /^ {2}TOLLGATE_ADMIN_TOKEN has 11 characters; at least 16 are needed$/m);
    assert.equal((await run(["check", "/etc/tg/admin.json"], withAdmin({ listen: "0.0.0.0:9090" }), undefined, "a-token-of-24-characters")).code, 0);
    assert.equal((await run(["check", "/etc/tg/admin.json"], withAdmin({ listen: "0.0.0.0:9090", token: "a-token-of-24-characters" }))).code, 0);
    assert.equal((await run(["check", "/etc/tg/admin.json"], withAdmin({ listen: "127.0.0.1:9090" }))).code, 0, "loopback needs none");
    // as serve: an empty variable is no token, and admin.token wins over a short variable
    assert.equal((await run(["check", "/etc/tg/admin.json"], withAdmin({ listen: "0.0.0.0:9090" }), undefined, "")).code, 1);
    assert.equal((await run(["check", "/etc/tg/admin.json"], withAdmin({ listen: "[::]:9090", token: "a-token-of-24-characters" }), undefined, "short")).code, 0);
  });

  it("reads DNS over TLS's CA file", async () => {
    const withDot = { ...config, dns: { servers: ["10.0.0.53#dns.corp.test"], transport: "tls", caFile: "dns/ca.pem" } };
    const good: Record<string, string> = { ...files, "/etc/tg/dot.json": JSON.stringify(withDot), "/etc/tg/dns/ca.pem": caPem() };
    const ok = await run(["check", "/etc/tg/dot.json"], good);
    assert.equal(ok.code, 0, ok.err);
    const key = await run(["check", "/etc/tg/dot.json"], { ...good, "/etc/tg/dns/ca.pem": files["/etc/tg/ca/ca.key"]! });
    assert.equal(key.code, 1);
    assert.match(key.err, /^ {2}dns\.caFile "dns\/ca\.pem": expected PEM CA certificates \(-----BEGIN CERTIFICATE-----\), found only PRIVATE KEY$/m);
    delete good["/etc/tg/dns/ca.pem"];
    const r = await run(["check", "/etc/tg/dot.json"], good);
    assert.equal(r.code, 1);
    assert.match(r.err, /^ {2}cannot read dns\.caFile "dns\/ca\.pem": ENOENT$/m);
  });

  it("reads the LDAP directory's CA file", async () => {
    const withLdap = { ...config, proxyAuth: { ldap: { url: "ldaps://dc1.corp.test", bindName: "{user}@corp.test", caFile: "ldap/ca.pem" } } };
    const good: Record<string, string> = { ...files, "/etc/tg/ldap.json": JSON.stringify(withLdap), "/etc/tg/ldap/ca.pem": caPem() };
    const ok = await run(["check", "/etc/tg/ldap.json"], good);
    assert.equal(ok.code, 0, ok.err);
    delete good["/etc/tg/ldap/ca.pem"];
    const r = await run(["check", "/etc/tg/ldap.json"], good);
    assert.equal(r.code, 1);
    assert.match(r.err, /^ {2}cannot read proxyAuth\.ldap\.caFile "ldap\/ca\.pem": ENOENT$/m);
  });

  it("reads the password file of the account that reads certificate users' groups; an empty one is an error", async () => {
    const certificateUsers = { bindName: "cn=tollgate,ou=services,dc=corp,dc=test", passwordFile: "ldap/reader.pass", searchBase: "dc=corp,dc=test", userAttribute: "userPrincipalName" };
    const ldap = { url: "ldaps://dc1.corp.test", bindName: "uid={user},ou=people,dc=corp,dc=test", groups: {}, certificateUsers };
    const good: Record<string, string> = { ...files, "/etc/tg/ldap.json": JSON.stringify({ ...config, proxyAuth: { ldap } }), "/etc/tg/ldap/reader.pass": "pw\n" };
    const ok = await run(["check", "/etc/tg/ldap.json"], good);
    assert.equal(ok.code, 0, ok.err);
    const empty = await run(["check", "/etc/tg/ldap.json"], { ...good, "/etc/tg/ldap/reader.pass": "\n" });
    assert.equal(empty.code, 1);
    assert.match(empty.err, /^ {2}proxyAuth\.ldap\.certificateUsers\.passwordFile "ldap\/reader\.pass" is empty: the gateway never binds without a password$/m);
    assert.match(ok.out + ok.err, /proxyAuth\.ldap\.certificateUsers has no effect: no listener takes client certificates/, "the config's listeners take none");
    delete good["/etc/tg/ldap/reader.pass"];
    const r = await run(["check", "/etc/tg/ldap.json"], good);
    assert.equal(r.code, 1);
    assert.match(r.err, /^ {2}cannot read proxyAuth\.ldap\.certificateUsers\.passwordFile "ldap\/reader\.pass": ENOENT$/m);
  });

  it("warns of a certificate that expires within 14 days, and still passes", async () => {
    const r = await run(["check", "/etc/tg/gw.json"], { ...files, "/etc/tg/certs/www.pem": soon.chainPem, "/etc/tg/certs/www.key": soon.keyPem });
    assert.equal(r.code, 0);
    assert.match(r.err, /^warning: listeners "web" certificate "certs\/www\.pem" expires in [23] days, on \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
    assert.match(r.out, /^OK: /);
  });

  it("reads an HTTPS proxy or reverse listener's client CA and CRL files: warns of a CRL out of date, names a file it cannot use", async () => {
    const clientCa = await generateCa({ commonName: "Check client CA", validityDays: 365 });
    const caKey = await crypto.subtle.importKey("pkcs8", decodePem(clientCa.keyPem)[0]!.der as Uint8Array<ArrayBuffer>, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const crl = await x509.X509CrlGenerator.create({
      issuer: new x509.X509Certificate(clientCa.certPem).subject,
      thisUpdate: new Date(Date.now() - 3 * 86_400_000),
      nextUpdate: new Date(Date.now() - 86_400_000),
      entries: [],
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
      signingKey: caKey,
    });
    const listener = {
      name: "secure",
      mode: "explicit",
      listen: "127.0.0.1:3129",
      tls: { certificates: [{ cert: "certs/www.pem", key: "certs/www.key" }], clientCertificates: { caFile: "clients/ca.pem", crlFile: "clients/ca.crl" } },
    };
    const withClients = { ...config, listeners: [...config.listeners, listener] };
    const good: Record<string, string> = {
      ...files,
      "/etc/tg/mtls.json": JSON.stringify(withClients),
      "/etc/tg/clients/ca.pem": clientCa.certPem,
      "/etc/tg/clients/ca.crl": encodePem(new Uint8Array(crl.rawData), "X509 CRL"),
    };
    const stale = await run(["check", "/etc/tg/mtls.json"], good);
    assert.equal(stale.code, 0, stale.err);
    assert.match(stale.err, /^warning: listeners "secure" tls\.clientCertificates\.crlFile "clients\/ca\.crl" is out of date since \S+: every client certificate is refused until a newer CRL is loaded$/m);
    const bad = await run(["check", "/etc/tg/mtls.json"], { ...good, "/etc/tg/clients/ca.pem": www(files) });
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^ {2}listeners "secure" tls\.clientCertificates: .*not a CA/m);
    // a reverse listener's are read the same way
    const web = { ...config.listeners[1]!, tls: { ...config.listeners[1]!.tls!, clientCertificates: listener.tls.clientCertificates } };
    const reverse = await run(["check", "/etc/tg/mtls.json"], { ...good, "/etc/tg/mtls.json": JSON.stringify({ ...config, listeners: [config.listeners[0], web] }) });
    assert.equal(reverse.code, 0, reverse.err);
    assert.match(reverse.err, /^warning: listeners "web" tls\.clientCertificates\.crlFile "clients\/ca\.crl" is out of date since /m);
  });

  it("reports an invalid config as serve does, and an unreadable file; exit 1", async () => {
    const invalid = await run(["check", "/etc/tg/gw.json"], { "/etc/tg/gw.json": JSON.stringify({ ...config, policy: { defaultAction: "maybe" } }) });
    assert.equal(invalid.code, 1);
    assert.match(invalid.err, /policy\.defaultAction: expected "allow" or "deny", got "maybe"/);
    const missing = await run(["check", "/etc/tg/none.json"], files);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^tollgate: cannot read "\/etc\/tg\/none\.json": .*ENOENT/);
  });

  it("is a usage error (exit 2) without a file, or with extra arguments", async () => {
    for (const args of [["check"], ["check", "a.json", "b.json"], ["check", "--config"]]) {
      const r = await run(args, files);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.err, /^tollgate config: .+\n\nUsage:\n {2}tollgate config check/, args.join(" "));
    }
  });

  it("runs from the real command line, from another working directory", async () => {
    const dir = tempDir("tollgate-config-check-");
    for (const [path, text] of Object.entries(files)) {
      const local = join(dir, path.slice("/etc/tg/".length));
      await import("node:fs").then((fs) => fs.mkdirSync(join(local, ".."), { recursive: true }));
      writeFileSync(local, text);
    }
    const [cmd, ...pre] = cliCommand();
    const result = await new Promise<{ code: number; out: string; err: string }>((resolve) =>
      execFile(cmd!, [...pre, "config", "check", join(dir, "gw.json")], { cwd: "/" }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, out: String(stdout), err: String(stderr) })));
    assert.equal(result.err, "");
    assert.equal(result.code, 0);
    assert.match(result.out, /^OK: .*gw\.json \(2 listeners, .*7 files read and checked\)\n$/);
  });
});
