import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { normalizeHost } from "../../src/core/host.ts";
import { compilePolicy } from "../../src/policy/compile.ts";
import {
  makeScope,
  modeBit,
  parseListenerName,
  parseGroupName,
  parseMode,
  parseUserName,
  POLICY_MODES,
  scopeFailures,
  scopeMatches,
  scopeText,
} from "../../src/policy/scope.ts";
import type { Policy, PolicyDefinition, PolicyQuery, RuleDefinition } from "../../src/policy/types.ts";

const q = (host: string, listener?: string, mode?: string, port = 443, clientIp = "10.0.0.1"): PolicyQuery => ({
  host: normalizeHost(host),
  port,
  clientIp,
  ...(listener === undefined ? {} : { listener }),
  ...(mode === undefined ? {} : { mode }),
});
const policy = (rules: RuleDefinition[], defaultAction: "allow" | "deny" = "deny") => compilePolicy({ rules, defaultAction });
const id = (p: Policy, host: string, listener?: string, mode?: string, port?: number, client?: string) =>
  p.decide(q(host, listener, mode, port, client)).ruleId;

describe("scope helpers", () => {
  it("give each mode its own bit and none to unknown modes", () => {
    const bits = POLICY_MODES.map(modeBit);
    assert.deepEqual(POLICY_MODES, ["explicit", "socks5", "transparent", "transparent-http", "reverse"]);
    assert.equal(new Set(bits).size, 5);
    for (const b of bits) assert.equal(b & (b - 1), 0, "a single bit");
    assert.equal(modeBit(undefined), 0);
    assert.equal(modeBit("Transparent"), 0);
    assert.equal(modeBit(""), 0);
  });
  it("validate modes and listener names", () => {
    assert.equal(parseMode("transparent-http"), "transparent-http");
    assert.throws(() => parseMode("tproxy"), {
      name: "TypeError",
      message: 'expected one of "explicit", "socks5", "transparent", "transparent-http", "reverse", got "tproxy"',
    });
    assert.throws(() => parseMode(1), /got 1$/);
    assert.equal(parseListenerName("tproxy"), "tproxy");
    assert.throws(() => parseListenerName(""), /^TypeError: expected a listener name \(a non-empty string of at most 256 characters\), got ""$/);
    assert.throws(() => parseListenerName("x".repeat(257)), TypeError);
    assert.throws(() => parseListenerName(null), /got null$/);
  });
  it("build no scope from absent or empty lists", () => {
    assert.equal(makeScope(undefined, undefined), undefined);
    assert.equal(makeScope([], []), undefined);
    const s = makeScope(["a"], []);
    assert.deepEqual(s, { listeners: ["a"], modes: undefined, modeMask: 0, users: undefined, groups: undefined });
    assert.equal(makeScope(undefined, undefined, []), undefined);
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s?.listeners));
  });
  it("match, describe and explain a scope", () => {
    const s = makeScope(["a", "b"], ["transparent", "reverse"]);
    assert.ok(s);
    assert.equal(scopeMatches(s, "b", modeBit("reverse")), true);
    assert.equal(scopeMatches(s, "c", modeBit("reverse")), false);
    assert.equal(scopeMatches(s, undefined, modeBit("reverse")), false);
    assert.equal(scopeMatches(s, "a", modeBit("explicit")), false);
    assert.equal(scopeMatches(s, "a", 0), false);
    assert.equal(scopeText(s, "a", "transparent"), ' on listener "a" in mode "transparent"');
    assert.equal(scopeText(undefined, "a", "transparent"), "");
    assert.deepEqual(scopeFailures(s, "a", "transparent"), []);
    assert.deepEqual(scopeFailures(s, "c", "explicit"), ['listener "c" not in ["a", "b"]', 'mode "explicit" not in ["transparent", "reverse"]']);
    assert.deepEqual(scopeFailures(s, undefined, undefined), [
      'no listener given (rule needs one of ["a", "b"])',
      'no mode given (rule needs one of ["transparent", "reverse"])',
    ]);
    assert.deepEqual(scopeFailures(undefined, undefined, undefined), []);
  });
});

