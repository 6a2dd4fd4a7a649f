/**
 * Policy by group, through the flows: the signed-in user's groups (a local user's from the
 * config) decide the connection rule of a CONNECT, of a plain-HTTP request, of a SOCKS5
 * request, and the URL rules inside a decrypted session.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashPassword } from "../../src/auth/password-hash.ts";
import { createProxyAuth, type ProxyAuth } from "../../src/auth/proxy-auth.ts";
import type { PolicyDefinition } from "../../src/policy/types.ts";
import { ESTABLISHED, okResponse, readResponse, withHarness, within } from "../helpers/flow-harness.ts";

const creds = (user: string) => `Proxy-Authorization: Basic ${btoa(`${user}:pw`)}\r\n`;

const POLICY: PolicyDefinition = {
  defaultAction: "deny",
  defaultLog: true,
  rules: [
    { id: "contractors-out", hosts: ["secret.test"], groups: ["contractors"], action: "deny", log: true },
    { id: "staff-secret", hosts: ["secret.test"], groups: ["Staff"], action: "allow", log: true },
    { id: "app", hosts: ["app.test"], action: "allow", log: true, decryption: "decrypt" },
  ],
};

describe("policy by group, through the flows", () => {
  let auth: ProxyAuth;
  before(async () => {
    const passwordHash = await hashPassword("pw", 100_000);
    auth = createProxyAuth({
      realm: "t",
      users: [
        { name: "alice", passwordHash, groups: ["staff"] },
        { name: "erin", passwordHash, groups: ["STAFF", "Contractors"] },
        { name: "bob", passwordHash },
      ],
    });
  });

  it("CONNECT and plain HTTP: a member's rule decides; the first rule a group matches wins; no group, no match", async () => {
    await withHarness({ policy: POLICY, proxyAuth: auth, hosts: { "secret.test": ["10.0.0.9"] } }, async (h) => {
      h.origin("10.0.0.9", 443, async (o) => {
        await o.end();
        await o.readToEnd();
      });
      h.origin("10.0.0.9", 80, async (o) => {
        await o.readHead();
        await o.write(okResponse("staff only"));
        await o.readToEndOrReset();
      });
      const statuses: [string, number][] = [];
      for (const user of ["alice", "erin", "bob"]) {
        const c = h.client();
        await c.write(`CONNECT secret.test:443 HTTP/1.1\r\nHost: secret.test:443\r\n${creds(user)}\r\n`);
        const head = await within(c.readHead(), 1500, `${user} CONNECT`);
        statuses.push([user, head.status]);
        await c.end();
        await c.readToEndOrReset();
      }
      const plain = h.client();
      await plain.write(`GET http://secret.test/ HTTP/1.1\r\nHost: secret.test\r\n${creds("alice")}\r\n`);
      assert.equal((await readResponse(plain)).body, "staff only");
      await plain.end();
      await plain.readToEndOrReset();
      await h.finish();
      assert.deepEqual(statuses, [["alice", 200], ["erin", 403], ["bob", 403]]);
      assert.deepEqual(h.records.map((r) => [r.user, r.rule]), [["alice", "staff-secret"], ["erin", "contractors-out"], ["bob", "default"], ["alice", "staff-secret"]]);
      assert.match(h.records[0]?.reason ?? "", /for user "alice" in group "staff"$/);
      assert.match(h.records[1]?.reason ?? "", /for user "erin" in group "contractors"$/);
    });
  });

  it("decrypted session: URL rules see the groups of the CONNECT's user", async () => {
    const urlRules = [
      { id: "staff-admin", paths: ["/admin"], groups: ["staff"], action: "allow" as const, log: true },
      { id: "no-admin", paths: ["/admin"], action: "deny" as const, log: true },
    ];
    await withHarness({ policy: POLICY, proxyAuth: auth, interception: { urlRules }, hosts: { "app.test": ["10.0.0.1"] } }, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
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
        assert.equal((await readResponse(c)).head.status, user === "alice" ? 200 : 403, user);
        await c.end();
        await c.readToEndOrReset();
      }
      await h.finish();
      assert.deepEqual(h.requestRecords.map((q) => [q.user, q.rule, q.status]), [["alice", "staff-admin", 200], ["bob", "no-admin", 403]]);
      assert.match(h.requestRecords[0]?.reason ?? "", /user "alice" in group "staff"/);
    });
  });

  it("SOCKS5: the signed-in user's groups decide", async () => {
    await withHarness({ policy: POLICY, proxyAuth: auth, hosts: { "secret.test": ["10.0.0.9"] } }, async (h) => {
      h.origin("10.0.0.9", 443, async (o) => {
        await o.end();
        await o.readToEnd();
      });
      const replies: number[] = [];
      for (const user of ["alice", "erin"]) {
        const c = h.socksClient();
        const name = new TextEncoder().encode(user);
        await c.write(Uint8Array.of(5, 1, 2, 1, name.length, ...name, 2, 0x70, 0x77));
        await within(c.readBytes(4), 3000, "choice and sign-in");
        const host = new TextEncoder().encode("secret.test");
        await c.write(Uint8Array.of(5, 1, 0, 3, host.length, ...host, 1, 187));
        replies.push((await within(c.readBytes(2), 1500, "reply"))[1]!);
        await c.end();
        await c.readToEndOrReset();
      }
      await h.finish();
      assert.deepEqual(replies, [0, 2], "erin's request is not allowed by the ruleset (reply 2)");
      assert.deepEqual(h.records.map((r) => [r.user, r.rule]), [["alice", "staff-secret"], ["erin", "contractors-out"]]);
    });
  });
});
