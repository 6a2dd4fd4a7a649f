import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashPassword, parsePasswordHash, verifyPassword } from "../../src/auth/password-hash.ts";
import { createProxyAuth } from "../../src/auth/proxy-auth.ts";

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
    assert.deepEqual(await auth.check(basic("alice", "s3cret")), { ok: true, user: "alice" });
    assert.deepEqual(await auth.check(basic("alice", "s3cret")), { ok: true, user: "alice" }, "cached");
    assert.equal((await auth.check(basic("alice", "wrong"))).ok, false);
    assert.equal((await auth.check(basic("mallory", "s3cret"))).ok, false);
    assert.equal((await auth.check(undefined)).ok, false);
    assert.equal((await auth.check("Bearer abc")).ok, false);
    assert.equal((await auth.check("Basic !!!")).ok, false);
    assert.equal((await auth.check(`Basic ${btoa("no-colon")}`)).ok, false);
  });
});
