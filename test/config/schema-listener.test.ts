import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ListenerConfig } from "../../src/config/config.ts";
import { parseConfig } from "../../src/config/parse.ts";
import { normalizeHost } from "../../src/core/host.ts";
import { compilePolicy } from "../../src/policy/compile.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

const listeners = (...list: Record<string, unknown>[]) => ({ listeners: list });
const tproxy = (extra: Record<string, unknown> = {}) => ({ name: "tproxy", mode: "transparent", listen: "0.0.0.0:8443", ...extra });
const thttp = (extra: Record<string, unknown> = {}) => ({ name: "thttp", mode: "transparent-http", listen: "0.0.0.0:8080", ...extra });
const explicit = (extra: Record<string, unknown> = {}) => ({ name: "explicit", mode: "explicit", listen: "127.0.0.1:3128", ...extra });
const socks = (extra: Record<string, unknown> = {}) => ({ name: "socks", mode: "socks5", listen: "127.0.0.1:1080", ...extra });

/** What a flow would read from a listener; also checks that the union narrows by `mode`. */
function describeListener(l: ListenerConfig): string {
  switch (l.mode) {
    case "explicit":
      return `explicit ${l.name}`;
    case "socks5":
      return `socks5 ${l.name}`;
    case "transparent":
      return `transparent ${l.name} -> :${l.upstreamPort} noSni=${typeof l.noSni === "string" ? l.noSni : `${l.noSni.hostname}:${l.noSni.port}`} ech=${l.ech}`;
    case "transparent-http":
      return `transparent-http ${l.name} -> :${l.upstreamPort}`;
    case "reverse":
      return `reverse ${l.name} tls=${l.tls ? "on" : "off"}`;
    case "redirect-https":
      return `redirect-https ${l.name} -> :${l.httpsPort}`;
  }
}

describe("config: listener modes", () => {
  it("gives each mode its fields and defaults", () => {
    const config = parseConfig(listeners(explicit(), tproxy(), thttp(), socks()));
    assert.deepEqual(config.listeners, [
      { name: "explicit", mode: "explicit", hostname: "127.0.0.1", port: 3128 },
      { name: "tproxy", mode: "transparent", hostname: "0.0.0.0", port: 8443, upstreamPort: 443, noSni: "deny", ech: "policy" },
      { name: "thttp", mode: "transparent-http", hostname: "0.0.0.0", port: 8080, upstreamPort: 80 },
      { name: "socks", mode: "socks5", hostname: "127.0.0.1", port: 1080 },
    ]);
    assert.deepEqual(config.listeners.map(describeListener), [
      "explicit explicit",
      "transparent tproxy -> :443 noSni=deny ech=policy",
      "transparent-http thttp -> :80",
      "socks5 socks",
    ]);
  });

  it("keeps given values, deeply frozen", () => {
    const config = parseConfig(listeners(
      tproxy({ upstreamPort: 8443, noSni: { action: "allow", upstream: "Fallback.Example:443" }, ech: "block" }),
      thttp({ upstreamPort: 8080 }),
      { mode: "transparent", listen: "[::1]:9443", noSni: "deny", upstreamPort: 1 },
    ));
    assert.deepEqual(config.listeners, [
      {
        name: "tproxy",
        mode: "transparent",
        hostname: "0.0.0.0",
        port: 8443,
        upstreamPort: 8443,
        noSni: { action: "allow", upstream: "Fallback.Example:443", hostname: "fallback.example", port: 443 },
        ech: "block",
      },
      { name: "thttp", mode: "transparent-http", hostname: "0.0.0.0", port: 8080, upstreamPort: 8080 },
      { name: "listener-3", mode: "transparent", hostname: "::1", port: 9443, upstreamPort: 1, noSni: "deny", ech: "policy" },
    ]);
    const first = config.listeners[0];
    assert.ok(first?.mode === "transparent");
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.noSni));
    assert.equal(describeListener(first), "transparent tproxy -> :8443 noSni=fallback.example:443 ech=block");
  });

  it("reports fields given for the wrong mode at their path", () => {
    assert.deepEqual(problems(listeners(explicit({ upstreamPort: 443, noSni: "deny", ech: "block" }))), [
      'listeners[0].upstreamPort: only valid for "transparent" and "transparent-http" listeners (this one is "explicit")',
      'listeners[0].noSni: only valid for "transparent" listeners (this one is "explicit")',
      'listeners[0].ech: only valid for "transparent" listeners (this one is "explicit")',
    ]);
    assert.deepEqual(problems(listeners(tproxy(), thttp({ upstreamPort: 80, noSni: "deny", ech: "policy" }))), [
      'listeners[1].noSni: only valid for "transparent" listeners (this one is "transparent-http")',
      'listeners[1].ech: only valid for "transparent" listeners (this one is "transparent-http")',
    ]);
  });

  it("reports a bad mode once, without judging the other fields", () => {
    assert.deepEqual(problems(listeners({ mode: "transparant", listen: "127.0.0.1:1", upstreamPort: 443 })), [
      'listeners[0].mode: expected "explicit", "socks5", "transparent", "transparent-http", "reverse" or "redirect-https", got "transparant"',
    ]);
  });

  it("reports bad upstreamPort values", () => {
    for (const [value, got] of [[0, "0"], [65536, "65536"], [1.5, "1.5"], ["443", '"443"']] as const) {
      assert.deepEqual(problems(listeners(tproxy({ upstreamPort: value }))), [`listeners[0].upstreamPort: expected an integer 1-65535, got ${got}`]);
    }
    assert.deepEqual(problems(listeners(thttp({ upstreamPort: -1 }))), ["listeners[0].upstreamPort: expected an integer 1-65535, got -1"]);
  });

  it("reports bad noSni values", () => {
    const noSni = (value: unknown) => problems(listeners(tproxy({ noSni: value })));
    assert.deepEqual(noSni("allow"), ['listeners[0].noSni: expected "deny" or {"action": "allow", "upstream": "host:port"}, got "allow"']);
    assert.deepEqual(noSni(["deny"]), ['listeners[0].noSni: expected "deny" or {"action": "allow", "upstream": "host:port"}, got an array']);
    assert.deepEqual(noSni({ action: "deny", upstream: "a.test:443" }), [
      'listeners[0].noSni.action: expected "allow" (or write "deny" instead of an object), got "deny"',
    ]);
    assert.deepEqual(noSni({ action: "allow" }), ["listeners[0].noSni.upstream: required key is missing"]);
    assert.deepEqual(noSni({ action: "allow", upstream: "a.test:0" }), ['listeners[0].noSni.upstream: expected a port 1-65535 after the host, got "a.test:0"']);
    assert.deepEqual(noSni({ action: "allow", upstream: "a.test" }), [
      'listeners[0].noSni.upstream: expected "host:port" (IPv6 as "[::1]:port"), got "a.test"',
    ]);
    assert.deepEqual(noSni({ action: "allow", upstream: "a.test:1", upstrem: "x" }), [
      'listeners[0].noSni.upstrem: unknown key (did you mean "upstream"?)',
    ]);
  });

  it("reports bad ech values and unknown listener keys", () => {
    assert.deepEqual(problems(listeners(tproxy({ ech: "off" }))), ['listeners[0].ech: expected "policy" or "block", got "off"']);
    assert.deepEqual(problems(listeners(tproxy({ upstreamport: 1 }))), ['listeners[0].upstreamport: unknown key (did you mean "upstreamPort"?)']);
  });
});

