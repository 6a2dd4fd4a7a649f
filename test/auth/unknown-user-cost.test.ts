/**
 * An unknown user name costs the derivation a known one costs, so timing does not tell
 * names apart (README), also when the users' hashes are not at the default 600,000
 * iterations. Counted by the iterations each check derives with, not by timing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashPassword } from "../../src/auth/password-hash.ts";
import { createBasicCredentials } from "../../src/auth/proxy-auth.ts";
import { DerivationGate } from "../../src/auth/derivation-gate.ts";

describe("the cost of checking an unknown name", () => {
  const subtle = crypto.subtle as { deriveBits: SubtleCrypto["deriveBits"] };
  const original = subtle.deriveBits;
  let iterations: number[] = [];
  before(() => {
    subtle.deriveBits = function (this: SubtleCrypto, algorithm, key, length) {
      iterations.push((algorithm as Pbkdf2Params).iterations);
      return original.call(crypto.subtle, algorithm, key, length);
    } as SubtleCrypto["deriveBits"];
  });
  after(() => {
    subtle.deriveBits = original;
  });

  const derived = async (credentials: ReturnType<typeof createBasicCredentials>, user: string) => {
    iterations = [];
    const result = await credentials.check(`Basic ${btoa(`${user}:wrong`)}`, "Proxy-Authorization", "192.0.2.1");
    assert.equal(result.ok, false);
    assert.equal(iterations.length, 1);
    return iterations[0];
  };

  it("users hashed at 100,000 iterations: an unknown name is derived at 100,000 too", async () => {
    const users = [{ name: "alice", passwordHash: await hashPassword("right", 100_000) }];
    const credentials = createBasicCredentials(users, { burst: 100, perMinute: 100 }, undefined, new DerivationGate(1, 10));
    assert.equal(await derived(credentials, "alice"), 100_000);
    assert.equal(await derived(credentials, "mallory"), 100_000);
  });

  it("users at different costs: each unknown name always costs one of them, the same each time", async () => {
    const users = [
      { name: "alice", passwordHash: await hashPassword("right", 100_000) },
      { name: "bob", passwordHash: await hashPassword("right", 200_000) },
    ];
    const credentials = createBasicCredentials(users, { burst: 100, perMinute: 100 }, undefined, new DerivationGate(1, 10));
    const seen = new Set<number | undefined>();
    for (const name of ["mallory", "eve", "trent", "oscar", "peggy", "victor"]) {
      const cost = await derived(credentials, name);
      assert.ok(cost === 100_000 || cost === 200_000, `${name}: ${cost}`);
      assert.equal(await derived(credentials, name), cost, name);
      seen.add(cost);
    }
    assert.equal(seen.size, 2, "both costs are used");
  });
});
