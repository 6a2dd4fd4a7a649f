import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PolicyCommandIo, policyCommand } from "../../src/cli/policy.ts";
import { cliCommand } from "../e2e/support/gateway.ts";

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(args: string[], files: Record<string, string> = {}, configFromEnv?: string): Promise<Run> {
  let out = "";
  let err = "";
  const io: PolicyCommandIo = {
    readText: (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: "ENOENT" });
      return text;
    },
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    configFromEnv,
  };
  const code = await policyCommand(args, io);
  return { code, out, err };
}

const CONFIG = JSON.stringify({
  listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:3128" }, { name: "tproxy", mode: "transparent", listen: "127.0.0.1:8443" }],
  policy: {
    defaultAction: "deny",
    rules: [
      { id: "block-ads", hosts: ["*.ads.example"], action: "deny" },
      { id: "corp", hosts: [".corp.example"], clients: ["10.0.0.0/8"], action: "allow" },
      { id: "web", ports: [80, 443], action: "allow" },
    ],
  },
});

describe("tollgate policy check", () => {
  it("accepts a valid config with a one-line OK and exit 0", async () => {
    const r = await run(["check", "gw.json"], { "gw.json": CONFIG });
    assert.equal(r.code, 0);
    assert.equal(r.err, "");
    assert.equal(r.out, "OK: gw.json is a valid config (2 listeners, 3 rules, 0 url rules, default deny)\n");
  });

  it("accepts a valid bare policy", async () => {
    const r = await run(["check", "p.json"], { "p.json": '{"rules": [{"hosts": ["a.example"], "action": "allow"}], "urlRules": [{"id": "u", "paths": ["/x"], "action": "deny"}]}' });
    assert.equal(r.code, 0);
    assert.equal(r.out, "OK: p.json is a valid policy (1 rule, 1 url rule, default deny)\n");
  });

  it("prints every problem of a config with its path and exits 1", async () => {
    const bad = JSON.stringify({ listeners: [{ mode: "explicit", listen: "127.0.0.1:99999" }], policy: { rules: [{ action: "allow", ports: [0] }] }, lmits: {} });
    const r = await run(["check", "gw.json"], { "gw.json": bad });
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    const lines = r.err.trimEnd().split("\n");
    assert.equal(lines[0], 'Invalid config "gw.json" (3 problems)');
    const paths = lines.slice(1).map((l) => l.trim().split(":")[0]).sort();
    assert.deepEqual(paths, ["listeners[0].listen", "lmits", "policy.rules[0].ports[0]"]);
    assert.match(r.err, /lmits: unknown key \(did you mean "limits"\?\)/);
  });

  it("prints the problems of a bare policy with paths inside the policy", async () => {
    const r = await run(["check", "p.json"], { "p.json": '{"rules": [{"hosts": ["*.*.x"], "action": "allow"}, {"action": "nope"}]}' });
    assert.equal(r.code, 1);
    assert.match(r.err, /^Invalid policy "p.json" \(2 problems\)\n/);
    assert.match(r.err, /\n {2}rules\[0\]\.hosts\[0\]: expected a host name/);
    assert.match(r.err, /\n {2}rules\[1\]\.action: expected "allow" or "deny", got "nope"\n$/);
  });

  it("reads a config's block page template and checks its placeholders, as the gateway does at start", async () => {
    const withTemplate = (template: string) => JSON.stringify({ ...JSON.parse(CONFIG), blockPage: { template } });
    const ok = await run(["check", "gw.json"], { "gw.json": withTemplate("page.html"), "page.html": "<p>{{host}} blocked by {{rule}}</p>" });
    assert.equal(ok.code, 0, ok.err);
    const unknown = await run(["check", "gw.json"], { "gw.json": withTemplate("page.html"), "page.html": "<p>\n{{hots}}</p>" });
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /^Invalid config "gw.json" \(1 problem\)\n {2}blockPage\.template "page\.html": unknown placeholder \{\{hots\}\} at line 2; known: /);
    const beside = await run(["check", "/etc/tg/gw.json"], { "/etc/tg/gw.json": withTemplate("page.html"), "/etc/tg/page.html": "<p>{{host}}</p>" });
    assert.equal(beside.code, 0, `a relative template is read beside the config file: ${beside.err}`);
    const missing = await run(["check", "gw.json"], { "gw.json": withTemplate("gone.html") });
    assert.equal(missing.code, 1);
    assert.match(missing.err, /blockPage\.template: cannot read "gone\.html": .*ENOENT/);
  });

  it("reads and parses the host lists a config or a bare policy names, and names every one that fails", async () => {
    const policy = { hostLists: { ads: { file: "lists/ads.txt" }, bad: { file: "bad.hosts", format: "hosts" } }, rules: [{ id: "b", hostLists: ["ads", "bad"], action: "deny" }] };
    const config = JSON.stringify({ ...JSON.parse(CONFIG), policy });
    const files = { "/etc/tg/gw.json": config, "/etc/tg/lists/ads.txt": ".ads.example\n", "/etc/tg/bad.hosts": "0.0.0.0 a.example\n" };
    const ok = await run(["check", "/etc/tg/gw.json"], files);
    assert.equal(ok.code, 0, ok.err);
    const { "/etc/tg/bad.hosts": _, ...withoutBad } = files;
    const broken = await run(["check", "/etc/tg/gw.json"], { ...withoutBad, "/etc/tg/lists/ads.txt": ".ads.example\nads example\n" });
    assert.equal(broken.code, 1);
    assert.match(broken.err, /^Invalid config "\/etc\/tg\/gw\.json" \(2 problems\)\n {2}policy\.hostLists\.ads: "lists\/ads\.txt" line 2: expected one host pattern per line, got "ads example"\n {2}policy\.hostLists\.bad: cannot read "bad\.hosts": .*ENOENT/);
    const bare = await run(["check", "/p/policy.json"], { "/p/policy.json": JSON.stringify(policy), "/p/lists/ads.txt": "*\n", "/p/bad.hosts": "0.0.0.0 a.example\n" });
    assert.equal(bare.code, 1);
    assert.match(bare.err, /^Invalid policy "\/p\/policy\.json" \(1 problem\)\n {2}policy\.hostLists\.ads: "lists\/ads\.txt" line 1: "\*" would match every host/);
  });

  it("reports JSON syntax errors with line and column, and unreadable files; exit 1", async () => {
    const syntax = await run(["check", "p.json"], { "p.json": '{\n  "rules": [,]\n}' });
    assert.equal(syntax.code, 1);
    assert.match(syntax.err, /Invalid JSON in "p.json"\n {2}line 2, column \d+: /);
    const missing = await run(["check", "nope.json"]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /cannot read "nope.json": .*ENOENT/);
  });

  it("is a usage error (exit 2) without exactly one FILE", async () => {
    for (const args of [["check"], ["check", "a", "b"], ["check", "--config"]]) {
      const r = await run(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.err, /Usage:/);
    }
    assert.equal((await run([])).code, 2);
    assert.equal((await run(["frobnicate"])).code, 2);
  });
});

