import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { normalizeHost } from "../../src/core/host.ts";
import { compilePolicy } from "../../src/policy/compile.ts";
import { type HostList, parseHostList } from "../../src/policy/host-list.ts";
import type { Policy, PolicyDefinition, PolicyMode, PolicyQuery, RuleDefinition } from "../../src/policy/types.ts";

const q = (host: string, port = 443, clientIp = "10.0.0.1"): PolicyQuery => ({ host: normalizeHost(host), port, clientIp });
const decide = (p: Policy, host: string, port?: number, client?: string) => p.decide(q(host, port, client));
const policy = (rules: RuleDefinition[], defaultAction: "allow" | "deny" = "deny") => compilePolicy({ rules, defaultAction });

describe("compilePolicy: ordering", () => {
  it("the first matching rule wins even when a later one is more specific", () => {
    const p = policy([
      { id: "all-corp", hosts: ["*.corp.example"], action: "deny" },
      { id: "git", hosts: ["git.corp.example"], action: "allow" },
    ]);
    assert.equal(decide(p, "git.corp.example").ruleId, "all-corp");
    const p2 = policy([
      { id: "git", hosts: ["git.corp.example"], action: "allow" },
      { id: "all-corp", hosts: ["*.corp.example"], action: "deny" },
    ]);
    assert.equal(decide(p2, "git.corp.example").ruleId, "git");
    assert.equal(decide(p2, "wiki.corp.example").ruleId, "all-corp");
  });
  it("a catch-all rule without host conditions shadows later rules", () => {
    const p = policy([
      { id: "ports", ports: [25], action: "deny" },
      { id: "any", action: "allow" },
      { id: "never", hosts: ["example.com"], action: "deny" },
    ]);
    assert.equal(decide(p, "example.com", 443).ruleId, "any");
    assert.equal(decide(p, "example.com", 25).ruleId, "ports");
    assert.equal(decide(p, "[::1]", 443).ruleId, "any", "no host conditions matches IP destinations too");
  });
  it("shorter suffixes that come first win over deeper ones", () => {
    const p = policy([
      { id: "b", hosts: ["a.b.c.example"], ports: [80], action: "allow" },
      { id: "com", hosts: [".example"], action: "deny" },
      { id: "deep", hosts: ["*.b.c.example"], action: "allow" },
    ]);
    assert.equal(decide(p, "a.b.c.example", 80).ruleId, "b");
    assert.equal(decide(p, "a.b.c.example", 443).ruleId, "com");
    assert.equal(decide(p, "example").ruleId, "com");
    assert.equal(decide(p, "example.org").ruleId, "default");
  });
});

