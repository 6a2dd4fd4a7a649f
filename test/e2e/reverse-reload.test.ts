import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, startBackend, stopBackend } from "./support/backend.ts";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { makeOpensslCa } from "./support/reverse-pki.ts";

/**
 * A reload (SIGHUP) of a running reverse proxy: a renewed certificate written over the old
 * files is served, routes and pools change, and a broken certificate file refuses the reload
 * while the old certificate stays in service. Real curl; no restart.
 */
describe("reverse proxy reload end to end (certificate renewal, routes, pools)", { timeout: 120_000 }, () => {
  let work: string;
  let gw: GatewayProcess;
  let one: Backend;
  let two: Backend;
  let oldCa: string;
  let newCa: string;
  let renewed: { cert: string; key: string };
  let bCert: { cert: string; key: string };
  let served: { cert: string; key: string };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "tollgate-reverse-reload-"));
    const first = makeOpensslCa("Reload Old CA", mkdtempSync(join(work, "old-")));
    const second = makeOpensslCa("Reload New CA", mkdtempSync(join(work, "new-")));
    oldCa = first.caFile;
    newCa = second.caFile;
    const issued = first.issue("a", ["a.test"]);
    renewed = second.issue("a-renewed", ["a.test"], { days: 30 });
    bCert = second.issue("b", ["b.test"]);
    // the files the config names, as a certificate manager keeps them (same paths, new contents)
    served = { cert: join(work, "live-a.pem"), key: join(work, "live-a.key") };
    copyFileSync(issued.cert, served.cert);
    copyFileSync(issued.key, served.key);
    one = await startBackend("one");
    two = await startBackend("two");
    gw = await startGateway({
      listeners: [{ name: "rev", mode: "reverse", listen: "127.0.0.1:0", tls: { certificates: [{ cert: served.cert, key: served.key }] } }],
      reverse: {
        pools: { one: { backends: [`http://127.0.0.1:${one.port}`] } },
        routes: [{ id: "site", hosts: ["a.test"], pool: "one" }],
      },
      admin: { listen: "127.0.0.1:0" },
    }, { listener: "rev" });
  });

  after(async () => {
    const graceful = await gw?.stop();
    await stopBackend(one);
    await stopBackend(two);
    if (work) rmSync(work, { recursive: true, force: true });
    assert.equal(graceful, true);
  });

  /** curl to https://HOST:port/, trusting `ca`. */
  const get = (host: string, ca: string) =>
    curl(["--resolve", `${host}:${gw.port}:127.0.0.1`, "--cacert", ca, `https://${host}:${gw.port}/`]);
  const backendOf = (r: { code: number; stdout: string; stderr: string }) => {
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { backend: string }).backend;
  };
  /** Reloads and checks that the verdict contains `text`. */
  const reload = async (text: string) => {
    const out = await gw.reload();
    assert.ok(out.includes(text), `expected ${JSON.stringify(text)}, got:\n${out}`);
    return out;
  };


  /** `tollgate_certificate_not_after_timestamp_seconds` of listener `listener`'s certificate `file`, from /metrics. */
  const expiryMetric = async (listener: string, file: string) => {
    const text = await (await fetch(`http://127.0.0.1:${gw.ports.get("admin")}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`tollgate_certificate_not_after_timestamp_seconds{use="reverse",listener="${listener}",file="${file}"} `));
    return Number(line?.split(" ")[1]);
  };
  /** The certificate's notAfter as openssl reads it, in Unix seconds. */
  const notAfter = (file: string) => {
    const out = execFileSync("openssl", ["x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in", file], { encoding: "utf8" });
    return Date.parse(out.trim().replace(/^notAfter=/, "").replace(" ", "T")) / 1000;
  };

  it("serves a renewed certificate and the new routes and pools after SIGHUP, with no restart needed", async () => {
    assert.equal(backendOf(await get("a.test", oldCa)), "one");
    assert.equal(await expiryMetric("rev", served.cert), notAfter(served.cert), "the expiry metric shows the certificate served");
    const before = await get("a.test", newCa);
    assert.equal(before.code, 60, "the new CA does not vouch for the certificate served before the reload");

    copyFileSync(renewed.cert, served.cert);
    copyFileSync(renewed.key, served.key);
    const config = JSON.parse(readFileSync(gw.configFile!, "utf8")) as {
      listeners: { tls: { certificates: { cert: string; key: string }[] } }[];
      reverse: Record<string, unknown>;
    };
    config.listeners[0]!.tls.certificates.push({ cert: bCert.cert, key: bCert.key });
    config.reverse = {
      pools: { two: { backends: [`http://127.0.0.1:${two.port}`] } },
      routes: [{ id: "site", hosts: ["a.test", "b.test"], pool: "two" }],
    };
    writeFileSync(gw.configFile!, JSON.stringify(config));
    const verdict = await reload("config reloaded");
    assert.doesNotMatch(verdict, /restart needed/);

    assert.equal(backendOf(await get("a.test", newCa)), "two");
    assert.equal(backendOf(await get("b.test", newCa)), "two"); // a certificate and a route added by the reload
    const stale = await get("a.test", oldCa);
    assert.equal(stale.code, 60, "the old certificate is no longer served");
    assert.equal(await expiryMetric("rev", served.cert), notAfter(renewed.cert), "the metric follows the renewal");
    assert.ok(notAfter(renewed.cert) - Date.now() / 1000 > 29 * 86400);
    assert.equal(await expiryMetric("rev", bCert.cert), notAfter(bCert.cert));
  });

  it("refuses a reload whose key is broken or another certificate's, and keeps serving the certificate in force", async () => {
    writeFileSync(served.key, "not a key\n");
    let verdict = await reload("reload refused");
    assert.match(verdict, /listeners "rev" tls\.certificates\[0\]\.key ".*live-a\.key" holds no PEM private key/);
    assert.equal(backendOf(await get("a.test", newCa)), "two");
    copyFileSync(bCert.key, served.key); // a renewal caught half way: the new key, the old certificate
    verdict = await reload("reload refused");
    assert.match(verdict, /\.key ".*live-a\.key" does not go with listeners "rev" tls\.certificates\[0\]\.cert ".*live-a\.pem": the private key does not belong/);
    assert.equal(backendOf(await get("a.test", newCa)), "two");
    copyFileSync(renewed.key, served.key);
    await reload("config reloaded");
    assert.equal(backendOf(await get("a.test", newCa)), "two");
  });

  it("an edited error page shows after a reload; a broken one refuses the reload and the page in force stays", async () => {
    const page = join(work, "error.html");
    const browse = () =>
      curl(["--resolve", `a.test:${gw.port}:127.0.0.1`, "--cacert", newCa, "-H", "Host: nowhere.test", "-H", "Accept: text/html", `https://a.test:${gw.port}/x`]);
    writeFileSync(page, "<p>v1 {{status}}: {{message}}</p>");
    const config = JSON.parse(readFileSync(gw.configFile!, "utf8")) as { reverse: Record<string, unknown> };
    config.reverse["errorPages"] = { template: page };
    writeFileSync(gw.configFile!, JSON.stringify(config));
    await reload("config reloaded");
    assert.equal((await browse()).stdout, "<p>v1 404: No route for nowhere.test/x</p>");
    writeFileSync(page, "<p>v2 {{status}}</p>");
    await reload("config reloaded");
    assert.equal((await browse()).stdout, "<p>v2 404</p>", "the file is read again");
    writeFileSync(page, "<p>v3 {{status}} {{backend}}</p>");
    const verdict = await reload("reload refused");
    assert.match(verdict, /reverse\.errorPages\.template ".*error\.html": unknown placeholder \{\{backend\}\} at line 1/);
    assert.equal((await browse()).stdout, "<p>v2 404</p>", "the page in force stays");
    writeFileSync(page, "<p>v4</p>");
    await reload("config reloaded");
  });

  it("a reverse listener and a redirect added by a reload serve at once", async () => {
    const config = JSON.parse(readFileSync(gw.configFile!, "utf8")) as { listeners: unknown[] };
    config.listeners.push(
      { name: "rev2", mode: "reverse", listen: "127.0.0.1:0", tls: { certificates: [{ cert: bCert.cert, key: bCert.key }] } },
      { name: "http", mode: "redirect-https", listen: "127.0.0.1:0", httpsPort: 8443 },
    );
    writeFileSync(gw.configFile!, JSON.stringify(config));
    const verdict = await reload("config reloaded");
    const port = (name: string) => Number(new RegExp(`listening .*\\b${name}=127\\.0\\.0\\.1:(\\d+)`).exec(verdict)?.[1]);
    assert.ok(port("rev2") > 0 && port("http") > 0, verdict);
    const b = await curl(["--resolve", `b.test:${port("rev2")}:127.0.0.1`, "--cacert", newCa, `https://b.test:${port("rev2")}/`]);
    assert.equal(backendOf(b), "two");
    const redirect = await curl(["-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", `http://127.0.0.1:${port("http")}/x?y`, "-H", "Host: b.test"]);
    assert.equal(redirect.stdout, "308 https://b.test:8443/x?y");
    assert.equal(backendOf(await get("a.test", newCa)), "two", "the first listener serves on");
  });
});
