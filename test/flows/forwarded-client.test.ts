/**
 * An explicit listener's `trustForwardedFrom`: a child proxy it trusts names the client in
 * `X-Forwarded-For`, and the CONNECT or `http://` request is decided, authenticated and
 * logged for that client; from anyone else the field changes nothing.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashPassword } from "../../src/auth/password-hash.ts";
import { createBasicCredentials, createProxyAuth, type ProxyAuth } from "../../src/auth/proxy-auth.ts";
import type { PolicyDefinition } from "../../src/policy/types.ts";
import { TrustList } from "../../src/reverse/forwarded.ts";
import { createAddressGuard } from "../../src/policy/address-guard.ts";
import { type FlowHarness, type Peer, readResponse, serveRequests, withHarness, within } from "../helpers/flow-harness.ts";

const CHILD = "10.1.0.5";
const TRUST = ["10.1.0.0/24"];

/** Only clients in 10.9.0.0/16 may reach secret.test; the child proxy itself may not. */
const POLICY: PolicyDefinition = {
  defaultAction: "deny",
  defaultLog: true,
  rules: [{ id: "branch", hosts: ["secret.test"], clients: ["10.9.0.0/16"], action: "allow", log: true }],
};
const HOSTS = { "secret.test": ["10.0.0.9"] };

async function connect(c: Peer, xff: string | undefined): Promise<number> {
  await c.write(`CONNECT secret.test:443 HTTP/1.1\r\nHost: secret.test:443\r\n${xff === undefined ? "" : `X-Forwarded-For: ${xff}\r\n`}\r\n`);
  const head = await within(c.readHead(), 1500, "CONNECT answer");
  if (head.status === 200) {
    await c.write("hi");
  }
  await c.end();
  await c.readToEndOrReset();
  return head.status;
}

function echoOrigin(h: FlowHarness): void {
  h.origin("10.0.0.9", 443, async (o) => {
    await o.readText(2);
    await o.end();
    await o.readToEndOrReset();
  });
}