describe("compilePolicy: host patterns", () => {
  const p = policy([
    { id: "exact", hosts: ["Example.COM."], action: "allow" },
    { id: "sub", hosts: ["*.wild.example"], action: "allow" },
    { id: "dom", hosts: [".dom.example"], action: "allow" },
    { id: "idn", hosts: ["bücher.de"], action: "allow" },
    { id: "ip", hosts: ["192.0.2.1", "[2001:db8::1]"], action: "allow" },
    { id: "net", hosts: ["10.0.0.0/8", "fd00::/8"], action: "allow" },
  ]);
  it("match at label boundaries only", () => {
    assert.equal(decide(p, "example.com").ruleId, "exact");
    assert.equal(decide(p, "EXAMPLE.com.").ruleId, "exact");
    assert.equal(decide(p, "example.com.evil.net").ruleId, "default");
    assert.equal(decide(p, "notexample.com").ruleId, "default");
    assert.equal(decide(p, "www.example.com").ruleId, "default");
    assert.equal(decide(p, "a.wild.example").ruleId, "sub");
    assert.equal(decide(p, "a.b.wild.example").ruleId, "sub");
    assert.equal(decide(p, "wild.example").ruleId, "default");
    assert.equal(decide(p, "evilwild.example").ruleId, "default");
    assert.equal(decide(p, "dom.example").ruleId, "dom");
    assert.equal(decide(p, "x.dom.example").ruleId, "dom");
    assert.equal(decide(p, "xdom.example").ruleId, "default");
    assert.equal(decide(p, "xn--bcher-kva.de").ruleId, "idn");
  });
  it("IP patterns match IP destinations, including shorthand and mapped forms", () => {
    assert.equal(decide(p, "192.0.2.1").ruleId, "ip");
    assert.equal(decide(p, "[::ffff:192.0.2.1]").ruleId, "ip");
    assert.equal(decide(p, "[2001:db8:0::1]").ruleId, "ip");
    assert.equal(decide(p, "10.1").ruleId, "net", "127.1-style shorthand is an IP");
    assert.equal(decide(p, "0xa.0.0.1").ruleId, "net");
    assert.equal(decide(p, "[::ffff:10.9.9.9]").ruleId, "net");
    assert.equal(decide(p, "[fd12::1]").ruleId, "net");
    assert.equal(decide(p, "192.0.2.2").ruleId, "default");
  });
  it("IP and CIDR patterns match the NAT64 and other translated forms of an IPv4 address", () => {
    // review 43: the guard lets [64:ff9b::5db8:d822] reach 93.184.216.34; the rule must see it too
    const net = compilePolicy({ defaultAction: "allow", rules: [{ id: "blocked-net", hosts: ["93.184.216.0/24"], action: "deny" }] });
    for (const host of ["93.184.216.34", "[::ffff:93.184.216.34]", "[64:ff9b::5db8:d822]", "[64:ff9b:1::5db8:d822]", "[::ffff:0:5db8:d822]", "[::5db8:d822]"]) {
      const d = decide(net, host);
      assert.equal(d.ruleId, "blocked-net", host);
      assert.equal(d.reason, 'rule "blocked-net" matched host pattern "93.184.216.0/24"', host);
    }
    assert.equal(decide(net, "[2002:5db8:d822::1]").ruleId, "default", "6to4 names a tunnel's end");
    assert.equal(decide(p, "[64:ff9b::c000:201]").reason, 'rule "ip" matched host pattern "192.0.2.1"');
    assert.equal(decide(p, "[64:ff9b::a09:909]").ruleId, "net");
    assert.equal(decide(p, "[64:ff9b::c000:202]").ruleId, "default");
  });
  it("the first rule wins whether it names the IPv6 address or the IPv4 address it stands for", () => {
    const rules: RuleDefinition[] = [
      { id: "v4", hosts: ["93.184.216.34"], action: "deny" },
      { id: "nat64", hosts: ["64:ff9b::/96"], action: "allow" },
    ];
    assert.equal(decide(policy(rules), "[64:ff9b::5db8:d822]").ruleId, "v4");
    assert.equal(decide(policy(rules.toReversed()), "[64:ff9b::5db8:d822]").ruleId, "nat64");
    const ported = policy([{ id: "v4", hosts: ["93.184.216.0/24"], ports: [80], action: "deny" }, ...rules.slice(1)]);
    assert.equal(decide(ported, "[64:ff9b::5db8:d822]", 443).ruleId, "nat64", "other conditions still apply");
    assert.equal(decide(ported, "[64:ff9b::5db8:d822]", 80).ruleId, "v4");
  });
  it("an exact IPv6 rule matches its address in any written form, and reports it in canonical form", () => {
    const v6 = policy([
      { id: "web", hosts: ["*.example"], action: "allow" },
      { id: "v6", hosts: ["[2001:DB8:0:0::A]", "fe80::1"], ports: [443], action: "allow" },
      { id: "nat64", hosts: ["64:ff9b::192.0.2.1"], action: "allow" },
      { id: "v4", hosts: ["192.0.2.1", "::ffff:198.51.100.7"], action: "deny" },
    ]);
    for (const host of ["[2001:db8::a]", "[2001:DB8::A]", "[2001:0db8:0000:0000:0000:0000:0000:000a]", "2001:db8:0::0:a"]) {
      assert.equal(decide(v6, host).reason, 'rule "v6" matched host pattern "2001:db8::a" and port 443', host);
    }
    assert.equal(decide(v6, "[2001:db8::a]", 80).ruleId, "default", "other conditions still apply");
    assert.equal(decide(v6, "[2001:db8::b]").ruleId, "default");
    assert.equal(decide(v6, "[2001:db8:1::a]").ruleId, "default");
    assert.equal(decide(v6, "[FE80::1]").reason, 'rule "v6" matched host pattern "fe80::1" and port 443');
    // the NAT64 address is its own rule's first, then stands for 192.0.2.1
    assert.equal(decide(v6, "[64:ff9b::c000:201]").reason, 'rule "nat64" matched host pattern "64:ff9b::c000:201"');
    assert.equal(decide(v6, "192.0.2.1").ruleId, "v4");
    assert.equal(decide(v6, "[::ffff:c000:201]").reason, 'rule "v4" matched host pattern "192.0.2.1"');
    assert.equal(decide(v6, "198.51.100.7").reason, 'rule "v4" matched host pattern "198.51.100.7"');
    assert.equal(decide(v6, "[::ffff:198.51.100.7]").ruleId, "v4");
    assert.equal(decide(v6, "[64:ff9b::c633:6407]").reason, 'rule "v4" matched host pattern "198.51.100.7"');
  });
  it("refuses an exact IPv6 pattern with a zone id, and a zone id never reaches a lookup", () => {
    assert.throws(() => policy([{ id: "z", hosts: ["fe80::1%eth0"], action: "deny" }]), /^TypeError: rules\[0\]\.hosts\[0\]: .*zone ids/);
    assert.throws(() => policy([{ id: "z", hosts: ["[fe80::1%25eth0]"], action: "deny" }]), /^TypeError: rules\[0\]\.hosts\[0\]: .*invalid IPv6/);
    const p6 = policy([{ id: "ll", hosts: ["fe80::1"], action: "deny" }], "allow");
    assert.equal(p6.decide({ host: { kind: "ipv6", address: "fe80::1%eth0" }, port: 443, clientIp: "10.0.0.1" }).ruleId, "default");
    assert.equal(p6.decide({ host: { kind: "ipv6", address: "fe80::1" }, port: 443, clientIp: "10.0.0.1" }).ruleId, "ll");
  });
});