describe("compilePolicy: rules scoped to listeners", () => {
  const p = policy([
    { id: "t", hosts: ["x.example"], listeners: ["tproxy"], action: "allow" },
    { id: "both", hosts: ["y.example"], listeners: ["tproxy", "lan"], action: "allow" },
    { id: "rest", hosts: [".example"], action: "deny" },
  ]);
  it("match only queries on one of their listeners", () => {
    assert.equal(id(p, "x.example", "tproxy"), "t");
    assert.equal(id(p, "x.example", "explicit"), "rest");
    assert.equal(id(p, "x.example", "TPROXY"), "rest", "names are case-sensitive");
    assert.equal(id(p, "x.example"), "rest", "a query without a listener matches no listener-scoped rule");
    assert.equal(id(p, "y.example", "lan"), "both");
    assert.equal(id(p, "y.example", "tproxy"), "both");
    assert.equal(id(p, "y.example", "other"), "rest");
  });
  it("say so in the reason", () => {
    assert.equal(p.decide(q("x.example", "tproxy")).reason, 'rule "t" matched host pattern "x.example" on listener "tproxy"');
    assert.equal(p.decide(q("x.example", "explicit")).reason, 'rule "rest" matched host pattern ".example"');
  });
});

describe("compilePolicy: rules scoped to modes", () => {
  const p = policy([
    { id: "tls", modes: ["transparent"], ports: [443], action: "allow" },
    { id: "http", hosts: ["*.example"], modes: ["transparent-http", "explicit"], action: "allow" },
    { id: "deny-rest", action: "deny" },
  ]);
  it("match only queries in one of their modes", () => {
    assert.equal(id(p, "a.example", "l", "transparent"), "tls");
    assert.equal(id(p, "a.example", "l", "transparent", 80), "deny-rest");
    assert.equal(id(p, "a.example", "l", "explicit"), "http");
    assert.equal(id(p, "a.example", "l", "transparent-http", 80), "http");
    assert.equal(id(p, "a.example", "l", "reverse"), "deny-rest");
    assert.equal(id(p, "a.example", "l", "bogus"), "deny-rest", "an unknown mode matches no mode-scoped rule");
    assert.equal(id(p, "a.example", "l"), "deny-rest", "a query without a mode matches no mode-scoped rule");
  });
  it("say so in the reason, after the other conditions", () => {
    assert.equal(p.decide(q("a.example", "l", "transparent")).reason, 'rule "tls" matched any host and port 443 in mode "transparent"');
    const both = policy([{ id: "b", hosts: ["*.example"], clients: ["10.0.0.0/8"], listeners: ["l"], modes: ["reverse"], action: "allow" }]);
    assert.equal(
      both.decide(q("a.example", "l", "reverse")).reason,
      'rule "b" matched host pattern "*.example" and client 10.0.0.1 in 10.0.0.0/8 on listener "l" in mode "reverse"',
    );
  });
});

