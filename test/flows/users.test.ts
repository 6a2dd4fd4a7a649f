/**
 * Policy by authenticated proxy user, through the flows: the CONNECT's user decides the
 * connection rule (tunnel or decrypted session) and the URL rules inside the session; a
 * plain-HTTP request's user decides its rule.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashPassword } from "../../src/auth/password-hash.ts";
import { createBasicCredentials, createProxyAuth, type ProxyAuth } from "../../src/auth/proxy-auth.ts";
import { DerivationGate } from "../../src/auth/derivation-gate.ts";
import type { PolicyDefinition } from "../../src/policy/types.ts";
import { ESTABLISHED, okResponse, readResponse, withHarness, within } from "../helpers/flow-harness.ts";

const creds = (user: string) => `Proxy-Authorization: Basic ${btoa(`${user}:pw`)}\r\n`;

const POLICY: PolicyDefinition = {
  defaultAction: "deny",
  defaultLog: true,
  rules: [
    { id: "alice-secret", hosts: ["secret.test"], users: ["alice"], action: "allow", log: true },
    { id: "app", hosts: ["app.test"], action: "allow", log: true, decryption: "decrypt" },
    { id: "web", hosts: ["origin.test"], action: "allow", log: true },
  ],
};

describe("policy by proxy user, through the flows", () => {
  let auth: ProxyAuth;
  before(async () => {
    const passwordHash = await hashPassword("pw", 100_000);
    auth = createProxyAuth({ realm: "t", users: [{ name: "alice", passwordHash }, { name: "bob", passwordHash }] });
  });

  it("CONNECT: alice's tunnel is allowed by her rule, bob's denied by the default", async () => {
    await withHarness({ policy: POLICY, proxyAuth: auth, hosts: { "secret.test": ["10.0.0.9"] } }, async (h) => {
      h.origin("10.0.0.9", 443, async (o) => {
        assert.equal(await o.readText(2), "hi");
        await o.end();
        await o.readToEnd();
      });
      const alice = h.client();
      await alice.write(`CONNECT secret.test:443 HTTP/1.1\r\nHost: secret.test:443\r\n${creds("alice")}\r\n`);
      assert.equal(await within(alice.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
      await alice.write("hi");
      await alice.end();
      await alice.readToEnd();
      const bob = h.client();
      await bob.write(`CONNECT secret.test:443 HTTP/1.1\r\nHost: secret.test:443\r\n${creds("bob")}\r\n`);
      assert.equal((await within(bob.readHead(), 1500, "403")).status, 403);
      await bob.end();
      await bob.readToEndOrReset();
      await h.finish();
      const byUser = new Map(h.records.map((r) => [r.user, r]));
      assert.equal(byUser.get("alice")?.rule, "alice-secret");
      assert.match(byUser.get("alice")?.reason ?? "", /for user "alice"/);
      assert.equal(byUser.get("bob")?.rule, "default");
      assert.equal(byUser.get("bob")?.status, 403);
      assert.equal(h.dials.length, 1, "bob's CONNECT dialed nothing");
    });
  });

  it("plain HTTP: the request's user decides", async () => {
    await withHarness({ policy: POLICY, proxyAuth: auth, hosts: { "secret.test": ["10.0.0.9"] } }, async (h) => {
      h.origin("10.0.0.9", 80, async (o) => {
        await o.readHead();
        await o.write(okResponse("for alice"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write(`GET http://secret.test/ HTTP/1.1\r\nHost: secret.test\r\n${creds("bob")}\r\n`);
      assert.equal((await readResponse(c)).head.status, 403);
      await c.end();
      await c.readToEndOrReset();
      const a = h.client();
      await a.write(`GET http://secret.test/ HTTP/1.1\r\nHost: secret.test\r\n${creds("alice")}\r\n`);
      assert.equal((await readResponse(a)).body, "for alice");
      await a.end();
      await a.readToEndOrReset();
      await h.finish();
      assert.deepEqual(h.records.map((r) => [r.user, r.rule, r.status]), [["bob", "default", 403], ["alice", "alice-secret", 200]]);
    });
  });

  it("decrypted session: URL rules see the CONNECT's user", async () => {
    const urlRules = [
      { id: "admins", paths: ["/admin"], users: ["alice"], action: "allow" as const, log: true },
      { id: "no-admin", paths: ["/admin"], action: "deny" as const, log: true },
    ];
    await withHarness({ policy: POLICY, proxyAuth: auth, interception: { urlRules }, hosts: { "app.test": ["10.0.0.1"] } }, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        // bob's session connects upstream too (before its handshake), but sends nothing
        const head = await o.readHead().catch(() => undefined);
        if (!head) return;
        await o.write(okResponse("admin page"));
        await o.readToEndOrReset();
      });
      for (const user of ["alice", "bob"]) {
        const c = h.client();
        await c.write(`CONNECT app.test:443 HTTP/1.1\r\nHost: app.test:443\r\n${creds(user)}\r\n`);
        assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
        await c.write("GET /admin/x HTTP/1.1\r\nHost: app.test\r\n\r\n");
        const res = await readResponse(c);
        assert.equal(res.head.status, user === "alice" ? 200 : 403, user);
        await c.end();
        await c.readToEndOrReset();
      }
      await h.finish();
      assert.deepEqual(h.requestRecords.map((q) => [q.user, q.rule, q.status]), [["alice", "admins", 200], ["bob", "no-admin", 403]]);
      assert.match(h.requestRecords[0]?.reason ?? "", /user "alice"/);
    });
  });

  it("failed sign-ins past the limit get 429 with Retry-After, unchecked; the client's next wait is told", async () => {
    const passwordHash = await hashPassword("pw", 100_000);
    const users = [{ name: "alice", passwordHash }];
    const limited = createProxyAuth({ realm: "t", users }, createBasicCredentials(users, { burst: 2, perMinute: 1 }));
    await withHarness({ policy: POLICY, proxyAuth: limited }, async (h) => {
      const statuses: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < 3; i++) {
        const c = h.client();
        await c.write(`CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\nProxy-Authorization: Basic ${btoa(`alice:guess${i}`)}\r\n\r\n`);
        const head = await within(c.readHead(), 1500, "answer");
        statuses.push(head.status);
        retryAfter = head.get("retry-after");
        await c.end();
        await c.readToEndOrReset();
      }
      assert.deepEqual(statuses, [407, 407, 429]);
      assert.equal(retryAfter, "60");
      await h.finish();
      const last = h.records.at(-1);
      assert.equal(last?.rule, "proxy-auth");
      assert.equal(last?.decision, "deny");
      assert.equal(last?.status, 429);
      assert.match(last?.reason ?? "", /too many failed sign-ins from 127\.0\.0\.1/);
      assert.equal(h.dials.length, 0);
    });
  });

  it("a sign-in that finds every password check slot taken gets 503 with Retry-After, unchecked", async () => {
    const passwordHash = await hashPassword("pw", 100_000);
    const users = [{ name: "alice", passwordHash }];
    const gate = new DerivationGate(1, 0);
    const busy = createProxyAuth({ realm: "t", users }, createBasicCredentials(users, undefined, undefined, gate));
    let release!: () => void;
    const occupied = gate.run(() => new Promise<void>((r) => (release = r))); // another sign-in's check
    await withHarness({ policy: POLICY, proxyAuth: busy }, async (h) => {
      const attempt = async () => {
        const c = h.client();
        await c.write(`CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\nProxy-Authorization: Basic ${btoa("alice:guess")}\r\n\r\n`);
        const head = await within(c.readHead(), 1500, "answer");
        await c.end();
        await c.readToEndOrReset();
        return head;
      };
      const refused = await attempt();
      assert.equal(refused.status, 503);
      assert.equal(refused.get("retry-after"), "1");
      release();
      await occupied;
      assert.equal((await attempt()).status, 407, "checked once a slot is free");
      await h.finish();
      assert.match(h.records.find((r) => r.status === 503)?.reason ?? "", /not checked: the gateway is busy checking other sign-ins/);
    });
  });
});
