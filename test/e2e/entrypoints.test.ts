import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";

const root = new URL("../../", import.meta.url).pathname;
const bin = join(root, "node_modules/.bin");

/**
 * The README's own commands start the gateway, with a config that allows a local origin,
 * and curl reaches the origin through it (curl verifies the origin's certificate).
 */
describe("README entry points: deno task serve, bun run start, npm start", { timeout: 120_000 }, () => {
  let pki: TestPki;
  let origin: Origin;
  before(async () => {
    pki = makeTestPki();
    origin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
  });
  after(async () => {
    await origin?.close();
  });

  const config = () => ({
    listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
    addressGuard: { allow: ["127.0.0.0/8"] }, // the test origin is on loopback
    policy: { defaultAction: "deny", rules: [{ id: "origin", hosts: ["origin.test"], action: "allow" }] },
    dns: { hosts: { "origin.test": ["127.0.0.1"] } },
  });

  for (const [name, command] of [
    ["deno task serve", [join(bin, "deno"), "task", "serve"]],
    ["bun run start", [join(bin, "bun"), "run", "start"]],
    ["npm start", ["npm", "start", "--silent", "--"]],
  ] as const) {
    it(`${name} serves a CONNECT to an allowed origin`, async () => {
      const gw = await startGateway(config(), { command });
      try {
        const r = await curl(["-x", `http://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, `https://origin.test:${origin.port}/hello`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "hello from origin");
        const f = await gw.waitForFlow((f) => f.kind === "connect");
        assert.equal(f.rule, "origin");
      } finally {
        await gw.stop();
      }
    });
  }
});