describe("trustForwardedFrom on an explicit listener", () => {
  it("a trusted child's X-Forwarded-For decides a CONNECT, and the line names both", async () => {
    await withHarness({ policy: POLICY, hosts: HOSTS }, async (h) => {
      echoOrigin(h);
      assert.equal(await connect(h.childProxyClient(CHILD, TRUST), "10.9.0.7"), 200);
      assert.equal(await connect(h.childProxyClient(CHILD, TRUST), undefined), 403, "no field: the child is the client");
      assert.equal(await connect(h.childProxyClient(CHILD, TRUST), "198.51.100.4"), 403, "a client the rule does not take");
      await h.finish();
      const [allowed, bare, other] = h.records;
      assert.equal(allowed?.client, "10.9.0.7:0");
      assert.match(allowed?.peer ?? "", /^10\.1\.0\.5:\d+$/);
      assert.equal(allowed?.rule, "branch");
      assert.match(bare?.client ?? "", /^10\.1\.0\.5:\d+$/);
      assert.equal(bare?.peer, null);
      assert.equal(bare?.rule, "default");
      assert.equal(other?.client, "198.51.100.4:0");
      assert.equal(h.dials.length, 1);
    });
  });

  it("an untrusted peer's X-Forwarded-For is its own claim: decided for the peer", async () => {
    await withHarness({ policy: POLICY, hosts: HOSTS }, async (h) => {
      echoOrigin(h);
      assert.equal(await connect(h.childProxyClient("10.2.0.5", TRUST), "10.9.0.7"), 403);
      assert.equal(await connect(h.client(), "10.9.0.7"), 403, "a listener trusting nobody");
      await h.finish();
      assert.deepEqual(h.records.map((r) => [r.client.replace(/:\d+$/, ""), r.peer, r.rule]), [["10.2.0.5", null, "default"], ["127.0.0.1", null, "default"]]);
      assert.equal(h.dials.length, 0);
    });
  });

  it("the nearest untrusted address counts: a client cannot name itself past the child", async () => {
    await withHarness({ policy: POLICY, hosts: HOSTS }, async (h) => {
      echoOrigin(h);
      // the client wrote "10.9.0.7" itself; the child appended the address it saw
      assert.equal(await connect(h.childProxyClient(CHILD, TRUST), "10.9.0.7, 198.51.100.4"), 403);
      // two trusted hops: the first untrusted one from the right is the client
      assert.equal(await connect(h.childProxyClient(CHILD, TRUST), "198.51.100.4, 10.9.0.8, 10.1.0.6"), 200);
      // what is not an address ends the walk: the child named nobody it could vouch for
      assert.equal(await connect(h.childProxyClient(CHILD, TRUST), "10.9.0.9, unknown"), 403);
      await h.finish();
      assert.deepEqual(h.records.map((r) => r.client.replace(/^10\.1\.0\.5:\d+$/, "child")), ["198.51.100.4:0", "10.9.0.8:0", "unknown:0"], "nor the child itself");
    });
  });

  it("plain http:// requests: each request of a kept connection is decided for the client it names", async () => {
    await withHarness({ policy: POLICY, hosts: HOSTS }, async (h) => {
      serveRequests(h, "10.0.0.9", 80, ["secret"]);
      const c = h.childProxyClient(CHILD, TRUST);
      await c.write("GET http://secret.test/ HTTP/1.1\r\nHost: secret.test\r\nX-Forwarded-For: 10.9.1.1\r\n\r\n");
      assert.equal((await readResponse(c)).body, "secret");
      await c.write("GET http://secret.test/ HTTP/1.1\r\nHost: secret.test\r\nX-Forwarded-For: 203.0.113.1\r\n\r\n");
      assert.equal((await readResponse(c)).head.status, 403);
      await c.end();
      await c.readToEndOrReset();
      // (a denied request ends its connection) a kept one: the first request names a client, the next none
      const k = h.childProxyClient(CHILD, TRUST);
      await k.write("GET http://secret.test/ HTTP/1.1\r\nHost: secret.test\r\nX-Forwarded-For: 10.9.1.2\r\n\r\n");
      assert.equal((await readResponse(k)).body, "secret");
      await k.write("GET http://secret.test/ HTTP/1.1\r\nHost: secret.test\r\n\r\n");
      assert.equal((await readResponse(k)).head.status, 403, "no field: the child itself, not the client before");
      await k.end();
      await k.readToEndOrReset();
      await h.finish();
      assert.deepEqual(h.records.map((r) => [r.client.replace(/^10\.1\.0\.5:\d+$/, "child"), r.rule, r.status]), [
        ["10.9.1.1:0", "branch", 200],
        ["203.0.113.1:0", "default", 403],
        ["10.9.1.2:0", "branch", 200],
        ["child", "default", 403],
      ]);
    });
  });

  it("plain http:// through a kept connection: the next client's request is held to the address guard its own rule gets", async () => {
    const policy: PolicyDefinition = {
      defaultAction: "deny",
      defaultLog: true,
      rules: [
        // admins may reach secret.test's internal address, which the guard refuses to others
        { id: "admins", hosts: ["secret.test"], clients: ["10.9.0.0/16"], action: "allow", allowAddresses: ["10.0.0.0/8"], log: true },
        { id: "everyone", hosts: ["secret.test"], action: "allow", log: true },
      ],
    };
    await withHarness({ policy, hosts: HOSTS, addressGuard: createAddressGuard() }, async (h) => {
      serveRequests(h, "10.0.0.9", 80, ["internal secret"]);
      const c = h.childProxyClient(CHILD, TRUST);
      await c.write("GET http://secret.test/ HTTP/1.1\r\nHost: secret.test\r\nX-Forwarded-For: 10.9.1.1\r\n\r\n");
      assert.equal((await readResponse(c)).body, "internal secret");
      await c.write("GET http://secret.test/ HTTP/1.1\r\nHost: secret.test\r\nX-Forwarded-For: 192.0.2.7\r\n\r\n");
      const res = await readResponse(c);
      assert.equal(res.head.status, 403);
      assert.match(res.body, /refused by the address guard/);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(h.records.map((r) => [r.client, r.rule, r.status]), [["10.9.1.1:0", "admins", 200], ["192.0.2.7:0", "address-guard", 403]]);
    });
  });

  describe("with proxy authentication", () => {
    let auth: ProxyAuth;
    before(async () => {
      const users = [{ name: "alice", passwordHash: await hashPassword("pw", 100_000) }];
      auth = createProxyAuth({ realm: "t", users }, createBasicCredentials(users, { burst: 3, perMinute: 1 }));
    });

    it("a failed sign-in counts against the named client, not the whole branch", async () => {
      await withHarness({ policy: POLICY, hosts: HOSTS, proxyAuth: auth }, async (h) => {
        echoOrigin(h);
        const bad = `Proxy-Authorization: Basic ${btoa("alice:wrong")}\r\n`;
        const good = `Proxy-Authorization: Basic ${btoa("alice:pw")}\r\n`;
        const attempt = async (xff: string, creds: string) => {
          const c = h.childProxyClient(CHILD, TRUST);
          await c.write(`CONNECT secret.test:443 HTTP/1.1\r\nHost: secret.test:443\r\nX-Forwarded-For: ${xff}\r\n${creds}\r\n`);
          const status = (await within(c.readHead(), 3000, "answer")).status;
          if (status === 200) await c.write("hi");
          await c.end();
          await c.readToEndOrReset();
          return status;
        };
        // three failures from one client, then it is throttled
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) statuses.push(await attempt("10.9.0.66", bad));
        assert.deepEqual(statuses, [407, 407, 407, 429]);
        assert.equal(await attempt("10.9.0.7", good), 200, "another client behind the same child still signs in");
        await h.finish();
      });
    });
  });

  it("the list in force decides each request: a reload that drops the child holds for its open connection", async () => {
    await withHarness({ policy: POLICY, hosts: HOSTS }, async (h) => {
      serveRequests(h, "10.0.0.9", 80, ["secret"]);
      let trust: TrustList | undefined = new TrustList(TRUST);
      const c = h.childProxyClient(CHILD, () => trust);
      const ask = async () => {
        await c.write("GET http://secret.test/ HTTP/1.1\r\nHost: secret.test\r\nX-Forwarded-For: 10.9.1.1\r\n\r\n");
        return (await readResponse(c)).head.status;
      };
      assert.equal(await ask(), 200);
      trust = undefined;
      assert.equal(await ask(), 403, "no longer believed");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
    });
  });
});