describe("tollgate policy explain", () => {
  it("prints the decision, the matching rule and every rule with ✓/✗ and why", async () => {
    const r = await run(["explain", "https://x.ads.example/banner", "--config", "gw.json"], { "gw.json": CONFIG });
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split("\n");
    assert.equal(lines[0], 'https://x.ads.example/banner: DENY by rule "block-ads"');
    assert.equal(lines[1], '  rule "block-ads" matched host pattern "*.ads.example"');
    assert.match(lines[2] ?? "", /destination x\.ads\.example:443, client 127\.0\.0\.1, mode explicit, listener "explicit"; decryption exception/);
    assert.equal(lines[4], 'Rules in "gw.json" (the first match decides):');
    assert.match(lines[5] ?? "", /^ {2}✓ {2}1\. block-ads {2}matched host pattern "\*\.ads\.example" {2}← decides$/);
    assert.match(lines[6] ?? "", /^ {2}✗ {2}2\. corp {7}host "x\.ads\.example" matched none of 1 host condition/);
    assert.match(lines[7] ?? "", /^ {2}✓ {2}3\. web {8}matched any host and port 443$/);
  });

  it("honours --client, --mode, --listener and host:port targets", async () => {
    const files = { "gw.json": CONFIG };
    const corp = await run(["explain", "git.corp.example", "--client", "10.9.8.7", "--config=gw.json"], files);
    assert.match(corp.out, /^git\.corp\.example: ALLOW by rule "corp"\n/);
    assert.match(corp.out, /client 10\.9\.8\.7 in 10\.0\.0\.0\/8/);
    const ssh = await run(["explain", "git.example:22", "--mode", "transparent", "--config", "gw.json"], files);
    assert.match(ssh.out, /^git\.example:22: DENY by the default action\n/);
    assert.match(ssh.out, /mode transparent, listener "tproxy"/);
    assert.match(ssh.out, /→ no rule matched: default deny\n$/);
    const named = await run(["explain", "a.example", "--listener", "tproxy", "--config", "gw.json"], files);
    assert.match(named.out, /listener "tproxy"/);
    assert.match(named.out, /; decryption exception; direct\n/);
  });

  it("--user with --group (repeated) asks as a member of groups", async () => {
    const HASH = `pbkdf2-sha256$100000$${btoa("0123456789abcdef")}$${btoa("0123456789abcdef0123456789abcdef")}`;
    const config = JSON.stringify({
      proxyAuth: { users: [{ name: "alice", passwordHash: HASH, groups: ["ops"] }], ldap: { url: "ldaps://dc.test", bindName: "uid={user},dc=test", groups: {} } },
      policy: { defaultAction: "deny", rules: [{ id: "ops", hosts: ["console.example"], groups: ["ops", "Domain Admins"], action: "allow" }] },
    });
    const files = { "gw.json": config };
    const dirk = await run(["explain", "console.example", "--user", "dirk", "--group", "staff", "--group=Domain Admins", "--config", "gw.json"], files);
    assert.equal(dirk.code, 0, dirk.err);
    assert.match(dirk.out, /^console\.example: ALLOW by rule "ops"\n {2}rule "ops" matched host pattern "console\.example" for user "dirk" in group "domain admins"\n/);
    assert.match(dirk.out, /user "dirk" \(groups "domain admins", "staff"\)/);
    const alice = await run(["explain", "console.example", "--user", "alice", "--config", "gw.json"], files);
    assert.match(alice.out, /ALLOW by rule "ops"/, "a local user's groups by default");
    const erin = await run(["explain", "console.example", "--user", "erin", "--config", "gw.json"], files);
    assert.match(erin.out, /DENY by the default action/);
    assert.match(erin.out, /not a member of \["ops", "domain admins"\] \(their groups: \[\]\)/);
  });

  it("--at asks about another moment for rules with a schedule", async () => {
    const config = JSON.stringify({
      policy: {
        defaultAction: "deny",
        rules: [{ id: "lunch", hosts: ["x.example"], action: "allow", schedule: { from: "12:00", to: "13:00", timeZone: "UTC" } }],
      },
    });
    const noon = await run(["explain", "x.example", "--at", "2026-11-23T12:30:00Z", "--config", "gw.json"], { "gw.json": config });
    assert.match(noon.out, /^x\.example: ALLOW by rule "lunch"\n/);
    assert.match(noon.out, /during every day 12:00-13:00 UTC \(now Mon 12:30 UTC\)/);
    const late = await run(["explain", "x.example", "--at", "2026-11-23T13:00:00Z", "--config", "gw.json"], { "gw.json": config });
    assert.match(late.out, /^x\.example: DENY by the default action\n/);
    assert.match(late.out, /Mon 13:00 UTC is outside its schedule/);
    const bad = await run(["explain", "x.example", "--at", "noon", "--config", "gw.json"], { "gw.json": config });
    assert.equal(bad.code, 2);
    assert.match(bad.err, /Invalid time "noon"/);
  });

  it("--response-type asks about a response for url rules with responseTypes; without it they are listed", async () => {
    const config = JSON.stringify({
      policy: { defaultAction: "allow", urlRules: [{ id: "no-video", responseTypes: ["video/*"], action: "deny" }] },
    });
    const open = await run(["explain", "http://tv.example/watch", "--config", "gw.json"], { "gw.json": config });
    assert.match(open.out, / {2}url rules: ALLOW by the default: no url rule matched; default allow\n {2}unless the response's type decides first: "no-video" \(DENY video\/\*\) \(ask with --response-type\)\n/);
    const video = await run(["explain", "http://tv.example/watch", "--response-type", "video/mp4", "--config", "gw.json"], { "gw.json": config });
    assert.match(video.out, / {2}url rules: DENY by "no-video": url rule "no-video" matched response type "video\/mp4" \(pattern "video\/\*"\)\n/);
    assert.doesNotMatch(video.out, /unless the response/);
    const bad = await run(["explain", "http://tv.example/", "--response-type", "video", "--config", "gw.json"], { "gw.json": config });
    assert.equal(bad.code, 2);
    assert.match(bad.err, /Invalid response type "video"/);
  });

  it("--header gives override fields url rules judge; a _method in the URL's query is judged too", async () => {
    const config = JSON.stringify({
      policy: { defaultAction: "allow", urlRules: [{ id: "no-delete", methods: ["DELETE"], action: "deny" }] },
    });
    const plain = await run(["explain", "http://app.example/items/1", "--method", "POST", "--config", "gw.json"], { "gw.json": config });
    assert.match(plain.out, / {2}url rules: ALLOW by the default/);
    const field = await run(["explain", "http://app.example/items/1", "--method", "POST", "--header", "X-HTTP-Method-Override: delete", "--config", "gw.json"], { "gw.json": config });
    assert.match(field.out, / {2}url rules: DENY by "no-delete": url rule "no-delete" matched method DELETE \(the request read with X-HTTP-Method-Override: "DELETE"\)\n/);
    const query = await run(["explain", "http://app.example/items/1?_method=DELETE", "--method", "POST", "--config", "gw.json"], { "gw.json": config });
    assert.match(query.out, /url rule "no-delete" matched method DELETE \(the request read with \?_method: "DELETE"\)/);
    const bad = await run(["explain", "http://app.example/", "--header", "X-HTTP-Method-Override DELETE", "--config", "gw.json"], { "gw.json": config });
    assert.equal(bad.code, 2);
    assert.match(bad.err, /Invalid header "X-HTTP-Method-Override DELETE": expected "Name: value"/);
  });

  it("names the parent proxy an allowed flow goes through", async () => {
    const config = JSON.stringify({
      parents: { corp: { url: "http://10.0.0.8:3128" } },
      policy: { defaultAction: "deny", defaultParent: "corp", rules: [{ id: "web", ports: [443], action: "allow" }, { id: "in", hosts: [".corp.example"], action: "allow", parent: "direct" }] },
    });
    const via = await run(["explain", "a.example", "--config", "gw.json"], { "gw.json": config });
    assert.match(via.out, /; decryption exception; via parent proxy "corp"\n/);
    const direct = await run(["explain", "x.corp.example:80", "--config", "gw.json"], { "gw.json": config });
    assert.match(direct.out, /; decryption exception; direct\n/);
  });

  it("reads the host lists of the config, beside it", async () => {
    const config = JSON.stringify({
      policy: { defaultAction: "allow", hostLists: { feed: { file: "feed.txt", format: "domains" } }, rules: [{ id: "threats", hostLists: ["feed"], action: "deny" }] },
    });
    const r = await run(["explain", "https://cdn.evil.example/x", "--config", "/etc/tg/gw.json"], { "/etc/tg/gw.json": config, "/etc/tg/feed.txt": "evil.example\n" });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^https:\/\/cdn\.evil\.example\/x: DENY by rule "threats"\n {2}rule "threats" matched host pattern "\.evil\.example" in host list "feed"\n/);
    const gone = await run(["explain", "a.example", "--config", "/etc/tg/gw.json"], { "/etc/tg/gw.json": config });
    assert.equal(gone.code, 78);
    assert.match(gone.err, /^tollgate: policy\.hostLists\.feed: cannot read "feed\.txt": /);
  });

  it("uses TOLLGATE_CONFIG, else the embedded default", async () => {
    const env = await run(["explain", "a.example"], { "env.json": CONFIG }, "env.json");
    assert.match(env.out, /Rules in "env\.json"/);
    const builtin = await run(["explain", "smtp.example:25"]);
    assert.equal(builtin.code, 0);
    assert.match(builtin.out, /DENY by the default action/);
    assert.match(builtin.out, /Rules in the embedded default config/);
    assert.match(builtin.out, /✗ {2}1\. web {2}port 25 not in \[80, 443\]/);
  });

  it("exits 2 on bad arguments and 78 on an invalid config", async () => {
    const files = { "gw.json": CONFIG, "bad.json": '{"policy": {"rules": [{"action": 1}]}}' };
    for (const args of [["explain"], ["explain", "a", "b"], ["explain", "a.example", "--colour", "red"], ["explain", "a.example", "--client"], ["explain", "a.example", "--client", "nobody"], ["explain", "ftp://a/"], ["explain", "a.example", "--listener", "nope", "--config", "gw.json"]]) {
      const r = await run(args, files);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.err, /^tollgate policy: /);
    }
    const bad = await run(["explain", "a.example", "--config", "bad.json"], files);
    assert.equal(bad.code, 78);
    assert.match(bad.err, /Invalid config "bad\.json"/);
    assert.equal((await run(["explain", "a.example", "--config", "missing.json"], files)).code, 1);
  });
});

