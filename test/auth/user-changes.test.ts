import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { userChanges } from "../../src/auth/user-changes.ts";

const auth = (users: Record<string, string>) => ({
  realm: "r",
  users: Object.entries(users).map(([name, passwordHash]) => ({ name, passwordHash })),
  signInLimit: { burst: 10, perMinute: 10 },
});

describe("userChanges", () => {
  it("names users removed or whose password changed; others, and users added, go on", () => {
    const why = userChanges(auth({ alice: "h1", bob: "h2", carol: "h3" }), auth({ alice: "h1", carol: "h9", dave: "h4" }));
    assert.ok(why);
    assert.equal(why("alice"), undefined);
    assert.equal(why("bob"), 'user "bob" is no longer a proxy user');
    assert.equal(why("carol"), 'the password of user "carol" changed');
    assert.equal(why("dave"), undefined);
  });

  it("nothing to check: the same users, users only added, authentication turned on or off", () => {
    assert.equal(userChanges(auth({ alice: "h1" }), auth({ alice: "h1" })), undefined);
    assert.equal(userChanges(auth({ alice: "h1" }), auth({ alice: "h1", bob: "h2" })), undefined);
    assert.equal(userChanges(undefined, auth({ alice: "h1" })), undefined);
    assert.equal(userChanges(auth({ alice: "h1" }), undefined), undefined);
  });
});