describe("config: rules scoped to listeners and modes", () => {
  const twoListeners = { listeners: [explicit(), tproxy(), { mode: "transparent-http", listen: "0.0.0.0:8080" }] };

  it("keeps listeners and modes and reaches the decision", () => {
    const config = parseConfig({
      ...twoListeners,
      policy: {
        rules: [
          { id: "t", hosts: ["x.example"], listeners: ["tproxy", "listener-3"], modes: ["transparent", "transparent-http"], action: "allow" },
          { id: "any", action: "deny" },
        ],
      },
    });
    const [t, any] = config.policy.rules;
    assert.deepEqual(t?.listeners, ["tproxy", "listener-3"]);
    assert.deepEqual(t?.modes, ["transparent", "transparent-http"]);
    assert.ok(Object.isFrozen(t?.listeners) && Object.isFrozen(t?.modes));
    assert.equal(Object.hasOwn(any ?? {}, "listeners"), false);
    assert.equal(Object.hasOwn(any ?? {}, "modes"), false);
    const policy = compilePolicy(config.policy);
    const decide = (listener: string, mode: string) =>
      policy.decide({ host: normalizeHost("x.example"), port: 443, clientIp: "10.0.0.1", listener, mode });
    assert.equal(decide("tproxy", "transparent").ruleId, "t");
    assert.equal(decide("listener-3", "transparent-http").ruleId, "t");
    assert.equal(decide("explicit", "explicit").ruleId, "any");
    assert.equal(decide("tproxy", "explicit").ruleId, "any");
  });

  it("may name the default listener when the section is absent", () => {
    const config = parseConfig({ policy: { rules: [{ listeners: ["explicit"], modes: ["explicit"], action: "allow" }] } });
    assert.deepEqual(config.policy.rules[0]?.listeners, ["explicit"]);
  });

  it("reports listeners that do not exist, at the item", () => {
    assert.deepEqual(
      problems({
        ...twoListeners,
        policy: { rules: [{ action: "allow" }, { listeners: ["tproxy", "tproxy2"], action: "allow" }, { listeners: ["listener-2"], action: "deny" }] },
      }),
      ['policy.rules[1].listeners[1]: no listener named "tproxy2"', 'policy.rules[2].listeners[0]: no listener named "listener-2"'],
    );
    assert.deepEqual(problems({ policy: { rules: [{ listeners: ["tproxy"], action: "allow" }] } }), [
      'policy.rules[0].listeners[0]: no listener named "tproxy"',
    ]);
  });

  it("reports bad listeners and modes values", () => {
    assert.deepEqual(problems({ policy: { rules: [{ action: "allow" }, { action: "allow" }, { action: "allow" }, { modes: ["explicit", "tproxy"], action: "allow" }] } }), [
      'policy.rules[3].modes[1]: expected one of "explicit", "socks5", "transparent", "transparent-http", "reverse", got "tproxy"',
    ]);
    assert.deepEqual(problems({ policy: { rules: [{ modes: "explicit", action: "allow" }] } }), ['policy.rules[0].modes: expected an array of modes, got "explicit"']);
    assert.deepEqual(problems({ policy: { rules: [{ listeners: [1], action: "allow" }] } }), ["policy.rules[0].listeners[0]: expected a listener name, got 1"]);
    assert.deepEqual(problems({ policy: { rules: [{ listeners: "explicit", action: "allow" }] } }), [
      'policy.rules[0].listeners: expected an array of listener names, got "explicit"',
    ]);
  });

  it("accepts the reverse mode in rules though no listener has it yet", () => {
    assert.deepEqual(parseConfig({ policy: { rules: [{ modes: ["reverse"], action: "allow" }] } }).policy.rules[0]?.modes, ["reverse"]);
  });
});

