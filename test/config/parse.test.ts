import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseConfig, parseConfigText } from "../../src/config/parse.ts";
import { defaultConfig } from "../../src/config/default.ts";
import { ConfigError } from "../../src/config/errors.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

/** The issues `parseConfig(input)` reports, as "path: message" lines. */
const rule = (extra: Record<string, unknown>) => ({ action: "allow", ...extra });

describe("parseConfig", () => {
  it("accepts {} and yields the defaults", () => {
    const config = parseConfig({});
    // every section but `admin` is taken from the default: the admin API is opt-in in a file
    const { admin, ...rest } = parseConfig(defaultConfig);
    assert.deepEqual(config, rest);
    assert.deepEqual(admin, { hostname: "127.0.0.1", port: 9090, pacBypass: [], openBootstrap: false });
    assert.equal(config.admin, undefined);
    assert.deepEqual(config.listeners, [{ name: "explicit", mode: "explicit", hostname: "127.0.0.1", port: 3128 }]);
    assert.equal(config.policy.defaultAction, "deny");
    assert.deepEqual(config.policy.rules, [
      { id: "web", ports: [80, 443], action: "allow", log: true, decryption: "exception", upstreamTls: "verify" },
    ]);
    assert.deepEqual(config.policy.urlRules, []);
    assert.equal(config.ca, undefined);
    assert.equal(Object.hasOwn(config, "ca"), false);
    assert.deepEqual(config.interception, {
      leafValidityDays: 7,
      mirrorUpstreamSans: false,
      upstreamCaFiles: [],
      minTlsVersion: { client: "TLSv1.2", upstream: "TLSv1.2" },
      leafCacheSize: 10000,
      upstreamPool: { maxIdle: 256, maxIdlePerHost: 32, idleTimeoutMs: 4000 },
    });
    assert.deepEqual(config.dns, { hosts: {}, cacheSize: 10000, ttlSeconds: 30, negativeTtlSeconds: 5, timeoutMs: 5000, servers: [], transport: "udp" });
    assert.deepEqual(config.limits, {
      maxHeadBytes: 65536,
      maxHeaders: 100,
      headerTimeoutMs: 10000,
      connectTimeoutMs: 10000,
      idleTimeoutMs: 300000,
      maxConnections: 10000,
      maxClientHelloBytes: 16384,
      maxConnectionsPerClient: 256,
      connectionRatePerClient: 0,
      connectionBurstPerClient: 200,
      maxTunnels: 10000,
      maxClientHelloRecords: 16,
      drainTimeoutMs: 10000,
      shutdownDelayMs: 0,
    });
    assert.deepEqual(config.log, { flows: "stdout" });
    assert.equal(config.workers, 1);
  });

  it("takes workers as a count from 1 to 64 or \"auto\"", () => {
    assert.equal(parseConfig({ workers: 4 }).workers, 4);
    assert.equal(parseConfig({ workers: "auto" }).workers, "auto");
    for (const bad of [0, 65, 1.5, "2", null]) {
      assert.throws(() => parseConfig({ workers: bad }), (e: unknown) =>
        e instanceof ConfigError && e.issues.some((i) => i.path === "workers" && /1-64|1 to 64 or "auto"/.test(i.message)), String(bad));
    }
  });

  it("takes deno.ownTls as true or false, off unless set", () => {
    assert.deepEqual(parseConfig({}).deno, { ownTls: false });
    assert.deepEqual(parseConfig({ deno: { ownTls: true } }).deno, { ownTls: true });
    for (const bad of ["yes", 1, null]) {
      assert.throws(() => parseConfig({ deno: { ownTls: bad } }), (e: unknown) =>
        e instanceof ConfigError && e.issues.some((i) => i.path === "deno.ownTls" && /true or false/.test(i.message)), String(bad));
    }
    assert.throws(() => parseConfig({ deno: { ownTLS: true } }), (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.path.startsWith("deno")), "an unknown key");
  });

  it("reads the example config", () => {
    const url = new URL("../../examples/explicit.json", import.meta.url);
    const config = parseConfigText(readFileSync(url, "utf8"), "explicit.json");
    assert.deepEqual(config.listeners[0], { name: "explicit", mode: "explicit", hostname: "127.0.0.1", port: 3128 });
    assert.deepEqual(
      config.policy.rules.map((r) => [r.id, r.action]),
      [["block-tracker", "deny"], ["local-origin", "allow"], ["web", "allow"]],
    );
    const web = config.policy.rules[2];
    assert.deepEqual(web?.ports, [80, 443, "8000-8100"]);
    assert.deepEqual(web?.hostRegex, ["^api[0-9]+\\.example\\.net$"]);
    assert.deepEqual(config.dns.hosts, { "origin.test": ["127.0.0.1"] });
  });

  it("keeps explicit values and fills field defaults", () => {
    const config = parseConfig({
      $schema: "https://example.invalid/tollgate.schema.json",
      listeners: [{ mode: "explicit", listen: "[::1]:0" }, { name: "lan", mode: "explicit", listen: "LocalHost:8080" }],
      policy: { rules: [rule({}), rule({ id: "b", action: "deny", decryption: "decrypt", log: false })] },
      ca: { cert: "ca/ca.pem", key: "ca/ca.key" },
      dns: { hosts: { "Origin.Test.": ["0:0::1", "192.0.2.1"] }, ttlSeconds: 0 },
      limits: { idleTimeoutMs: 0 },
      log: { flows: { file: "/var/log/tollgate/flows.jsonl" } },
    });
    assert.deepEqual(config.listeners, [
      { name: "listener-1", mode: "explicit", hostname: "::1", port: 0 },
      { name: "lan", mode: "explicit", hostname: "localhost", port: 8080 },
    ]);
    assert.deepEqual(config.policy, {
      defaultAction: "deny",
      defaultLog: true,
      recheckOpenConnections: true,
      rules: [
        { id: "rule-1", action: "allow", log: true, decryption: "exception", upstreamTls: "verify" },
        { id: "b", action: "deny", decryption: "decrypt", log: false, upstreamTls: "verify" },
      ],
      urlRules: [],
    });
    assert.deepEqual(config.ca, { cert: "ca/ca.pem", key: "ca/ca.key" });
    assert.deepEqual(config.dns.hosts, { "origin.test": ["::1", "192.0.2.1"] });
    assert.equal(config.dns.ttlSeconds, 0);
    assert.deepEqual(parseConfig({ dns: { servers: ["10.0.0.53", "[2001:db8::53]:5353"] } }).dns.servers, [
      { address: "10.0.0.53", port: 53 },
      { address: "2001:db8::53", port: 5353 },
    ]);
    assert.deepEqual(problems({ dns: { servers: ["dns.corp.example", "10.0.0.53:0"] } }), [
      'dns.servers[0]: expected an IP address, "ip:port" or "[ipv6]:port", got "dns.corp.example"',
      'dns.servers[1]: expected an IP address, "ip:port" or "[ipv6]:port", got "10.0.0.53:0"',
    ]);
    assert.deepEqual(problems({ dns: { servers: Array(9).fill("10.0.0.53") } }), ["dns.servers: expected at most 8 DNS servers"]);
    assert.equal(parseConfig({ dns: { servers: ["10.0.0.53"], transport: "tcp" } }).dns.transport, "tcp");
    assert.equal(parseConfig({ policy: { recheckOpenConnections: false } }).policy.recheckOpenConnections, false);
    assert.deepEqual(problems({ dns: { transport: "doh" } }), ['dns.transport: expected "udp", "tcp" or "tls", got "doh"']);
    assert.equal(config.dns.cacheSize, 10000);
    assert.equal(config.limits.idleTimeoutMs, 0);
    assert.equal(config.limits.maxHeaders, 100);
    assert.deepEqual(config.log.flows, { file: "/var/log/tollgate/flows.jsonl" });
  });

  it("returns a deeply frozen config", () => {
    const config = parseConfig({ dns: { hosts: { "a.test": ["192.0.2.1"] } }, policy: { rules: [rule({ hosts: ["a.test"] })] } });
    for (const value of [
      config,
      config.listeners,
      config.listeners[0],
      config.policy,
      config.policy.rules,
      config.policy.rules[0],
      config.policy.rules[0]?.hosts,
      config.dns.hosts,
      config.dns.hosts["a.test"],
      config.limits,
      config.log.flows,
    ]) {
      assert.ok(Object.isFrozen(value));
    }
    assert.throws(() => {
      (config.policy.rules as unknown[]).push({});
    }, TypeError);
  });

  it("does not share or freeze the caller's input", () => {
    const input = { policy: { rules: [{ action: "allow", hosts: ["a.test"] }] } };
    parseConfig(input);
    assert.equal(Object.isFrozen(input.policy.rules), false);
    input.policy.rules[0]?.hosts.push("b.test");
  });

  it("reports a wrong type readably", () => {
    assert.deepEqual(problems({ listeners: [{ mode: "explicit", listen: 3128 }] }), [
      'listeners[0].listen: expected "host:port", got 3128',
    ]);
    assert.deepEqual(problems([]), ["expected an object, got an empty array"]);
    assert.deepEqual(problems({ policy: { rules: { id: "x" } } }), ["policy.rules: expected an array of rules, got an object"]);
    assert.deepEqual(problems({ policy: { rules: [rule({ hosts: "example.com" })] } }), [
      'policy.rules[0].hosts: expected an array of host patterns, got "example.com"',
    ]);
    assert.deepEqual(problems({ policy: { defaultLog: "yes" } }), ['policy.defaultLog: expected true or false, got "yes"']);
  });

  it("reports unknown keys with a hint", () => {
    assert.deepEqual(problems({ policy: { rules: [{ acton: "allow", action: "deny" }] } }), [
      'policy.rules[0].acton: unknown key (did you mean "action"?)',
    ]);
    assert.deepEqual(problems({ polcy: {} }), ['polcy: unknown key (did you mean "policy"?)']);
    assert.deepEqual(problems({ zzz: 1 }), [
      'zzz: unknown key (expected one of "$schema", "listeners", "policy", "ca", "interception", "dns", "limits", "log", "reverse", "addressGuard", "admin", "proxyAuth", "parents", "blockPage", "workers", "deno")',
    ]);
  });

  it("reports a missing required key", () => {
    assert.deepEqual(problems({ policy: { rules: [{ hosts: ["a.test"] }] } }), ["policy.rules[0].action: required key is missing"]);
  });

  it("reports bad listen addresses", () => {
    const listen = (text: string) => problems({ listeners: [{ mode: "explicit", listen: text }] });
    assert.deepEqual(listen("localhost"), ['listeners[0].listen: expected "host:port" (IPv6 as "[::1]:port"), got "localhost"']);
    assert.deepEqual(listen("127.0.0.1:65536"), ['listeners[0].listen: expected a port 0-65535 after the host, got "127.0.0.1:65536"']);
    assert.deepEqual(listen("::1:3128"), ['listeners[0].listen: expected an IPv6 address in brackets ("[::1]:port"), got "::1:3128"']);
    assert.deepEqual(listen("[::g]:3128"), ['listeners[0].listen: expected "host:port" (IPv6 as "[::1]:port"), got "[::g]:3128"']);
    assert.deepEqual(listen("127.1:3128"), ['listeners[0].listen: expected "host:port" (IPv6 as "[::1]:port"), got "127.1:3128"']);
    assert.deepEqual(problems({ listeners: [{ mode: "forward", listen: "127.0.0.1:1" }] }), [
      'listeners[0].mode: expected "explicit", "socks5", "transparent", "transparent-http", "reverse" or "redirect-https", got "forward"',
    ]);
    assert.deepEqual(problems({ listeners: [] }), ["listeners: expected at least one listener, got an empty array"]);
  });

  it("reports bad rule fields at their exact path", () => {
    const rules = [rule({}), rule({}), rule({ hosts: ["exa mple.com"], ports: [443, "9000-8000"], clients: ["10.0.0.0/33"] })];
    const found = problems({ policy: { rules } });
    assert.equal(found.length, 3);
    assert.match(found[0] ?? "", /^policy\.rules\[2\]\.hosts\[0\]: expected a host name, "\*\.suffix", .*got "exa mple\.com"/);
    assert.match(found[1] ?? "", /^policy\.rules\[2\]\.ports\[1\]: expected a port 1-65535 or a range "lo-hi".*got "9000-8000"/);
    assert.match(found[2] ?? "", /^policy\.rules\[2\]\.clients\[0\]: expected an IP address or CIDR, got "10\.0\.0\.0\/33"/);
    assert.deepEqual(problems({ policy: { rules: [rule({ ports: [true] })] } }), [
      'policy.rules[0].ports[0]: expected a port 1-65535 or a range "lo-hi", got true',
    ]);
    assert.match(problems({ policy: { rules: [rule({ hostRegex: ["(unclosed"] })] } })[0] ?? "", /^policy\.rules\[0\]\.hostRegex\[0\]: /);
    assert.match(problems({ policy: { rules: [rule({ hostRegex: ["(\\w+\\.?)+example\\.com"] })] } })[0] ?? "", /^policy\.rules\[0\]\.hostRegex\[0\]: regular expression .* can take exponential time: /);
    assert.deepEqual(problems({ policy: { rules: [rule({ decryption: "maybe" })] } }), [
      'policy.rules[0].decryption: expected "exception" or "decrypt", got "maybe"',
    ]);
    assert.deepEqual(problems({ policy: { rules: [rule({ id: "has space" })] } }), [
      'policy.rules[0].id: expected an id of 1-64 letters, digits, "_", "." or "-", got "has space"',
    ]);
  });

  it("reports duplicate rule ids, including generated ones", () => {
    assert.deepEqual(problems({ policy: { rules: [rule({ id: "web" }), rule({ id: "x" }), rule({ id: "web" })] } }), [
      'policy.rules[2].id: duplicate rule id "web", first at index 0',
    ]);
    assert.deepEqual(problems({ policy: { rules: [rule({ id: "rule-2" }), rule({})] } }), [
      'policy.rules[1].id: duplicate rule id "rule-2" (generated), first at index 0',
    ]);
  });

  it("reports duplicates alongside other problems", () => {
    const found = problems({ policy: { rules: [rule({ id: "a" }), rule({ id: "a", ports: [0] })] } });
    assert.equal(found.length, 2);
    assert.ok(found.includes('policy.rules[1].id: duplicate rule id "a", first at index 0'));
  });

  it("reports duplicate listener names and addresses", () => {
    const listeners = [
      { name: "a", mode: "explicit", listen: "127.0.0.1:3128" },
      { name: "a", mode: "explicit", listen: "127.0.0.1:3129" },
      { name: "b", mode: "explicit", listen: "127.0.0.1:3128" },
    ];
    assert.deepEqual(problems({ listeners }), [
      'listeners[1].name: duplicate listener name "a", first at index 0',
      'listeners[2].listen: duplicate listen address "127.0.0.1:3128", first at index 0',
    ]);
  });

  it("reports bad dns and limits values", () => {
    assert.deepEqual(problems({ dns: { hosts: { "a b": ["192.0.2.1"] } } }), ['dns.hosts["a b"]: expected a host name, got "a b"']);
    assert.deepEqual(problems({ dns: { hosts: { "a.test": ["10.0.0.0/8"] } } }), [
      'dns.hosts["a.test"][0]: expected an IP address, got "10.0.0.0/8"',
    ]);
    assert.deepEqual(problems({ dns: { hosts: { "a.test": [] } } }), [
      'dns.hosts["a.test"]: expected at least one IP address, got an empty array',
    ]);
    assert.deepEqual(problems({ dns: { hosts: { "A.test": ["192.0.2.1"], "a.test.": ["192.0.2.2"] } } }), [
      'dns.hosts["a.test."]: duplicate host "a.test.", same as "A.test" (names ignore case and a trailing dot)',
    ]);
    assert.deepEqual(problems({ dns: { timeoutMs: 0, cacheSize: 1.5 } }), [
      "dns.cacheSize: expected an integer 0-1000000, got 1.5",
      "dns.timeoutMs: expected an integer 1-60000, got 0",
    ]);
    assert.deepEqual(problems({ limits: { maxHeaders: "100" } }), ['limits.maxHeaders: expected an integer 1-1000, got "100"']);
  });

  it("reports bad log targets", () => {
    assert.deepEqual(problems({ log: { flows: "syslog" } }), [
      'log.flows: expected "stdout", "stderr", "off" or {"file": "/path"}, got "syslog"',
    ]);
    assert.deepEqual(problems({ log: { flows: { path: "/x" } } }), [
      "log.flows.file: required key is missing",
      'log.flows.path: unknown key (expected one of "file")',
    ]);
  });

  it("lists one line per issue in the message", () => {
    try {
      parseConfig({ listeners: [{ mode: "explicit", listen: 3128 }], limits: { maxHeaders: 0 } }, "gateway.json");
      assert.fail("expected a ConfigError");
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.source, "gateway.json");
      assert.equal(
        error.message,
        'Invalid config "gateway.json" (2 problems)\n' +
          '  listeners[0].listen: expected "host:port", got 3128\n' +
          "  limits.maxHeaders: expected an integer 1-1000, got 0",
      );
    }
  });
});

