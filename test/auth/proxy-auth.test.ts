import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashPassword, parsePasswordHash, verifyPassword } from "../../src/auth/password-hash.ts";
import { createBasicCredentials, createProxyAuth } from "../../src/auth/proxy-auth.ts";

const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;

describe("password hashes", () => {
  it("round-trips, verifies the right password only, and never stores it", async () => {
    const h = await hashPassword("correct horse", 100_000);
    assert.match(h, /^pbkdf2-sha256\$100000\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.doesNotMatch(h, /correct horse/);
    const parsed = parsePasswordHash(h);
    assert.equal(await verifyPassword("correct horse", parsed), true);
    assert.equal(await verifyPassword("correct horsE", parsed), false);
    assert.notEqual(await hashPassword("correct horse", 100_000), h, "a fresh salt each time");
  });
  it("refuses malformed or weak hashes with a clear error", () => {
    assert.throws(() => parsePasswordHash("plaintext"), SyntaxError);
    assert.throws(() => parsePasswordHash("pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA==$" + "A".repeat(44)), /Iterations/);
    assert.throws(() => parsePasswordHash("pbkdf2-sha256$100000$AAAA$" + "A".repeat(44)), /Salt/);
  });
});

describe("createProxyAuth", () => {
  it("accepts a known user, refuses others, and challenges with Basic", async () => {
    const auth = createProxyAuth({ realm: "corp", users: [{ name: "alice", passwordHash: await hashPassword("s3cret", 100_000) }] });
    assert.equal(auth.challenge, 'Basic realm="corp", charset="UTF-8"');
    assert.deepEqual(await auth.check(basic("alice", "s3cret"), "192.0.2.7"), { ok: true, user: "alice", groups: [] });
    assert.deepEqual(await auth.check(basic("alice", "s3cret"), "192.0.2.7"), { ok: true, user: "alice", groups: [] }, "cached");
    assert.equal((await auth.check(basic("alice", "wrong"), "192.0.2.7")).ok, false);
    assert.equal((await auth.check(basic("mallory", "s3cret"), "192.0.2.7")).ok, false);
    assert.equal((await auth.check(undefined, "192.0.2.7")).ok, false);
    assert.equal((await auth.check("Bearer abc", "192.0.2.7")).ok, false);
    assert.equal((await auth.check("Basic !!!", "192.0.2.7")).ok, false);
    assert.equal((await auth.check(`Basic ${btoa("no-colon")}`, "192.0.2.7")).ok, false);
  });

  it("limits failed sign-ins per client address: no derivation past the limit, a success does not count, IPv6 by /64", async () => {
    let t = 0;
    const credentials = createBasicCredentials([{ name: "alice", passwordHash: await hashPassword("s3cret", 100_000) }], { burst: 2, perMinute: 6 }, () => t);
    const check = (user: string, pass: string, client: string) => credentials.check(basic(user, pass), "Authorization", client);
    assert.deepEqual(await check("alice", "guess1", "192.0.2.7"), { ok: false, reason: 'bad credentials for user "alice"' });
    assert.deepEqual(await check("alice", "s3cret", "192.0.2.7"), { ok: true, user: "alice", groups: [] }, "a success is free");
    assert.equal((await check("mallory", "x", "192.0.2.7")).ok, false);
    const throttled = await check("alice", "guess2", "192.0.2.7");
    assert.equal(throttled.ok, false);
    assert.ok(!throttled.ok && throttled.retryAfterMs === 10_000, JSON.stringify(throttled));
    assert.match(!throttled.ok ? throttled.reason : "", /too many failed sign-ins from 192\.0\.2\.7 \(limit 2, then 6 a minute\); not checked, retry after 10 s/);
    // even the right password is not checked now (it cannot be told from a guess without checking)
    assert.equal((await check("alice", "s3cret-other-header", "192.0.2.7")).ok, false);
    // but a credential verified before is still served from the cache
    assert.deepEqual(await check("alice", "s3cret", "192.0.2.7"), { ok: true, user: "alice", groups: [] });
    assert.equal((await check("alice", "guess", "198.51.100.1")).ok, false, "another address has its own allowance");
    assert.equal("retryAfterMs" in (await check("alice", "guess", "198.51.100.1")), false);
    // one /64 is one allowance
    await check("alice", "g", "2001:db8:1:2::1");
    await check("alice", "g", "2001:db8:1:2::ffff");
    const v6 = await check("alice", "g", "2001:db8:1:2:3:4:5:6");
    assert.ok(!v6.ok && v6.retryAfterMs !== undefined && /from 2001:db8:1:2::\/64/.test(v6.reason), JSON.stringify(v6));
    t += 10_000; // one failure's worth back
    assert.deepEqual(await check("alice", "guess3", "192.0.2.7"), { ok: false, reason: 'bad credentials for user "alice"' });
  });
});