describe("compilePolicy: ports and clients", () => {
  const p = policy([
    { id: "web", hosts: ["*.example"], ports: [80, 443, "8000-8100"], action: "allow" },
    { id: "lan", hosts: ["*.internal"], clients: ["10.0.0.0/8", "fd00::/8", "192.0.2.7"], action: "allow" },
    { id: "v6", hosts: ["*.internal"], clients: ["::/0"], action: "deny" },
  ]);
  it("checks ports and inclusive ranges", () => {
    assert.equal(decide(p, "a.example", 80).ruleId, "web");
    assert.equal(decide(p, "a.example", 8000).ruleId, "web");
    assert.equal(decide(p, "a.example", 8100).ruleId, "web");
    assert.equal(decide(p, "a.example", 8101).ruleId, "default");
    assert.equal(decide(p, "a.example", 7999).ruleId, "default");
    assert.equal(decide(p, "a.example", 22).ruleId, "default");
  });
  it("checks client CIDRs for IPv4, IPv6 and IPv4-mapped clients", () => {
    assert.equal(decide(p, "db.internal", 5432, "10.1.2.3").ruleId, "lan");
    assert.equal(decide(p, "db.internal", 5432, "::ffff:10.1.2.3").ruleId, "lan");
    assert.equal(decide(p, "db.internal", 5432, "[::ffff:10.1.2.3]").ruleId, "lan");
    assert.equal(decide(p, "db.internal", 5432, "fd00::5").ruleId, "lan");
    assert.equal(decide(p, "db.internal", 5432, "192.0.2.7").ruleId, "lan");
    assert.equal(decide(p, "db.internal", 5432, "2001:db8::1").ruleId, "v6");
    assert.equal(decide(p, "db.internal", 5432, "fe80::1%eth0").ruleId, "v6", "zone ids of client addresses are ignored");
    assert.equal(decide(p, "db.internal", 5432, "::ffff:11.0.0.1").ruleId, "v6", "::/0 covers IPv4 clients");
    assert.equal(decide(p, "db.internal", 5432, "not-an-ip").ruleId, "default", "an unparseable client matches no client condition");
  });
  it("takes client addresses in the forms runtimes report (brackets, zone ids)", () => {
    const v6 = policy([{ id: "ll", hosts: ["*.internal"], clients: ["fe80::/64"], action: "allow" }]);
    for (const client of ["fe80::1", "[fe80::1]", "fe80::1%25en0", "[fe80::1%eth0]"]) {
      assert.equal(decide(v6, "db.internal", 443, client).ruleId, "ll", client);
    }
    assert.equal(decide(p, "db.internal", 443, "10.0.0.1%x").ruleId, "default", "an IPv4 address has no zone: not an address");
    assert.equal(decide(p, "db.internal", 443, "[10.1.2.3]").ruleId, "lan");
    assert.equal(decide(p, "db.internal", 443, "").ruleId, "default");
  });
  it("decides each query on its own addresses, one after another (host and client in reused buffers)", () => {
    const def: PolicyDefinition = {
      defaultAction: "allow",
      rules: [
        { id: "office-v6", hosts: ["2001:db8::/32"], clients: ["fd00::/8"], action: "deny" },
        { id: "lan", hosts: ["10.0.0.0/8", "192.0.2.1"], clients: ["10.0.0.0/8"], action: "deny" },
        { id: "nat64", hosts: ["198.51.100.0/24"], action: "deny" },
        { id: "name", hosts: ["x.example"], clients: ["::ffff:10.0.0.0/104"], action: "deny" },
      ],
    };
    const hosts = ["10.1.2.3", "[2001:db8::1]", "192.0.2.1", "[64:ff9b::c633:6405]", "x.example", "[::ffff:10.9.9.9]", "192.0.2.2"];
    const clients = ["10.0.0.1", "fd00::1", "[::ffff:10.2.3.4]", "192.0.2.9", "fd00::1", "10.0.0.1", "not-an-ip"];
    const shared = compilePolicy(def);
    for (let i = 0; i < 60; i++) {
      const query = q(hosts[i % hosts.length] as string, 443, clients[(i * 3) % clients.length] as string);
      const fresh = compilePolicy(def).decide(query);
      const got = shared.decide(query);
      assert.equal(got.reason, fresh.reason, `query ${i}: ${JSON.stringify(query)}`);
      assert.equal(shared.explain?.(query).decision.reason, fresh.reason);
    }
  });
});

