import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

const CERT = { cert: "a.pem", key: "a.key" };
const config = (reverse: Record<string, unknown>) => ({
  listeners: [
    { name: "web", mode: "reverse", listen: "127.0.0.1:8443", tls: { certificates: [CERT] } },
    { name: "plain", mode: "reverse", listen: "127.0.0.1:8080", tls: false },
  ],
  reverse: {
    pools: { app: { backends: ["http://127.0.0.1:9000"] }, git: { backends: ["https://10.0.0.5:443", "https://git.internal:8443"] } },
    routes: [{ id: "site", hosts: ["*"], pool: "app" }],
    ...reverse,
  },
});

describe("config: reverse.passthrough and pool proxyProtocol", () => {
  it("reads passthrough routes, with ids by default, and a pool's proxyProtocol", () => {
    const c = parseConfig(config({
      pools: { app: { backends: ["http://127.0.0.1:9000"], proxyProtocol: "v1" }, git: { backends: ["https://10.0.0.5:443"], proxyProtocol: "v2" } },
      passthrough: [
        { id: "git", hosts: ["git.example.com"], pool: "git", listeners: ["web"], clients: ["10.0.0.0/8"] },
        { hosts: ["*.mtls.example.com"], pool: "git" },
      ],
    }));
    assert.deepEqual(c.reverse?.passthrough, [
      { id: "git", hosts: ["git.example.com"], pool: "git", listeners: ["web"], clients: ["10.0.0.0/8"] },
      { id: "passthrough-2", hosts: ["*.mtls.example.com"], pool: "git" },
    ]);
    assert.equal(c.reverse?.pools["app"]?.proxyProtocol, "v1");
    assert.equal(c.reverse?.pools["git"]?.proxyProtocol, "v2");
    assert.ok(Object.isFrozen(c.reverse?.passthrough[0]));
    const none = parseConfig(config({}));
    assert.deepEqual(none.reverse?.passthrough, []);
    assert.equal(Object.hasOwn(none.reverse?.pools["app"] ?? {}, "proxyProtocol"), false);
  });

  it("checks the pool, its backends, the listeners and the ids", () => {
    assert.deepEqual(problems(config({
      passthrough: [
        { id: "a", hosts: ["a.example"], pool: "nope" },
        { id: "b", hosts: ["b.example"], pool: "app" },
        { id: "c", hosts: ["c.example"], pool: "git", listeners: ["plain", "missing"] },
        { id: "site", hosts: ["d.example"], pool: "git" },
      ],
    })), [
      'reverse.passthrough[0].pool: no pool named "nope"',
      'reverse.passthrough[1].pool: pool "app" has backends that do not speak TLS ("http://127.0.0.1:9000"): a passthrough route\'s backends terminate the TLS themselves, so they must be https:// URLs',
      'reverse.passthrough[2].listeners[0]: listener "plain" is plain HTTP ("tls": false): passthrough needs a TLS reverse listener',
      'reverse.passthrough[2].listeners[1]: no reverse listener named "missing"',
      'reverse.passthrough[3].id: "site" is also the id of a route in reverse.routes; give each its own',
    ]);
  });

  it("names bad values at their field", () => {
    const bad = problems(config({
      pools: { git: { backends: ["https://10.0.0.5"], proxyProtocol: "v3" } },
      passthrough: [
        { id: "x", hosts: [], pool: "git" },
        { id: "x", hosts: [".example.com", "10.0.0.0/8"], pool: "git", clients: ["nope"] },
      ],
    }));
    const want = [
      /^reverse\.pools\.git\.proxyProtocol: expected "v1" or "v2"/,
      /^reverse\.passthrough\[0\]\.hosts: expected at least one host pattern/,
      /^reverse\.passthrough\[1\]\.hosts\[0\]: expected a host name, an IP address, "\*\.suffix" or "\*"/,
      /^reverse\.passthrough\[1\]\.hosts\[1\]:/,
      /^reverse\.passthrough\[1\]\.clients\[0\]:/,
      /^reverse\.passthrough\[1\]\.id: duplicate passthrough route id "x"/,
    ];
    for (const w of want) assert.ok(bad.some((p) => w.test(p)), `no problem matching ${w}; got:\n${bad.join("\n")}`);
  });
});
