import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkedInForce } from "../../src/auth/checked-in-force.ts";

type Users = { readonly names: readonly string[] };
const check = (name: string, onCheck?: () => void) => (u: Users) => {
  onCheck?.();
  return Promise.resolve(u.names.includes(name) ? { ok: true as const } : { ok: false as const });
};

describe("checkedInForce", () => {
  it("users unchanged while checking: one check, its answer", async () => {
    const users: Users = { names: ["bob"] };
    let checks = 0;
    assert.deepEqual(await checkedInForce(users, () => users, check("bob", () => checks++)), { ok: true });
    assert.equal(checks, 1);
  });

  it("a reload during the check that removed the user: checked again, refused", async () => {
    const before: Users = { names: ["alice", "bob"] };
    let inForce = before;
    const result = await checkedInForce(before, () => inForce, check("bob", () => {
      inForce = { names: ["alice"] }; // the reload lands while the first check runs
    }));
    assert.deepEqual(result, { ok: false });
  });

  it("reloads in a row: checked against the last", async () => {
    const steps: Users[] = [{ names: ["bob"] }, { names: ["bob"] }, { names: [] }];
    let i = 0;
    const result = await checkedInForce(steps[0]!, () => steps[i]!, check("bob", () => {
      if (i < steps.length - 1) i++;
    }));
    assert.deepEqual(result, { ok: false });
  });

  it("a no stands without another check; sign-in turned off keeps the yes", async () => {
    let checks = 0;
    const users: Users = { names: [] };
    assert.deepEqual(await checkedInForce(users, () => ({ names: ["bob"] }), check("bob", () => checks++)), { ok: false });
    assert.equal(checks, 1);
    assert.deepEqual(await checkedInForce({ names: ["bob"] }, () => undefined, check("bob")), { ok: true });
  });
});