describe("compilePolicy: regex rules", () => {
  const p = policy([
    { id: "exact-re", hostRegex: ["example\\.com"], action: "allow" },
    { id: "api", hostRegex: ["api[0-9]+\\.example\\.net"], hosts: ["static.example.net"], action: "allow" },
    { id: "late", hosts: ["*.example.com"], action: "deny" },
  ]);
  it("is anchored to the whole normalised name", () => {
    assert.equal(decide(p, "EXAMPLE.com.").ruleId, "exact-re");
    assert.equal(decide(p, "example.com.evil.net").ruleId, "default");
    assert.equal(decide(p, "www.example.com").ruleId, "late");
    assert.equal(decide(p, "api12.example.net").ruleId, "api");
    assert.equal(decide(p, "static.example.net").ruleId, "api");
    assert.equal(decide(p, "api.example.net").ruleId, "default");
  });
  it("never matches IP destinations", () => {
    const ipRe = policy([{ id: "re", hostRegex: [".*"], action: "allow" }]);
    assert.equal(decide(ipRe, "10.0.0.1").ruleId, "default");
    assert.equal(decide(ipRe, "anything.example").ruleId, "re");
  });
});

describe("compilePolicy: decisions", () => {
  it("carries action, log, decryption and a precise reason", () => {
    const p = compilePolicy({
      defaultAction: "deny",
      defaultLog: true,
      rules: [
        { id: "corp", hosts: ["*.corp.example"], ports: [443], action: "allow", log: true, decryption: "decrypt" },
        { id: "lan", hosts: [".lan.example"], clients: ["10.0.0.0/8"], action: "deny" },
        { id: "re", hostRegex: ["re\\.example"], action: "allow" },
        { id: "net", hosts: ["192.168.0.0/16"], action: "deny" },
        { id: "star", hosts: ["*"], ports: ["8000-8100"], action: "allow" },
        { id: "any", ports: [22], action: "deny" },
      ],
    });
    assert.deepEqual(decide(p, "git.corp.example", 443), {
      action: "allow",
      ruleId: "corp",
      reason: 'rule "corp" matched host pattern "*.corp.example" and port 443',
      log: true,
      decryption: "decrypt",
      upstreamTls: "verify",
    });
    assert.deepEqual(decide(p, "unknown.example", 443), {
      action: "deny",
      ruleId: "default",
      reason: "no rule matched; default deny",
      log: true,
      decryption: "exception",
      upstreamTls: "verify",
    });
    const lan = decide(p, "a.lan.example", 80, "::ffff:10.2.3.4");
    assert.equal(lan.reason, 'rule "lan" matched host pattern ".lan.example" and client ::ffff:10.2.3.4 in 10.0.0.0/8');
    assert.equal(lan.log, false);
    assert.equal(lan.decryption, "exception");
    assert.equal(decide(p, "re.example", 1).reason, 'rule "re" matched host regex "re\\\\.example"');
    assert.equal(decide(p, "192.168.1.1", 1).reason, 'rule "net" matched host pattern "192.168.0.0/16"');
    assert.equal(decide(p, "x.example", 8080).reason, 'rule "star" matched host pattern "*" and port 8080');
    assert.equal(decide(p, "x.example", 22).reason, 'rule "any" matched any host and port 22');
    const allow = compilePolicy({ rules: [], defaultAction: "allow" });
    assert.deepEqual(decide(allow, "x.example"), {
      action: "allow",
      ruleId: "default",
      reason: "no rule matched; default allow",
      log: false,
      decryption: "exception",
      upstreamTls: "verify",
    });
  });
  it("carries upstreamTls from the matching rule, verify by default", () => {
    const p = policy([
      { id: "lab", hosts: ["lab.example"], action: "allow", decryption: "decrypt", upstreamTls: "insecure" },
      { id: "strict", hosts: ["strict.example"], action: "allow", decryption: "decrypt", upstreamTls: "verify" },
      { id: "plain", hosts: ["plain.example"], action: "allow", decryption: "decrypt" },
    ]);
    assert.equal(decide(p, "lab.example").upstreamTls, "insecure");
    assert.equal(decide(p, "lab.example").decryption, "decrypt");
    assert.equal(decide(p, "strict.example").upstreamTls, "verify");
    assert.equal(decide(p, "plain.example").upstreamTls, "verify");
    assert.equal(decide(p, "other.example").upstreamTls, "verify");
  });
  it('carries uninspectable: "tunnel" only from an allowing rule that decrypts; rejects a bad value', () => {
    const p = policy([
      { id: "grpc", hosts: ["grpc.example"], action: "allow", decryption: "decrypt", uninspectable: "tunnel" },
      { id: "blind", hosts: ["blind.example"], action: "allow", uninspectable: "tunnel" },
      { id: "strict", hosts: ["strict.example"], action: "allow", decryption: "decrypt", uninspectable: "refuse" },
    ]);
    assert.equal(decide(p, "grpc.example").uninspectable, "tunnel");
    assert.equal(decide(p, "blind.example").uninspectable, undefined, "nothing to fall back from without decryption");
    assert.equal(decide(p, "strict.example").uninspectable, undefined);
    assert.throws(
      () => policy([{ id: "x", action: "allow", decryption: "decrypt", uninspectable: "yes" as "tunnel" }]),
      /rules\[0\]\.uninspectable: expected "refuse" or "tunnel", got "yes"/,
    );
  });
  it("explain() lists every rule with why it did or did not match", () => {
    const p = policy([
      { id: "web", hosts: ["*.example"], ports: [80, "8000-8100"], action: "allow" },
      { id: "lan", hosts: ["a.example"], clients: ["10.0.0.0/8"], action: "allow" },
      { id: "other", hosts: ["b.example", "c.example"], action: "deny" },
      { id: "also", hosts: [".example"], action: "deny" },
    ]);
    const ex = p.explain?.(q("a.example", 443, "192.0.2.1"));
    assert.ok(ex);
    assert.equal(ex.decision.ruleId, "also");
    assert.deepEqual(ex.rules, [
      { index: 0, ruleId: "web", matched: false, reason: "port 443 not in [80, 8000-8100]" },
      { index: 1, ruleId: "lan", matched: false, reason: "client 192.0.2.1 not in [10.0.0.0/8]" },
      { index: 2, ruleId: "other", matched: false, reason: 'host "a.example" matched none of 2 host conditions' },
      { index: 3, ruleId: "also", matched: true, reason: 'matched host pattern ".example"' },
    ]);
    const bad = p.explain?.(q("x.org", 1, "bogus"));
    assert.equal(bad?.rules[1]?.reason, 'host "x.org" matched none of 1 host condition; client "bogus" is not an IP address');
  });
});