describe("parseConfigText", () => {
  it("parses JSON text", () => {
    const config = parseConfigText('{ "policy": { "defaultAction": "allow" } }', "inline");
    assert.equal(config.policy.defaultAction, "allow");
    assert.deepEqual(config.policy.rules, []);
  });

  it("reports a JSON syntax error with its position", () => {
    const text = '{\n  "listeners": [\n    { "mode": "explicit" "listen": "127.0.0.1:3128" }\n  ]\n}';
    assert.throws(
      () => parseConfigText(text, "bad.json"),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.issues, [
          { path: "", message: 'invalid JSON at line 3, column 26: expected "," or "}" after a property value, got "\\""' },
        ]);
        assert.match(error.message, /^Invalid config "bad\.json" \(1 problem\)\n {2}invalid JSON at line 3, column 26/);
        return true;
      },
    );
  });

  it("reports duplicate keys instead of keeping the last one", () => {
    assert.throws(() => parseConfigText('{ "policy": {}, "policy": {} }', "dup.json"), /line 1, column 17: duplicate key "policy"/);
  });

  it("reports schema problems with the source name", () => {
    assert.throws(() => parseConfigText('{ "log": { "flows": 1 } }', "x.json"), /^ConfigError: Invalid config "x\.json"|Invalid config "x\.json"/);
  });
});

