/**
 * Host lists on a real gateway process: a rule that names a list file denies the names in
 * it, with a reason naming the pattern and the list; a new version of the file (replaced as
 * a feed updater does, by a rename) is put in force without a signal, and an open tunnel to
 * a name it now lists is closed; a file with a bad line is refused and the old list stays.
 * Only 127.0.0.1: one HTTP origin, names mapped by `dns.hosts`.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { tempDir } from "../helpers/temp-dir.ts";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { openTunnel } from "./support/tunnel.ts";
import { waitFor } from "./support/wait.ts";

describe("host lists (real gateway)", { timeout: 60_000 }, () => {
  let origin: http.Server;
  let port: number;
  let gw: GatewayProcess;
  let feed: string;

  /** Replaces the feed file at once, as a downloader does (write beside it, then rename). */
  const publish = (text: string) => {
    writeFileSync(`${feed}.part`, text);
    renameSync(`${feed}.part`, feed);
  };
  /** The status of GET (or `method`) http://`host`/ through the proxy. */
  const status = async (host: string, method = "GET") => {
    const r = await curl(["-sS", "-o", "/dev/null", "-X", method, "-x", `http://127.0.0.1:${gw.port}`, `http://${host}:${port}/`, "-w", "%{http_code}"]);
    assert.equal(r.code, 0, r.stderr);
    return Number(r.stdout);
  };
  /** The `tollgate_host_list_*` samples of list "feed" on the admin API's /metrics, as lines. */
  const listMetrics = async () => {
    const text = await (await fetch(`http://127.0.0.1:${gw.ports.get("admin")}/metrics`)).text();
    return text.split("\n").filter((l) => l.startsWith("tollgate_host_list_") && l.includes('list="feed"'));
  };
  /** Waits for the gateway's verdict on the `n`th change of the feed file; returns it. */
  const verdict = async (n: number) => {
    const said = () => gw.stderr.join("").split("\n").filter((l) => l.startsWith(`tollgate: host list file ${JSON.stringify(feed)} changed:`));
    await waitFor(`verdict ${n} on the changed feed`, () => said().length >= n, 10_000);
    return said()[n - 1] ?? "";
  };

  before(async () => {
    origin = http.createServer((_req, res) => res.end("origin"));
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    port = (origin.address() as AddressInfo).port;
    const dir = tempDir("tollgate-host-lists-");
    feed = join(dir, "feed.txt");
    publish("# feed\na.test\n");
    const sharing = join(dir, "sharing.txt");
    writeFileSync(sharing, "up.test\n");
    gw = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      addressGuard: { allow: ["127.0.0.0/8"] },
      admin: { listen: "127.0.0.1:0" },
      dns: { hosts: { "a.test": ["127.0.0.1"], "b.test": ["127.0.0.1"], "www.b.test": ["127.0.0.1"], "up.test": ["127.0.0.1"] } },
      policy: {
        defaultAction: "allow",
        hostLists: { feed: { file: feed, format: "domains" }, sharing: { file: sharing } },
        rules: [{ id: "threats", hostLists: ["feed"], action: "deny" }],
        urlRules: [{ id: "no-uploads", hostLists: ["sharing"], methods: ["POST"], action: "deny" }],
      },
    });
  });

  after(async () => {
    await gw?.stop();
    await new Promise<void>((resolve) => origin?.close(() => resolve()));
  });

  it("a rule naming a list denies its names; the flow line names the pattern and the list", async () => {
    assert.equal(await status("a.test"), 403);
    assert.equal(await status("b.test"), 200);
    const denied = await gw.waitForFlow((f) => f.host === "a.test" && f.decision === "deny");
    assert.equal(denied.rule, "threats");
    assert.equal(denied.reason, 'rule "threats" matched host pattern ".a.test" in host list "feed"');
    const [entries, parsed] = await listMetrics();
    assert.equal(entries, `tollgate_host_list_entries{list="feed",file=${JSON.stringify(feed)}} 1`);
    const at = Number(parsed?.split(" ")[1]);
    assert.ok(Math.abs(at - Date.now() / 1000) < 60, String(parsed));
  });

  it("a url rule naming a list denies a request to its names by method", async () => {
    assert.equal(await status("up.test", "POST"), 403);
    assert.equal(await status("up.test", "GET"), 200);
    const denied = await gw.waitForFlow((f) => f.host === "up.test" && f.status === 403);
    assert.match(String(denied.reason), /url rule "no-uploads" matched host "up\.test" \(pattern "up\.test" in host list "sharing"\) and method POST/);
  });

  it("a new version of the file is put in force without a signal; an open tunnel it now lists is closed", async () => {
    const tunnel = await openTunnel(gw.port, "www.b.test", port);
    publish("b.test\nunused.test\n");
    assert.match(await verdict(1), /config reloaded \(generation 2\)/);
    await tunnel.closed;
    const revoked = await gw.waitForFlow((f) => f.host === "www.b.test" && f.end === "revoked");
    assert.equal(revoked.error, 'the policy denies it now: rule "threats" matched host pattern ".b.test" in host list "feed"');
    assert.equal(await status("www.b.test"), 403);
    assert.equal(await status("a.test"), 200, "a name the new version dropped");
    assert.equal((await listMetrics())[0], `tollgate_host_list_entries{list="feed",file=${JSON.stringify(feed)}} 2`);
  });

  it("a file with a bad line is refused, naming the line; the list in force stays", async () => {
    publish("c.test\nnot a name\n");
    const said = await verdict(2);
    assert.match(said, /reload refused, the running config stays in force/);
    const detail = gw.stderr.join("");
    assert.match(detail, /policy\.hostLists\.feed: ".*feed\.txt" line 2: expected one host pattern per line, got "not a name"/);
    assert.equal(await status("b.test"), 403);
    assert.equal(await status("a.test"), 200);
    assert.equal((await listMetrics())[0], `tollgate_host_list_entries{list="feed",file=${JSON.stringify(feed)}} 2`, "the list in force");
  });

  it("a refused reload names every file it cannot use, not just the first", async () => {
    // the feed still has the bad line of the test before; the config now names a missing page too
    const config = JSON.parse(readFileSync(gw.configFile!, "utf8"));
    writeFileSync(gw.configFile!, JSON.stringify({ ...config, blockPage: { template: "missing.html" } }));
    const all = () => gw.stderr.join("");
    await waitFor("the verdict on the changed config", () => all().includes("tollgate: config file changed: reload refused"), 10_000);
    await waitFor("its reasons", () => /blockPage\.template/.test(all().slice(all().indexOf("config file changed: reload refused"))), 2_000);
    const said = all().slice(all().indexOf("config file changed: reload refused"));
    assert.match(said, /\npolicy\.hostLists\.feed: ".*feed\.txt" line 2: expected one host pattern per line, got "not a name"\n/);
    assert.match(said, /\nblockPage\.template: cannot read "missing\.html": /);
    assert.equal(await status("b.test"), 403, "the list in force stays");
  });
});