describe("compilePolicy: schedules", () => {
  const MONDAY_LUNCH = Date.parse("2026-11-23T11:15:00Z"); // 12:15 in Berlin
  const MONDAY_EVENING = Date.parse("2026-11-23T18:15:00Z");
  const p = policy([
    { id: "social-at-lunch", hosts: [".social.example"], action: "allow", schedule: { days: ["mon", "tue", "wed", "thu", "fri"], from: "12:00", to: "13:30", timeZone: "Europe/Berlin" } },
    { id: "no-social", hosts: [".social.example"], action: "deny" },
  ]);
  const at = (now: number) => p.decide({ ...q("www.social.example"), now });

  it("a rule applies only during its schedule; outside it later rules decide", () => {
    assert.equal(at(MONDAY_LUNCH).ruleId, "social-at-lunch");
    assert.equal(at(MONDAY_LUNCH).reason, 'rule "social-at-lunch" matched host pattern ".social.example" during mon-fri 12:00-13:30 Europe/Berlin (now Mon 12:15 Europe/Berlin)');
    assert.equal(at(MONDAY_EVENING).ruleId, "no-social");
    assert.equal(at(Date.parse("2026-11-22T11:15:00Z")).ruleId, "no-social", "Sunday lunch");
  });

  it("explain() says when a rule is outside its schedule", () => {
    const ex = p.explain?.({ ...q("www.social.example"), now: MONDAY_EVENING });
    assert.deepEqual(ex?.rules[0], { index: 0, ruleId: "social-at-lunch", matched: false, reason: "Mon 19:15 Europe/Berlin is outside its schedule (mon-fri 12:00-13:30 Europe/Berlin)" });
    assert.equal(ex?.decision.ruleId, "no-social");
  });

  it("without a time in the query the clock decides; a bad schedule names its field", () => {
    const always = policy([{ id: "a", action: "allow", schedule: { timeZone: "UTC" } }]);
    assert.equal(always.decide(q("x.example")).ruleId, "a");
    assert.throws(() => policy([{ id: "a", action: "allow", schedule: { days: ["mon", "funday"] } }]), /^TypeError: rules\[0\]\.schedule\.days\[1\]: expected "mon"/);
    assert.throws(() => policy([{ id: "a", action: "allow", schedule: { timeZone: "Nowhere/Land" } }]), /^TypeError: rules\[0\]\.schedule\.timeZone: expected an IANA time zone/);
  });
});

