/**
 * Two Tollgates in a chain: a branch gateway (child) sends everything through a central one
 * (parent) with `forwardedFor`, and the central gateway's explicit listener trusts the branch
 * (`trustForwardedFrom`). Curl connects to the branch from two loopback addresses; the central
 * gateway's policy lets only one of them through, and its flow lines name each client with the
 * branch as the peer. A direct client's own X-Forwarded-For changes nothing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";

const ALLOWED = "127.0.0.9";
const OTHER = "127.0.0.10";

describe("a branch gateway behind a central one (forwardedFor + trustForwardedFrom)", { timeout: 90_000 }, () => {
  let pki: TestPki;
  let tlsOrigin: Origin;
  let plainOrigin: Origin;
  let central: GatewayProcess;
  let branch: GatewayProcess;

  before(async () => {
    pki = makeTestPki(["origin.test"]);
    tlsOrigin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
    plainOrigin = await startOrigin();
    central = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0", trustForwardedFrom: ["127.0.0.1"] }],
      policy: {
        defaultAction: "deny",
        rules: [{ id: "branch-users", hosts: ["origin.test", "quiet.test"], clients: [`${ALLOWED}/32`], action: "allow" }],
      },
      dns: { hosts: { "origin.test": ["127.0.0.1"], "quiet.test": ["127.0.0.1"] } },
      addressGuard: { allow: ["127.0.0.0/8"] },
    });
    branch = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      parents: {
        central: { url: `http://127.0.0.1:${central.port}`, forwardedFor: true },
        // the same central gateway, not told who the clients are
        quiet: { url: `http://127.0.0.1:${central.port}` },
      },
      policy: {
        defaultAction: "deny",
        defaultParent: "central",
        rules: [{ id: "quiet", hosts: ["quiet.test"], action: "allow", parent: "quiet" }, { id: "all", hosts: [".test"], action: "allow" }],
      },
      addressGuard: { allow: ["127.0.0.0/8"] },
    });
  });

  after(async () => {
    const graceful = [await branch?.stop(), await central?.stop()];
    await tlsOrigin?.close();
    await plainOrigin?.close();
    assert.deepEqual(graceful, [true, true]);
  });

  const centralLine = (client: string, kind: string) =>
    central.waitForFlow((f) => f.type === "flow" && f.kind === kind && String(f.client) === `${client}:0`);

  it("a tunnel: the central policy decides for the branch's client", async () => {
    const ok = await curl(["-sS", "--interface", ALLOWED, "-x", `http://127.0.0.1:${branch.port}`, "--cacert", pki.caFile, `https://origin.test:${tlsOrigin.port}/hello`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "hello from origin");
    const allowed = await centralLine(ALLOWED, "connect");
    assert.equal(allowed.rule, "branch-users");
    assert.match(String(allowed.peer), /^127\.0\.0\.1:\d+$/, "the branch is the peer");

    const denied = await curl(["-sS", "--interface", OTHER, "-x", `http://127.0.0.1:${branch.port}`, "--cacert", pki.caFile, `https://origin.test:${tlsOrigin.port}/hello`]);
    assert.notEqual(denied.code, 0, "the central gateway refused this client's tunnel");
    const refused = await centralLine(OTHER, "connect");
    assert.equal(refused.decision, "deny");
    assert.equal(refused.rule, "default");
  });

  it("plain http:// requests are decided for the client too", async () => {
    const ok = await curl(["-sS", "--interface", ALLOWED, "-x", `http://127.0.0.1:${branch.port}`, `http://origin.test:${plainOrigin.port}/hello`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "hello from origin");
    assert.equal((await centralLine(ALLOWED, "http")).rule, "branch-users");
    const denied = await curl(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--interface", OTHER, "-x", `http://127.0.0.1:${branch.port}`, `http://origin.test:${plainOrigin.port}/hello`]);
    assert.equal(denied.stdout, "403");
    assert.equal((await centralLine(OTHER, "http")).decision, "deny");
  });

  it("through a parent without forwardedFor, a client's own X-Forwarded-For does not reach the central gateway", async () => {
    const r = await curl(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--interface", OTHER, "-x", `http://127.0.0.1:${branch.port}`, "-H", `X-Forwarded-For: ${ALLOWED}`, `http://quiet.test:${plainOrigin.port}/hello`]);
    assert.equal(r.stdout, "403", "decided for the branch, not for the address the client wrote");
    const line = await central.waitForFlow((f) => f.type === "flow" && f.host === "quiet.test");
    assert.match(String(line.client), /^127\.0\.0\.1:\d+$/);
    assert.equal(line.peer, null);
  });

  it("a client talking to the central gateway directly cannot name another client", async () => {
    const r = await curl(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--interface", "127.0.0.2", "-x", `http://127.0.0.1:${central.port}`, "-H", `X-Forwarded-For: ${ALLOWED}`, `http://origin.test:${plainOrigin.port}/hello`]);
    assert.equal(r.stdout, "403");
    const line = await central.waitForFlow((f) => f.type === "flow" && String(f.client).startsWith("127.0.0.2:"));
    assert.equal(line.rule, "default");
    assert.equal(line.peer, null);
  });
});