describe("config: DNS over TLS", () => {
  it("takes servers with the name on their certificate, port 853 by default, and a CA file", () => {
    const dns = parseConfig({ dns: { servers: ["9.9.9.9#dns.quad9.net", "[2620:fe::fe]:8853#DNS.Quad9.net.", "1.1.1.1"], transport: "tls", caFile: "corp-ca.pem" } }).dns;
    assert.deepEqual(dns.servers, [
      { address: "9.9.9.9", port: 853, tlsName: "dns.quad9.net" },
      { address: "2620:fe::fe", port: 8853, tlsName: "dns.quad9.net" },
      { address: "1.1.1.1", port: 853 },
    ]);
    assert.equal(dns.transport, "tls");
    assert.equal(dns.caFile, "corp-ca.pem");
  });

  it("refuses a name or CA file without TLS, TLS without servers, and a bad name", () => {
    assert.deepEqual(problems({ dns: { servers: ["9.9.9.9#dns.quad9.net"] } }), ['dns: a server\'s "#name" is for "transport": "tls"']);
    assert.deepEqual(problems({ dns: { servers: ["9.9.9.9"], caFile: "ca.pem" } }), ['dns: "caFile" is for "transport": "tls"']);
    assert.deepEqual(problems({ dns: { transport: "tls" } }), ['dns: "transport": "tls" needs "servers" (the system resolver does not speak TLS)']);
    assert.deepEqual(problems({ dns: { servers: ["9.9.9.9#bad name"], transport: "tls" } }), [
      'dns.servers[0]: expected a host name after "#" (the name on the server\'s certificate), got "bad name"',
    ]);
  });
});


describe("config: admin.pacProxy", () => {
  it("is a proxy clients can reach: a host and a port 1-65535 (not a listen address's 0)", () => {
    assert.equal(parseConfig({ admin: { listen: "127.0.0.1:9090", pacProxy: "proxy.corp.example:3128" } }).admin?.pacProxy, "proxy.corp.example:3128");
    assert.throws(() => parseConfig({ admin: { listen: "127.0.0.1:9090", pacProxy: "proxy.corp.example:0" } }), /admin\.pacProxy: expected a port 1-65535/);
  });
});