describe("compilePolicy: invalid definitions", () => {
  const rejects = (def: unknown, message: string | RegExp) =>
    assert.throws(() => compilePolicy(def as PolicyDefinition), (e: unknown) => {
      assert.ok(e instanceof TypeError, String(e));
      if (typeof message === "string") assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    });
  const ok = { id: "ok", action: "allow" };
  it("names the rule index and field", () => {
    rejects({ defaultAction: "deny", rules: [ok, ok, { id: "x", hosts: ["exa mple.com"], action: "allow" }] },
      /^rules\[1\]\.id: duplicate rule id "ok" \(first at rules\[0\]\)$/);
    rejects({ defaultAction: "deny", rules: [ok, { id: "a", action: "allow" }, { id: "x", hosts: ["good.example", "exa mple.com"], action: "allow" }] },
      'rules[2].hosts[1]: expected a host name, "*.suffix", ".suffix", an IP address or a CIDR, got "exa mple.com" (whitespace and control characters are not allowed)');
    rejects({ defaultAction: "deny", rules: [{ id: "x", hosts: ["exa mple.com"], action: "allow" }] }, /^rules\[0\]\.hosts\[0\]: expected a host name/);
    rejects({ defaultAction: "deny", rules: [{ id: "x", ports: [443, "9-8"], action: "allow" }] }, /^rules\[0\]\.ports\[1\]: expected a port 1-65535/);
    rejects({ defaultAction: "deny", rules: [{ id: "x", ports: [0], action: "allow" }] }, /^rules\[0\]\.ports\[0\]: /);
    rejects({ defaultAction: "deny", rules: [{ id: "x", clients: ["10.0.0.0/33"], action: "allow" }] }, /^rules\[0\]\.clients\[0\]: expected an IP address or CIDR/);
    rejects({ defaultAction: "deny", rules: [{ id: "x", hostRegex: ["a("], action: "allow" }] }, /^rules\[0\]\.hostRegex\[0\]: invalid regular expression "a\(": /);
    rejects({ defaultAction: "deny", rules: [{ id: "x", action: "permit" }] }, 'rules[0].action: expected "allow" or "deny", got "permit"');
    rejects({ defaultAction: "deny", rules: [{ id: "x", action: "allow", log: "yes" }] }, 'rules[0].log: expected a boolean, got "yes"');
    rejects({ defaultAction: "deny", rules: [{ id: "x", action: "allow", decryption: "always" }] }, /^rules\[0\]\.decryption: /);
    rejects({ defaultAction: "deny", rules: [{ id: "x", action: "allow", upstreamTls: "off" }] }, 'rules[0].upstreamTls: expected "verify" or "insecure", got "off"');
    rejects({ defaultAction: "deny", rules: [{ id: "x", action: "allow", hosts: "example.com" }] }, 'rules[0].hosts: expected an array, got "example.com"');
    rejects({ defaultAction: "deny", rules: [{ id: "", action: "allow" }] }, /^rules\[0\]\.id: expected a non-empty string/);
    rejects({ defaultAction: "deny", rules: [{ id: "default", action: "allow" }] }, /^rules\[0\]\.id: "default" is reserved/);
    rejects({ defaultAction: "deny", rules: [null] }, "rules[0]: expected a rule object, got null");
    rejects({ defaultAction: "maybe", rules: [] }, 'defaultAction: expected "allow" or "deny", got "maybe"');
    rejects({ defaultAction: "deny", rules: {} }, /^rules: expected an array/);
    rejects({ defaultAction: "deny", defaultLog: 1, rules: [] }, "defaultLog: expected a boolean, got 1");
    rejects({ defaultAction: "deny", rules: [{ id: "x", action: "allow", parent: "" }] }, 'rules[0].parent: expected a parent proxy name or "direct", got ""');
    rejects({ defaultAction: "deny", defaultParent: 3, rules: [] }, 'defaultParent: expected a parent proxy name or "direct", got 3');
  });
});

describe("compilePolicy: parent proxies", () => {
  it("allowed flows take the rule's parent, else the default one; denials and \"direct\" take none", () => {
    const p = compilePolicy({
      defaultAction: "allow",
      defaultParent: "corp",
      rules: [
        { id: "deny", hosts: ["bad.example"], action: "deny", parent: "lab" },
        { id: "direct", hosts: [".corp.example"], action: "allow", parent: "direct" },
        { id: "lab", hosts: [".lab.example"], action: "allow", parent: "lab" },
        { id: "plain", hosts: ["plain.example"], action: "allow" },
      ],
    });
    assert.equal(decide(p, "bad.example").parent, undefined);
    assert.equal(decide(p, "x.corp.example").parent, undefined);
    assert.equal(decide(p, "x.lab.example").parent, "lab");
    assert.equal(decide(p, "plain.example").parent, "corp");
    assert.equal(decide(p, "elsewhere.example").parent, "corp", "the default allow");
    const denying = compilePolicy({ defaultAction: "deny", defaultParent: "corp", rules: [] });
    assert.equal(decide(denying, "elsewhere.example").parent, undefined);
    assert.equal(decide(compilePolicy({ defaultAction: "allow", defaultParent: "direct", rules: [] }), "a.example").parent, undefined);
  });
});

