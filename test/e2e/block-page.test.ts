import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { curl } from "./support/curl.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";

const BROWSER = ["-H", "Accept: text/html,application/xhtml+xml,*/*;q=0.8"];

/**
 * Block pages through a real gateway with real curl: a denied http:// URL and — with
 * `interceptDenied` — a denied https:// URL show the configured template; a template edited
 * on disk shows after a reload (SIGHUP); a typo in it refuses the reload. Only 127.0.0.1:
 * denied hosts are never contacted, so they need no server.
 */
describe("block pages end to end (real curl)", { timeout: 120_000 }, () => {
  let work: string;
  let gwCa: string;
  let template: string;
  let gw: GatewayProcess;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "tollgate-block-"));
    const [cmd, ...args] = cliCommand();
    execFileSync(cmd!, [...args, "ca", "init", "--out", join(work, "ca")], { encoding: "utf8" });
    gwCa = join(work, "ca", "ca.pem");
    template = join(work, "blocked.html");
    writeFileSync(template, "<h1>{{host}} is blocked</h1><p>{{message}}</p><p>{{url}} rule={{rule}} client={{client}}</p>\n");
    gw = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      ca: { cert: gwCa, key: join(work, "ca", "ca.key") },
      blockPage: { template, interceptDenied: true },
      policy: {
        defaultAction: "allow",
        rules: [{ id: "no-casino", hosts: [".casino.test"], action: "deny", message: "Gambling sites are blocked <here>." }],
      },
    });
  });

  after(async () => {
    const graceful = await gw?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    assert.equal(graceful, true);
  });

  const proxy = () => ["-x", `http://127.0.0.1:${gw.port}`];



  it("a denied http:// URL shows the template to a browser, the text to curl's default Accept", async () => {
    const page = await curl([...proxy(), "-s", "-w", "%{http_code}", ...BROWSER, "http://www.casino.test/slots?bet=1"]);
    assert.equal(page.code, 0, page.stderr);
    assert.equal(page.stdout, "<h1>www.casino.test is blocked</h1><p>Gambling sites are blocked &lt;here&gt;.</p><p>http://www.casino.test/slots?bet=1 rule=no-casino client=127.0.0.1</p>\n403");
    const text = await curl([...proxy(), "-s", "http://www.casino.test/"]);
    assert.match(text.stdout, /^Blocked by Tollgate policy: rule "no-casino" \(.*\)\nGambling sites are blocked <here>\.\n$/);
  });

  it("a denied https:// URL (interceptDenied) shows the page over TLS with a minted certificate", async () => {
    const r = await curl([...proxy(), "-s", "-v", "-w", "%{http_code}", "--cacert", gwCa, ...BROWSER, "https://pay.casino.test/deposit"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /subject: CN=pay\.casino\.test/);
    assert.match(r.stderr, /issuer: CN=Tollgate Interception CA/);
    assert.equal(r.stdout, "<h1>pay.casino.test is blocked</h1><p>Gambling sites are blocked &lt;here&gt;.</p><p>https://pay.casino.test/deposit rule=no-casino client=127.0.0.1</p>\n403");
    const q = await gw.waitForFlow((f) => f.type === "request" && f.url === "https://pay.casino.test/deposit");
    assert.equal(q.decision, "deny");
    assert.equal(q.status, 403);
    const f = await gw.waitForFlow((f) => f.type === "flow" && f.host === "pay.casino.test" && f.end === "denied");
    assert.equal(f.rule, "no-casino");
    assert.equal(f.resolved, null, "the denied host is never resolved");
  });

  it("a client that does not trust the CA fails its handshake; the line says denied and why", async () => {
    const r = await curl([...proxy(), "-s", "https://cards.casino.test/"]);
    assert.equal(r.code, 60, r.stderr);
    const f = await gw.waitForFlow((f) => f.type === "flow" && f.host === "cards.casino.test");
    assert.equal(f.end, "denied");
    assert.match(String(f.error), /Client TLS handshake failed/);
  });

  it("an edited template shows after a reload; one with a typo is refused and the old page stays", async () => {
    writeFileSync(template, "<p>Blocked: {{host}}, reference {{time}}</p>");
    assert.match(await gw.reload(), /config reloaded/);
    const page = await curl([...proxy(), "-s", ...BROWSER, "http://www.casino.test/"]);
    assert.match(page.stdout, /^<p>Blocked: www\.casino\.test, reference \d{4}-\d\d-\d\dT[\d:.]+Z<\/p>$/);
    writeFileSync(template, "<p>{{hots}}</p>");
    const verdict = await gw.reload();
    assert.match(verdict, /reload refused/);
    assert.match(verdict, /unknown placeholder \{\{hots\}\}/);
    const still = await curl([...proxy(), "-s", ...BROWSER, "http://www.casino.test/"]);
    assert.match(still.stdout, /^<p>Blocked: www\.casino\.test, reference /);
  });
});