describe("compilePolicy: first match with scoped rules", () => {
  it("skips an earlier out-of-scope rule in every index list", () => {
    // each host kind: an earlier scoped rule and a later unscoped one for the same host
    const kinds: [string, RuleDefinition["hosts"], RuleDefinition["hostRegex"]][] = [
      ["a.example", ["a.example"], undefined],
      ["b.a.example", ["*.a.example"], undefined],
      ["a.example", [".a.example"], undefined],
      ["a.example", ["*"], undefined],
      ["10.1.2.3", ["10.1.2.3"], undefined],
      ["10.1.2.3", ["10.0.0.0/8"], undefined],
      ["a.example", undefined, ["a\\.example"]],
      ["a.example", undefined, undefined],
    ];
    for (const [host, hosts, hostRegex] of kinds) {
      const cond = { ...(hosts === undefined ? {} : { hosts }), ...(hostRegex === undefined ? {} : { hostRegex }) };
      const p = policy([
        { id: "scoped", ...cond, listeners: ["tproxy"], modes: ["transparent"], action: "deny" },
        { id: "open", ...cond, action: "allow" },
      ]);
      const where = JSON.stringify(cond);
      assert.equal(id(p, host, "tproxy", "transparent"), "scoped", where);
      assert.equal(id(p, host, "tproxy", "explicit"), "open", where);
      assert.equal(id(p, host, "explicit", "transparent"), "open", where);
      assert.equal(id(p, host), "open", where);
    }
  });
  it("keeps definition order between scoped rules", () => {
    const p = policy([
      { id: "any-transparent", modes: ["transparent"], action: "deny" },
      { id: "tproxy-x", hosts: ["x.example"], listeners: ["tproxy"], action: "allow" },
      { id: "x", hosts: ["x.example"], action: "allow" },
    ]);
    assert.equal(id(p, "x.example", "tproxy", "transparent"), "any-transparent");
    assert.equal(id(p, "x.example", "tproxy", "explicit"), "tproxy-x");
    assert.equal(id(p, "x.example", "lan", "explicit"), "x");
  });
  it("a scoped rule late in a large policy does not disturb unscoped ones", () => {
    const rules: RuleDefinition[] = [];
    for (let i = 0; i < 2000; i++) rules.push({ id: `r${i}`, hosts: [`h${i}.example`], action: i % 2 ? "allow" : "deny" });
    rules.push({ id: "late", hosts: ["h7.example", "new.example"], listeners: ["t"], action: "deny" });
    rules.push({ id: "after", hosts: ["new.example"], action: "allow" });
    const p = policy(rules);
    assert.equal(id(p, "h7.example", "t"), "r7");
    assert.equal(id(p, "h1999.example"), "r1999");
    assert.equal(id(p, "new.example", "t"), "late");
    assert.equal(id(p, "new.example", "u"), "after");
  });
  it("a policy without scoped rules ignores listener and mode", () => {
    const p = policy([{ id: "x", hosts: ["x.example"], action: "allow" }]);
    assert.equal(id(p, "x.example"), "x");
    assert.equal(id(p, "x.example", "anything", "bogus"), "x");
    assert.equal(p.decide(q("x.example", "l", "transparent")).reason, 'rule "x" matched host pattern "x.example"');
  });
  it("an empty list is refused: it names no listener or mode, and must not match every one", () => {
    assert.throws(() => policy([{ id: "x", hosts: ["x.example"], listeners: [], action: "allow" }]), /rules\[0\]\.listeners: expected at least one entry/);
    assert.throws(() => policy([{ id: "x", hosts: ["x.example"], modes: [], action: "allow" }]), /rules\[0\]\.modes: expected at least one entry/);
  });
});

describe("compilePolicy: explain() with scoped rules", () => {
  const p = policy([
    { id: "t", hosts: ["x.example"], listeners: ["tproxy"], action: "allow" },
    { id: "m", hosts: ["other.example"], modes: ["transparent"], action: "allow" },
    { id: "ok", hosts: ["x.example"], listeners: ["explicit"], modes: ["explicit"], action: "deny" },
  ]);
  it("says why each rule was skipped", () => {
    const ex = p.explain?.(q("x.example", "explicit", "explicit"));
    assert.ok(ex);
    assert.equal(ex.decision.ruleId, "ok");
    assert.deepEqual(ex.rules, [
      { index: 0, ruleId: "t", matched: false, reason: 'listener "explicit" not in ["tproxy"]' },
      {
        index: 1,
        ruleId: "m",
        matched: false,
        reason: 'mode "explicit" not in ["transparent"]; host "x.example" matched none of 1 host condition',
      },
      { index: 2, ruleId: "ok", matched: true, reason: 'matched host pattern "x.example" on listener "explicit" in mode "explicit"' },
    ]);
    const none = p.explain?.(q("x.example"));
    assert.equal(none?.rules[0]?.reason, 'no listener given (rule needs one of ["tproxy"])');
    assert.equal(none?.decision.ruleId, "default");
  });
});