describe("compilePolicy: host lists", () => {
  const ads = parseHostList("ads", ".ads.example\ntracker.example\n198.51.100.0/24\n", "patterns");
  const malware = parseHostList("malware", "0.0.0.0 evil.example\n", "hosts");
  const lists = new Map<string, HostList>([["ads", ads], ["malware", malware]]);
  const withLists = (rules: RuleDefinition[], defaultAction: "allow" | "deny" = "allow") => compilePolicy({ rules, defaultAction }, { hostLists: lists });
  it("a rule matches a host a pattern of its lists matches; the reason names the pattern and the list", () => {
    const p = withLists([{ id: "block", hostLists: ["malware", "ads"], action: "deny" }]);
    assert.deepEqual(
      [decide(p, "x.ads.example"), decide(p, "evil.example"), decide(p, "198.51.100.9")].map((d) => [d.ruleId, d.reason]),
      [
        ["block", 'rule "block" matched host pattern ".ads.example" in host list "ads"'],
        ["block", 'rule "block" matched host pattern "evil.example" in host list "malware"'],
        ["block", 'rule "block" matched host pattern "198.51.100.0/24" in host list "ads"'],
      ],
    );
    assert.equal(decide(p, "a.evil.example").ruleId, "default");
    assert.equal(decide(p, "example.com").ruleId, "default");
  });
  it("a list's IP and CIDR entries match the NAT64 form of an address in them, in decide and explain", () => {
    const p = withLists([{ id: "block", hostLists: ["ads"], action: "deny" }]);
    const d = decide(p, "[64:ff9b::c633:6409]"); // 198.51.100.9
    assert.deepEqual([d.ruleId, d.reason], ["block", 'rule "block" matched host pattern "198.51.100.0/24" in host list "ads"']);
    assert.equal(p.explain?.(q("[64:ff9b::c633:6409]"))?.rules[0]?.reason, 'matched host pattern "198.51.100.0/24" in host list "ads"');
  });
  it("keeps rule order: an earlier rule wins over a list, a list over a later rule", () => {
    const p = withLists([
      { id: "exempt", hosts: ["good.ads.example"], action: "allow" },
      { id: "lists", hostLists: ["ads"], ports: [443], action: "deny" },
      { id: "late", hosts: [".ads.example"], action: "allow", log: true },
    ]);
    assert.equal(decide(p, "good.ads.example").ruleId, "exempt");
    assert.equal(decide(p, "bad.ads.example").ruleId, "lists");
    assert.equal(decide(p, "bad.ads.example", 80).ruleId, "late", "the list rule's port does not pass");
  });
  it("one list named by several rules, with hosts beside it", () => {
    const p = withLists([
      { id: "admins", hostLists: ["ads"], clients: ["10.9.0.0/16"], action: "allow" },
      { id: "others", hosts: ["extra.example"], hostLists: ["ads"], action: "deny" },
    ]);
    assert.equal(decide(p, "a.ads.example", 443, "10.9.1.1").ruleId, "admins");
    assert.equal(decide(p, "a.ads.example", 443, "10.1.1.1").ruleId, "others");
    assert.equal(decide(p, "extra.example", 443, "10.1.1.1").reason, 'rule "others" matched host pattern "extra.example"');
  });
  it("explain says which list matched, or that none did", () => {
    const p = withLists([{ id: "block", hosts: ["x.example"], hostLists: ["ads", "malware"], action: "deny" }, { id: "l", hostLists: ["malware"], action: "deny" }]);
    const ex = p.explain?.(q("tracker.example"));
    assert.equal(ex?.rules[0]?.reason, 'matched host pattern "tracker.example" in host list "ads"');
    assert.equal(ex?.rules[1]?.reason, 'host "tracker.example" matched no pattern of host list "malware"');
    assert.equal(p.explain?.(q("y.example"))?.rules[0]?.reason, 'host "y.example" matched none of 1 host condition and no pattern of host lists "ads", "malware"');
  });
  it("refuses a list it was not given", () => {
    assert.throws(() => withLists([{ id: "a", hostLists: ["ads", "ad"], action: "deny" }]), /^TypeError: rules\[0\]\.hostLists\[1\]: no host list named "ad" \(the policy has "ads", "malware"\)$/);
    assert.throws(() => policy([{ id: "a", hostLists: ["ads"], action: "deny" }]), /rules\[0\]\.hostLists\[0\]: no host list named "ads" \(the policy has no hostLists\)/);
  });
});

