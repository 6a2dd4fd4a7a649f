/**
 * A password sign-in under way when a reload removes the user (or changes their password)
 * is judged by the users that reload put in force: the reload's `revokeUsers` found nothing
 * signed in yet to close, so a check that ends later against the old users must not let the
 * user through (README: "that user's open connections are closed too: tunnels, decrypted
 * sessions, requests in progress, and reverse-proxy connections they signed in to with
 * `basicAuth`"). Explicit CONNECT and a reverse route with `basicAuth`.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashPassword } from "../../src/auth/password-hash.ts";
import { type BasicCredentials, createBasicCredentials, createProxyAuth, type ProxyAuth } from "../../src/auth/proxy-auth.ts";
import { DerivationGate } from "../../src/auth/derivation-gate.ts";
import { userChanges } from "../../src/auth/user-changes.ts";
import { LiveFlows } from "../../src/flows/live-flows.ts";
import type { Config } from "../../src/config/config.ts";
import { FlowHarness, until, within } from "../helpers/flow-harness.ts";
import { open, route, state } from "../helpers/reverse-harness.ts";
describe("proxy sign-in racing a reload that removes the user", () => {
  it("a CONNECT whose password check was under way when bob was removed does not leave bob a tunnel", async () => {
    const passwordHash = await hashPassword("pw", 100_000);
    const before: NonNullable<Config["proxyAuth"]> = {
      realm: "t",
      users: [{ name: "alice", passwordHash, groups: [] }, { name: "bob", passwordHash, groups: [] }],
      signInLimit: { burst: 10, perMinute: 10 },
    };
    const after: NonNullable<Config["proxyAuth"]> = { ...before, users: [{ name: "alice", passwordHash, groups: [] }] };
    // one password check at a time: another sign-in holds the slot, so bob's check waits (as
    // under load, or for the ~80 ms a 600,000-iteration check takes)
    const gate = new DerivationGate(1, 64);
    let release!: () => void;
    const occupied = gate.run(() => new Promise<void>((r) => (release = r)));
    let current: ProxyAuth = createProxyAuth(before, createBasicCredentials(before.users, before.signInLimit, undefined, gate));
    const liveFlows = new LiveFlows();
    const h = new FlowHarness({ liveFlows });
    // the gateway's ctx.proxyAuth reads the users in force (live.users.proxyAuth)
    (h.ctx as { proxyAuth?: () => ProxyAuth | undefined }).proxyAuth = () => current;
    try {
      h.origin("10.0.0.1", 443, async (o) => {
        await o.readToEndOrReset();
      });
      const bob = h.client();
      await bob.write(`CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\nProxy-Authorization: Basic ${btoa("bob:pw")}\r\n\r\n`);
      await until(() => gate.load.waiting === 1, 1500, "bob's password check to be waiting");
      // the reload (gateway.ts): users swapped, then revokeUsers for what changed
      current = createProxyAuth(after, createBasicCredentials(after.users, after.signInLimit));
      const why = userChanges(before, after);
      assert.ok(why);
      assert.equal(why("bob"), 'user "bob" is no longer a proxy user');
      liveFlows.revokeUsers(why);
      // bob's check with the old credentials now completes
      release();
      await occupied;
      // bob must not be left with an open tunnel: refused (407), or closed at once
      const answer = await within(bob.readToEndOrReset(), 1500, "bob's connection to be refused or closed").catch((e: unknown) => e);
      const tunnels = liveFlows.list().filter((f) => f.user === "bob");
      assert.ok(!(answer instanceof Error), `bob, removed by the reload, still has an open tunnel (${tunnels.length} watched flow(s) of bob, status ${tunnels[0]?.status})`);
    } finally {
      release?.();
      h.abort();
      await h.finish().catch(() => {});
    }
  });
});

describe("basicAuth sign-in racing a reload that removes the user", () => {
  it("a request whose password check was under way when bob was removed is not left running", async () => {
    const passwordHash = await hashPassword("pw", 100_000);
    const before: NonNullable<Config["proxyAuth"]> = {
      realm: "t",
      users: [{ name: "alice", passwordHash, groups: ["staff"] }, { name: "bob", passwordHash, groups: ["staff"] }],
      signInLimit: { burst: 10, perMinute: 10 },
    };
    const after: NonNullable<Config["proxyAuth"]> = { ...before, users: [{ name: "alice", passwordHash, groups: ["staff"] }] };
    const gate = new DerivationGate(1, 64);
    let release!: () => void;
    const occupied = gate.run(() => new Promise<void>((r) => (release = r)));
    const routes = [route("app", ["app.test"], "app", { basicAuth: { users: [], groups: ["staff"], realm: "App" } })];
    const pools = { app: { backends: ["http://10.0.0.1"], timeoutMs: 60_000 } };
    // the gateway's credentials getter reads the users in force (live.users.credentials)
    const inForce: { credentials?: BasicCredentials } = { credentials: createBasicCredentials(before.users, before.signInLimit, undefined, gate) };
    const current = state(routes, pools, [], inForce);
    const liveFlows = new LiveFlows();
    const h = new FlowHarness({ liveFlows, finishTimeoutMs: 500 });
    try {
      // a long download: the head and a little of the body, then the backend holds
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nfirst");
        await o.readToEndOrReset();
      });
      const { c } = open(h, () => current, { liveFlows });
      await c.write(`GET / HTTP/1.1\r\nHost: app.test\r\nAuthorization: Basic ${btoa("bob:pw")}\r\n\r\n`);
      await until(() => gate.load.waiting === 1, 1500, "bob's password check to be waiting");
      // the reload: the listener state (and its credentials) swapped, then revokeUsers
      inForce.credentials = createBasicCredentials(after.users, after.signInLimit);
      const why = userChanges(before, after);
      assert.ok(why);
      liveFlows.revokeUsers(why);
      release();
      await occupied;
      const ended = await within(c.readToEndOrReset(), 1500, "bob's connection to be refused or closed").catch((e: unknown) => e);
      const bobs = liveFlows.list().filter((f) => f.user === "bob");
      assert.ok(!(ended instanceof Error), `bob, removed by the reload, still downloads (${bobs.length} open flow(s) of bob)`);
    } finally {
      release?.();
      h.abort();
      await h.finish().catch(() => {});
    }
  });
});