describe("compilePolicy: invalid scopes", () => {
  const rejects = (rule: Record<string, unknown>, message: string) =>
    assert.throws(
      () => compilePolicy({ defaultAction: "deny", rules: [{ id: "a", action: "allow" }, { id: "b", action: "allow", ...rule }] } as PolicyDefinition),
      (e: unknown) => {
        assert.ok(e instanceof TypeError, String(e));
        assert.equal(e.message, message);
        return true;
      },
    );
  it("names the rule and the item", () => {
    rejects({ modes: ["explicit", "tproxy"] }, 'rules[1].modes[1]: expected one of "explicit", "socks5", "transparent", "transparent-http", "reverse", got "tproxy"');
    rejects({ modes: "explicit" }, 'rules[1].modes: expected an array, got "explicit"');
    rejects({ listeners: [""] }, 'rules[1].listeners[0]: expected a listener name (a non-empty string of at most 256 characters), got ""');
    rejects({ listeners: ["a", 3] }, "rules[1].listeners[1]: expected a listener name (a non-empty string of at most 256 characters), got 3");
    rejects({ listeners: {} }, "rules[1].listeners: expected an array, got {}");
  });
});

describe("compilePolicy: rules scoped to users", () => {
  const p = policy([
    { id: "alice-anything", users: ["alice"], action: "allow" },
    { id: "staff-wiki", hosts: ["wiki.example"], users: ["bob", "carol"], listeners: ["explicit"], action: "allow" },
    { id: "rest", hosts: [".example"], action: "deny" },
  ]);
  const as = (user: string | undefined, host: string, listener = "explicit"): PolicyQuery => ({ ...q(host, listener, "explicit"), ...(user === undefined ? {} : { user }) });
  it("match only queries by one of their users; a query without a user matches none of them", () => {
    assert.equal(p.decide(as("alice", "secret.example")).ruleId, "alice-anything");
    assert.equal(p.decide(as("bob", "secret.example")).ruleId, "rest");
    assert.equal(p.decide(as(undefined, "secret.example")).ruleId, "rest");
    assert.equal(p.decide(as("Alice", "secret.example")).ruleId, "rest", "names are case-sensitive, as proxyAuth's are");
    assert.equal(p.decide(as("carol", "wiki.example")).ruleId, "staff-wiki");
    assert.equal(p.decide(as("carol", "wiki.example", "lan")).ruleId, "rest", "every scope condition must hold");
  });
  it("say so in the reason and in explain()", () => {
    assert.equal(p.decide(as("carol", "wiki.example")).reason, 'rule "staff-wiki" matched host pattern "wiki.example" on listener "explicit" for user "carol"');
    const rules = p.explain!(as("bob", "secret.example")).rules;
    assert.equal(rules[0]?.reason, 'user "bob" not in ["alice"]');
    assert.equal(p.explain!(as(undefined, "secret.example")).rules[0]?.reason, 'no authenticated user (rule needs one of ["alice"])');
  });
  it("validate user names", () => {
    assert.equal(parseUserName("alice"), "alice");
    assert.throws(() => parseUserName(""), /^TypeError: expected a user name \(a non-empty string of at most 64 characters\), got ""$/);
    assert.throws(() => parseUserName("x".repeat(65)), TypeError);
    assert.throws(() => policy([{ id: "u", users: [""], action: "allow" }]), /^TypeError: rules\[0\]\.users\[0\]: expected a user name/);
  });
  it("the index and the linear explanation agree on every user", () => {
    for (const user of [undefined, "alice", "bob", "carol", "dave"]) {
      for (const host of ["secret.example", "wiki.example", "other.test"]) {
        const e = p.explain!(as(user, host));
        const first = e.rules.find((r) => r.matched)?.ruleId ?? "default";
        assert.equal(e.decision.ruleId, first, `${user} ${host}`);
      }
    }
  });
});

