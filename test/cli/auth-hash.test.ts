import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { authCommand } from "../../src/cli/auth.ts";
import { MAX_ITERATIONS, MIN_ITERATIONS } from "../../src/auth/password-hash.ts";

async function hash(iterations: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await authCommand(["hash", "--iterations", iterations], {
    stdin: () => Promise.resolve("s3cret\n"),
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
  });
  return { code, out: out.join(""), err: err.join("") };
}

describe("tollgate auth hash --iterations", () => {
  it("refuses a count the gateway would refuse to load, on either side", async () => {
    for (const n of [String(MIN_ITERATIONS - 1), String(MAX_ITERATIONS + 1), "1e9", "abc"]) {
      const r = await hash(n);
      assert.equal(r.code, 2, n);
      assert.equal(r.out, "");
      assert.match(r.err, /--iterations must be an integer from 100000 to 10000000/);
    }
  });

  it("takes the lowest count", async () => {
    const r = await hash(String(MIN_ITERATIONS));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^pbkdf2-sha256\$100000\$/);
  });
});