describe("tollgate policy (real command line)", () => {
  const exec = (args: string[]) =>
    new Promise<Run>((resolve) => {
      const [cmd, ...pre] = cliCommand();
      execFile(cmd!, [...pre, ...args], { env: { ...process.env, TOLLGATE_CONFIG: "", NO_COLOR: "1" } }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, out: String(stdout), err: String(stderr) });
      });
    });

  it("exits 0/1 for check and prints the explanation", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-policy-cli-"));
    try {
      writeFileSync(join(dir, "good.json"), CONFIG);
      writeFileSync(join(dir, "bad.json"), '{"rules": [{"action": "maybe"}]}');
      const [good, bad, explained] = await Promise.all([
        exec(["policy", "check", join(dir, "good.json")]),
        exec(["policy", "check", join(dir, "bad.json")]),
        exec(["policy", "explain", "https://www.example.com/", "--config", join(dir, "good.json")]),
      ]);
      assert.equal(good.code, 0, good.err);
      assert.match(good.out, /^OK: .*good\.json is a valid config/);
      assert.equal(bad.code, 1);
      assert.match(bad.err, /rules\[0\]\.action: expected "allow" or "deny", got "maybe"/);
      assert.equal(explained.code, 0, explained.err);
      assert.match(explained.out, /ALLOW by rule "web"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