describe("compilePolicy: rules scoped to groups", () => {
  const p = policy([
    { id: "eng-github", hosts: ["github.example"], groups: ["Engineers"], action: "allow" },
    { id: "contractors-out", groups: ["contractors"], action: "deny" },
    { id: "alice-or-ops", hosts: ["console.example"], users: ["alice"], groups: ["ops"], action: "allow" },
    { id: "rest", hosts: [".example"], action: "deny" },
  ]);
  const as = (user: string | undefined, groups: string[], host: string): PolicyQuery => ({
    ...q(host, "explicit", "explicit"),
    ...(user === undefined ? {} : { user }),
    groups,
  });
  it("match a member of a group named (compared in lower case); users and groups are one condition", () => {
    assert.equal(p.decide(as("bob", ["engineers"], "github.example")).ruleId, "eng-github");
    assert.equal(p.decide(as("bob", ["sales"], "github.example")).ruleId, "rest");
    assert.equal(p.decide(as("bob", [], "github.example")).ruleId, "rest");
    assert.equal(p.decide(as("erin", ["engineers", "contractors"], "intranet.example")).ruleId, "contractors-out");
    assert.equal(p.decide(as("alice", [], "console.example")).ruleId, "alice-or-ops", "named as a user");
    assert.equal(p.decide(as("dave", ["ops"], "console.example")).ruleId, "alice-or-ops", "a member of a group named");
    assert.equal(p.decide(as("dave", ["dev"], "console.example")).ruleId, "rest");
    assert.equal(p.decide(as(undefined, ["engineers"], "github.example")).ruleId, "rest", "groups without a user count for nothing");
  });
  it("say which group in the reason, and why not in explain()", () => {
    assert.equal(p.decide(as("bob", ["engineers"], "github.example")).reason, 'rule "eng-github" matched host pattern "github.example" for user "bob" in group "engineers"');
    assert.equal(p.decide(as("alice", ["ops"], "console.example")).reason, 'rule "alice-or-ops" matched host pattern "console.example" for user "alice"');
    const rules = p.explain!(as("dave", ["dev"], "console.example")).rules;
    assert.equal(rules[0]?.reason, 'user "dave" not a member of ["engineers"] (their groups: ["dev"]); host "console.example" matched none of 1 host condition');
    assert.equal(rules[2]?.reason, 'user "dave" not in ["alice"] and not a member of ["ops"] (their groups: ["dev"])');
    assert.equal(p.explain!(as(undefined, [], "console.example")).rules[2]?.reason, 'no authenticated user (rule needs one of ["alice"] or a member of ["ops"])');
  });
  it("validate group names", () => {
    assert.equal(parseGroupName("Proxy Users"), "proxy users");
    assert.throws(() => parseGroupName(""), /^TypeError: expected a group name \(1-256 characters, no control characters\), got ""$/);
    assert.throws(() => parseGroupName("a\nb"), TypeError);
    assert.throws(() => parseGroupName("x".repeat(257)), TypeError);
    assert.throws(() => policy([{ id: "g", groups: [3 as unknown as string], action: "allow" }]), /^TypeError: rules\[0\]\.groups\[0\]: expected a group name/);
  });
  it("the index and the linear explanation agree for every member", () => {
    for (const [user, groups] of [[undefined, []], ["alice", []], ["bob", ["engineers"]], ["dave", ["ops", "contractors"]], ["x", ["CONTRACTORS"]]] as const) {
      for (const host of ["github.example", "console.example", "other.test"]) {
        const e = p.explain!(as(user, [...groups], host));
        const first = e.rules.find((r) => r.matched)?.ruleId ?? "default";
        assert.equal(e.decision.ruleId, first, `${user} ${groups} ${host}`);
      }
    }
  });
});