describe("config: ClientHello limits", () => {
  it("have defaults", () => {
    const { limits } = parseConfig({});
    assert.equal(limits.maxClientHelloBytes, 16384);
    assert.equal(limits.maxClientHelloRecords, 16);
  });

  it("keep given values within bounds", () => {
    const { limits } = parseConfig({ limits: { maxClientHelloBytes: 1024, maxClientHelloRecords: 64 } });
    assert.equal(limits.maxClientHelloBytes, 1024);
    assert.equal(limits.maxClientHelloRecords, 64);
    assert.equal(parseConfig({ limits: { maxClientHelloBytes: 65536, maxClientHelloRecords: 1 } }).limits.maxClientHelloBytes, 65536);
  });

  it("report values out of bounds", () => {
    assert.deepEqual(problems({ limits: { maxClientHelloBytes: 1023, maxClientHelloRecords: 0 } }), [
      "limits.maxClientHelloBytes: expected an integer 1024-65536, got 1023",
      "limits.maxClientHelloRecords: expected an integer 1-64, got 0",
    ]);
    assert.deepEqual(problems({ limits: { maxClientHelloBytes: 65537, maxClientHelloRecords: 65 } }), [
      "limits.maxClientHelloBytes: expected an integer 1024-65536, got 65537",
      "limits.maxClientHelloRecords: expected an integer 1-64, got 65",
    ]);
  });
});

describe("config: proxyProtocol on listeners", () => {
  it("is kept on every mode, load balancer CIDRs as written", () => {
    const pp = { proxyProtocol: { from: ["10.0.0.0/8", "2001:db8::7"] } };
    const config = parseConfig({
      ...listeners(explicit(pp), tproxy(pp), thttp(pp), { name: "rev", mode: "reverse", listen: "127.0.0.1:8443", tls: false, ...pp }),
      reverse: { pools: { app: { backends: ["http://127.0.0.1:9000"] } }, routes: [{ hosts: ["*"], pool: "app" }] },
    });
    for (const l of config.listeners) assert.deepEqual(l.proxyProtocol, { from: ["10.0.0.0/8", "2001:db8::7"] }, l.name);
    assert.equal(parseConfig(listeners(explicit())).listeners[0]!.proxyProtocol, undefined);
  });

  it("reports an empty or malformed list, and unknown fields", () => {
    assert.deepEqual(problems(listeners(explicit({ proxyProtocol: { from: [] } }))), [
      "listeners[0].proxyProtocol.from: expected at least one load balancer address or CIDR, got an empty array",
    ]);
    const [bad] = problems(listeners(explicit({ proxyProtocol: { from: ["10.0.0.0/33"] } })));
    assert.match(bad ?? "", /^listeners\[0\]\.proxyProtocol\.from\[0\]: expected an IP address or CIDR, got "10\.0\.0\.0\/33"/);
    const [unknown] = problems(listeners(explicit({ proxyProtocol: { form: ["10.0.0.0/8"] } })));
    assert.match(unknown ?? "", /^listeners\[0\]\.proxyProtocol/);
    const [missing] = problems(listeners(explicit({ proxyProtocol: true })));
    assert.match(missing ?? "", /^listeners\[0\]\.proxyProtocol: expected an object/);
  });
});
