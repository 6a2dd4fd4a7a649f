import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";

const root = new URL("../../", import.meta.url).pathname;
const binary = `${root}dist/tollgate`;

describe("single compiled binary (dist/tollgate)", { timeout: 120_000 }, () => {
  let pki: TestPki;
  let origin: Origin;
  before(async () => {
    // always rebuild: a stale binary would test yesterday's code (the build takes well under a second)
    execFileSync("bash", [`${root}scripts/build-binary.sh`], { stdio: "ignore" });
    pki = makeTestPki();
    origin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
  });
  after(async () => {
    await origin?.close();
  });

  it("prints its version", () => {
    assert.match(execFileSync(binary, ["--version"], { encoding: "utf8" }), /^tollgate \d+\.\d+\.\d+ \(bun /);
  });

  it("starts on the embedded default (127.0.0.1:3128) and applies its policy", async () => {
    const gw = await startGateway(undefined, { binary });
    try {
      assert.equal(gw.port, 3128);
      // the default allows only ports 80 and 443: a CONNECT elsewhere is denied by the default
      const r = await curl(["-x", "http://127.0.0.1:3128", "--cacert", pki.caFile, `https://127.0.0.1:${origin.port}/hello`]);
      assert.equal(r.code, 56, r.stderr);
      const f = await gw.waitForFlow((f) => f.kind === "connect");
      assert.equal(f.decision, "deny");
      assert.equal(f.rule, "default");
    } finally {
      assert.equal(await gw.stop(), true);
    }
  });

  it("with a config: tunnels to an allowed origin (curl verifies it) and denies with 403", async () => {
    const gw = await startGateway(
      {
        listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
        policy: {
          defaultAction: "deny",
          rules: [
            { id: "deny-blocked", hosts: ["blocked.test"], action: "deny" },
            { id: "origin", hosts: ["origin.test"], ports: [origin.port], action: "allow" },
          ],
        },
        addressGuard: { allow: ["127.0.0.0/8"] }, // the test origins are on loopback
        dns: { hosts: { "origin.test": ["127.0.0.1"], "blocked.test": ["127.0.0.1"] } },
      },
      { binary },
    );
    try {
      const ok = await curl(["-x", `http://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, `https://origin.test:${origin.port}/hello`]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, "hello from origin");
      const denied = await curl(["-i", "-x", `http://127.0.0.1:${gw.port}`, `http://blocked.test:${origin.port}/`]);
      assert.match(denied.stdout, /^HTTP\/1\.1 403 /);
      assert.match(denied.stdout, /rule "deny-blocked"/);
      const f = await gw.waitForFlow((f) => f.kind === "connect" && f.host === "origin.test");
      assert.equal(f.rule, "origin");
    } finally {
      assert.equal(await gw.stop(), true);
    }
  });

  it("starts its worker processes as itself (workers: 2)", async () => {
    const gw = await startGateway(
      {
        workers: 2,
        listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
        policy: { defaultAction: "deny", rules: [{ id: "origin", hosts: ["origin.test"], action: "allow" }] },
        addressGuard: { allow: ["127.0.0.0/8"] },
        dns: { hosts: { "origin.test": ["127.0.0.1"] } },
      },
      { binary },
    );
    try {
      assert.match(gw.stderr.join(""), /workers=2/);
      const children = readFileSync(`/proc/${gw.pid}/task/${gw.pid}/children`, "utf8").trim().split(/\s+/);
      assert.equal(children.length, 1);
      assert.deepEqual(readFileSync(`/proc/${children[0]}/cmdline`, "utf8").split("\0").filter(Boolean), [binary, "__worker"]);
      // enough connections that both processes take some (the kernel hashes each one)
      const results = await Promise.all(Array.from({ length: 8 }, () =>
        curl(["-x", `http://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, `https://origin.test:${origin.port}/hello`])));
      for (const r of results) assert.equal(r.stdout, "hello from origin", r.stderr);
    } finally {
      assert.equal(await gw.stop(), true);
    }
  });
});
