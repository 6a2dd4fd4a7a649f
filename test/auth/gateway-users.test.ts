import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashPassword } from "../../src/auth/password-hash.ts";
import { type DirectoryDeps, gatewayUsers } from "../../src/auth/gateway-users.ts";
import { SignInThrottle } from "../../src/auth/sign-in-throttle.ts";
import type { Config } from "../../src/config/config.ts";
import { currentRuntime } from "../helpers/runtime.ts";
import { fakeDirectory, type Seen } from "./ldap/fake-directory.ts";

const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;

async function setup() {
  const deps: DirectoryDeps = {
    runtime: await currentRuntime(),
    resolver: { resolve: () => Promise.reject(new Error("no directory here")) },
    readText: () => "",
  };
  const passwordHash = await hashPassword("s3cret", 100_000);
  const config = (failures = 2): Pick<Config, "proxyAuth"> => ({
    proxyAuth: {
      realm: "t",
      users: [{ name: "alice", passwordHash }],
      signInLimit: { burst: 100, perMinute: 100, perUser: { failures, resetMinutes: 15 } },
    },
  });
  return { deps, config };
}

describe("gatewayUsers across reloads", () => {
  it("a reload that leaves proxyAuth as it was keeps failures counted and sign-ins verified", async () => {
    const { deps, config } = await setup();
    const first = gatewayUsers(config(), deps)!;
    assert.equal((await first.credentials.check(basic("alice", "s3cret"), "Authorization", "192.0.2.1")).ok, true);
    for (const ip of ["203.0.113.1", "203.0.113.2"]) assert.equal((await first.credentials.check(basic("alice", "guess"), "Authorization", ip)).ok, false);
    const spent = await first.credentials.check(basic("alice", "guess"), "Authorization", "203.0.113.3");
    assert.ok(!spent.ok && spent.byUser, JSON.stringify(spent));

    // another part of the config changed (a host list file, say): the same proxyAuth
    const second = gatewayUsers(config(), deps, { config: config(), users: first })!;
    const still = await second.credentials.check(basic("alice", "guess"), "Authorization", "203.0.113.4");
    assert.ok(!still.ok && still.byUser, `the guesser got no fresh allowance: ${JSON.stringify(still)}`);
    assert.equal(second.credentials.memory.verified, first.credentials.memory.verified, "sign-ins are not checked again");
    assert.deepEqual(await second.credentials.check(basic("alice", "s3cret"), "Authorization", "203.0.113.5"), { ok: true, user: "alice", groups: [] });

    // new limits start afresh, and so does what was verified under other users
    const third = gatewayUsers(config(3), deps, { config: config(), users: second })!;
    assert.notEqual(third.credentials.memory.throttle, second.credentials.memory.throttle);
    assert.notEqual(third.credentials.memory.verified, second.credentials.memory.verified);
    const fresh = await third.credentials.check(basic("alice", "guess"), "Authorization", "203.0.113.6");
    assert.deepEqual(fresh, { ok: false, reason: 'bad credentials for user "alice"' });
  });

  it("any reload forgets directory users' sign-ins (the directory is asked again), and keeps local users'", async () => {
    let enabled = true;
    const seen: Seen = { binds: [], unbinds: 0 };
    const directory = fakeDirectory((name, password) => (enabled && name === "uid=bob,ou=people,dc=test" && password === "old-pw" ? 0 : 49), seen);
    const deps: DirectoryDeps = {
      runtime: { dial: () => directory(), tls: undefined as never },
      resolver: { resolve: () => Promise.resolve({ addresses: ["127.0.0.1"] } as never) },
      readText: () => "",
    };
    const passwordHash = await hashPassword("s3cret", 100_000);
    const config = (): Pick<Config, "proxyAuth"> => ({
      proxyAuth: {
        realm: "t",
        users: [{ name: "alice", passwordHash }],
        ldap: { url: "ldap://dc.test", bindName: "uid={user},ou=people,dc=test", timeoutMs: 1000 },
        signInLimit: { burst: 100, perMinute: 100 },
      } as never,
    });
    const first = gatewayUsers(config(), deps)!;
    assert.equal((await first.credentials.check(basic("bob", "old-pw"), "Authorization", "192.0.2.1")).ok, true);
    assert.equal((await first.credentials.check(basic("alice", "s3cret"), "Authorization", "192.0.2.1")).ok, true);
    assert.equal((await first.credentials.check(basic("bob", "old-pw"), "Authorization", "192.0.2.1")).ok, true, "remembered");
    assert.equal(seen.binds.length, 1);
    // bob's account is disabled in the directory, and the operator reloads
    enabled = false;
    const second = gatewayUsers(config(), deps, { config: config(), users: first })!;
    assert.deepEqual([...second.credentials.memory.verified.values()].map((v) => v.user), ["alice"]);
    assert.equal((await second.credentials.check(basic("bob", "old-pw"), "Authorization", "192.0.2.1")).ok, false);
    assert.equal(seen.binds.length, 2, "the directory was asked again");
    assert.equal((await second.credentials.check(basic("alice", "s3cret"), "Authorization", "192.0.2.1")).ok, true);
  });

  it("a changed user list keeps the failures counted but checks passwords again; a changed password forgets where users signed in from", async () => {
    const { deps, config } = await setup();
    const first = gatewayUsers(config(), deps)!;
    assert.equal((await first.credentials.check(basic("alice", "s3cret"), "Authorization", "192.0.2.1")).ok, true);
    const before = config();
    const auth = before.proxyAuth!;
    const withBob: Pick<Config, "proxyAuth"> = { proxyAuth: { ...auth, users: [...auth.users, { name: "bob", passwordHash: auth.users[0]!.passwordHash }] } };
    const second = gatewayUsers(withBob, deps, { config: before, users: first })!;
    assert.equal(second.credentials.memory.throttle, first.credentials.memory.throttle);
    assert.notEqual(second.credentials.memory.verified, first.credentials.memory.verified);
    for (const ip of ["203.0.113.1", "203.0.113.2"]) assert.equal((await second.credentials.check(basic("alice", "guess"), "Authorization", ip)).ok, false);
    assert.deepEqual(await second.credentials.check(basic("alice", "typo"), "Authorization", "192.0.2.1"), { ok: false, reason: 'bad credentials for user "alice"' }, "familiar: checked");

    // alice's password is changed (the old one may be in the wrong hands): 192.0.2.1 is familiar no more
    const newHash = await hashPassword("n3w", 100_000);
    const changed: Pick<Config, "proxyAuth"> = { proxyAuth: { ...withBob.proxyAuth!, users: withBob.proxyAuth!.users.map((u) => (u.name === "alice" ? { ...u, passwordHash: newHash } : u)) } };
    const third = gatewayUsers(changed, deps, { config: withBob, users: second })!;
    const held = await third.credentials.check(basic("alice", "s3cret"), "Authorization", "192.0.2.1");
    assert.ok(!held.ok && held.byUser, JSON.stringify(held));
  });

  it("counts kept elsewhere (a worker's: the primary's) are used whatever the config, and carried by no reload", async () => {
    const { deps, config } = await setup();
    const elsewhere = new SignInThrottle({ burst: 1, perMinute: 1 }, () => 0);
    const first = gatewayUsers(config(), { ...deps, signIns: elsewhere })!;
    assert.equal(first.credentials.memory.throttle, elsewhere);
    assert.equal((await first.credentials.check(basic("alice", "guess"), "Authorization", "203.0.113.1")).ok, false);
    const spent = await first.credentials.check(basic("alice", "guess"), "Authorization", "203.0.113.1");
    assert.ok(!spent.ok && spent.retryAfterMs !== undefined, "the one failure allowed by the counts elsewhere, not the config's 100");
    const second = gatewayUsers(config(3), { ...deps, signIns: elsewhere }, { config: config(), users: first })!;
    assert.equal(second.credentials.memory.throttle, elsewhere);
  });

  it("new address limits keep the names' counts; a password change forgets only that user's familiar addresses", async () => {
    const { deps, config } = await setup();
    const base = config().proxyAuth!;
    const two = (perMinute: number, aliceHash = base.users[0]!.passwordHash): Pick<Config, "proxyAuth"> => ({
      proxyAuth: { ...base, users: [{ name: "alice", passwordHash: aliceHash }, { name: "bob", passwordHash: base.users[0]!.passwordHash }], signInLimit: { ...base.signInLimit, perMinute } },
    });
    const first = gatewayUsers(two(100), deps)!;
    for (const name of ["alice", "bob"]) assert.equal((await first.credentials.check(basic(name, "s3cret"), "Authorization", `192.0.2.${name.length}`)).ok, true);
    for (const name of ["alice", "bob"]) {
      for (const ip of ["203.0.113.1", "203.0.113.2"]) assert.equal((await first.credentials.check(basic(name, "guess"), "Authorization", ip)).ok, false);
    }
    // perMinute changed: the names are still spent
    const second = gatewayUsers(two(50), deps, { config: two(100), users: first })!;
    assert.notEqual(second.credentials.memory.throttle, first.credentials.memory.throttle);
    const spent = await second.credentials.check(basic("alice", "guess"), "Authorization", "203.0.113.3");
    assert.ok(!spent.ok && spent.byUser, JSON.stringify(spent));
    // alice's password changes: her familiar address is forgotten, bob's is not
    const third = gatewayUsers(two(50, await hashPassword("n3w", 100_000)), deps, { config: two(50), users: second })!;
    const alice = await third.credentials.check(basic("alice", "n3w"), "Authorization", "192.0.2.5");
    assert.ok(!alice.ok && alice.byUser, JSON.stringify(alice));
    assert.deepEqual(await third.credentials.check(basic("bob", "typo"), "Authorization", "192.0.2.3"), { ok: false, reason: 'bad credentials for user "bob"' }, "bob's address is still familiar");
  });

  it("a sign-in with the old password under way during the reload that changed it makes nothing familiar", async () => {
    const { deps, config } = await setup();
    const before = config(1);
    const first = gatewayUsers(before, deps)!;
    const changed: Pick<Config, "proxyAuth"> = { proxyAuth: { ...before.proxyAuth!, users: [{ name: "alice", passwordHash: await hashPassword("n3w", 100_000) }] } };
    const checking = first.credentials.check(basic("alice", "s3cret"), "Authorization", "192.0.2.1"); // with the old users
    const second = gatewayUsers(changed, deps, { config: before, users: first })!;
    assert.equal((await checking).ok, true, "the old password, checked against the old list");
    assert.equal((await second.credentials.check(basic("alice", "guess"), "Authorization", "203.0.113.1")).ok, false); // spends alice
    const held = await second.credentials.check(basic("alice", "s3cret"), "Authorization", "192.0.2.1");
    assert.ok(!held.ok && held.byUser, `192.0.2.1 is not familiar: ${JSON.stringify(held)}`);
  });
});