describe("compilePolicy: index agrees with linear evaluation", () => {
  const names = ["example.com", "a.example.com", "b.a.example.com", "example.net", "evilexample.com", "com", "x.y", "bücher.de"];
  const patterns = [
    "example.com", "*.example.com", ".example.com", "a.example.com", "*.a.example.com", ".com", "*.com", "*", "evilexample.com",
    "x.y", ".y", "bücher.de", "10.0.0.0/8", "10.1.2.3", "::1", "::ffff:10.0.0.0/104", "192.0.2.0/24", "64:ff9b::/96",
    "64:ff9b::a01:203", "2001:db8::1", "::ffff:192.0.2.55",
  ];
  const hosts = [
    ...names, "10.1.2.3", "10.9.9.9", "[::1]", "[::ffff:10.1.2.3]", "192.0.2.55", "127.1", "[64:ff9b::a01:203]", "[::ffff:0:a09:909]",
    "[2002:a01:203::1]", "[2001:DB8:0::1]", "[2001:db8::1:0]", "[64:ff9b::c000:237]",
  ];
  const rule = fc.record({
    hosts: fc.option(fc.array(fc.constantFrom(...patterns), { minLength: 1, maxLength: 3 }), { nil: undefined }),
    hostRegex: fc.option(fc.array(fc.constantFrom("example\\.com", "[a-z]\\.example\\.com", ".*\\.net", "x\\..*"), { minLength: 1, maxLength: 2 }), { nil: undefined }),
    ports: fc.option(fc.array(fc.constantFrom<number | string>(80, 443, "8000-8100", "1-1000"), { minLength: 1, maxLength: 2 }), { nil: undefined }),
    clients: fc.option(fc.array(fc.constantFrom("10.0.0.0/8", "::1", "::/0", "192.0.2.0/24"), { minLength: 1, maxLength: 2 }), { nil: undefined }),
    listeners: fc.option(fc.array(fc.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 2 }), { nil: undefined }),
    hostLists: fc.option(fc.array(fc.constantFrom("l1", "l2", "l3"), { minLength: 1, maxLength: 2 }), { nil: undefined }),
    modes: fc.option(fc.array(fc.constantFrom<PolicyMode>("explicit", "socks5", "transparent", "transparent-http", "reverse"), { minLength: 1, maxLength: 2 }), { nil: undefined }),
    action: fc.constantFrom<"allow" | "deny">("allow", "deny"),
  });
  const scope = fc.record({
    listener: fc.option(fc.constantFrom("a", "b", "z"), { nil: undefined }),
    mode: fc.option(fc.constantFrom("explicit", "socks5", "transparent", "reverse", "bogus"), { nil: undefined }),
  });
  const hostLists = new Map<string, HostList>([
    ["l1", parseHostList("l1", "example.com\n.example.net\n10.0.0.0/8\n", "patterns")],
    ["l2", parseHostList("l2", "*.example.com\nx.y\n::1\n", "patterns")],
    ["l3", parseHostList("l3", "com\n", "domains")],
  ]);
  it("decide() returns the first rule that explain() marks as matching", () => {
    fc.assert(
      fc.property(
        fc.array(rule, { maxLength: 12 }),
        fc.array(fc.tuple(fc.constantFrom(...hosts), fc.constantFrom(80, 443, 8050, 2000), fc.constantFrom("10.0.0.1", "::1", "::ffff:192.0.2.9", "2001:db8::1"), scope), { minLength: 1, maxLength: 10 }),
        (defs, queries) => {
          const p = compilePolicy({ rules: defs.map((d, i) => ({ ...d, id: `r${i}` })), defaultAction: "deny" }, { hostLists });
          for (const [host, port, client, { listener, mode }] of queries) {
            const query: PolicyQuery = {
              ...q(host, port, client),
              ...(listener === undefined ? {} : { listener }),
              ...(mode === undefined ? {} : { mode }),
            };
            const d = p.decide(query);
            const ex = p.explain?.(query);
            assert.ok(ex);
            const first = ex.rules.find((r) => r.matched);
            assert.equal(d.ruleId, first?.ruleId ?? "default", `${host}:${port} from ${client} on ${listener} in ${mode}`);
            assert.deepEqual(ex.decision, d);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe("compilePolicy: scale smoke test", () => {
  it("compiles 200,000 rules and answers 100,000 lookups correctly", () => {
    const N = 200_000;
    const rules: RuleDefinition[] = [];
    for (let i = 0; i < N; i++) {
      const name = `h${i}.t${i % 997}.example`;
      rules.push(i % 2 === 0
        ? { id: `r${i}`, hosts: [name], action: i % 4 === 0 ? "allow" : "deny" }
        : { id: `r${i}`, hosts: [`*.${name}`], ports: [443], action: "allow" });
    }
    rules.push({ id: "late-any", action: "deny", log: true });
    const p = compilePolicy({ rules, defaultAction: "allow" });
    let matched = 0;
    for (let i = 0; i < 100_000; i++) {
      const j = (i * 7919) % N;
      const host = j % 2 === 0 ? `h${j}.t${j % 997}.example` : `x.h${j}.t${j % 997}.example`;
      const d = p.decide({ host: { kind: "dns", name: host }, port: 443, clientIp: "10.0.0.1" });
      if (d.ruleId === `r${j}`) matched++;
    }
    assert.equal(matched, 100_000);
    assert.equal(decide(p, "h4.t4.example").action, "allow");
    assert.equal(decide(p, "h6.t6.example").action, "deny");
    assert.equal(decide(p, "a.b.h7.t7.example", 443).ruleId, "r7");
    assert.equal(decide(p, "h7.t7.example", 443).ruleId, "late-any", "*.suffix does not match the suffix itself");
    assert.equal(decide(p, "x.h7.t7.example", 80).ruleId, "late-any", "port mismatch falls through");
    assert.equal(decide(p, "unknown.example").ruleId, "late-any");
    assert.equal(decide(p, "h8.t8.example.evil").ruleId, "late-any");
  });
});
