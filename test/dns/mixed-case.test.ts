import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { echoesSpelling, mixCase } from "../../src/dns/mixed-case.ts";
import { encodeQuery, TYPE_A } from "../../src/dns/wire.ts";

describe("DNS 0x20", () => {
  it("mixCase changes only the case of ASCII letters, at random", () => {
    const name = "xn--bcher-kva.example-1.test";
    const seen = new Set<string>();
    for (let i = 0; i < 64; i++) {
      const spelled = mixCase(name);
      assert.equal(spelled.toLowerCase(), name);
      assert.equal(spelled.replace(/[a-z]/gi, "."), name.replace(/[a-z]/gi, "."), "digits, hyphens and dots unchanged");
      seen.add(spelled);
    }
    assert.ok(seen.size > 32, `${seen.size} spellings of 64`);
    assert.ok([...seen].some((s) => /[A-Z]/.test(s)) && [...seen].some((s) => /[a-z]/.test(s)));
    assert.equal(mixCase("1.2-3"), "1.2-3");
  });

  it("echoesSpelling: the question's name byte for byte", () => {
    const query = encodeQuery(7, "wWw.ExAmple.TEST", TYPE_A);
    const response = query.slice();
    response[2] = 0x81;
    assert.equal(echoesSpelling(response, query), true);
    response[13] = "W".charCodeAt(0);
    assert.equal(echoesSpelling(response, query), false);
    assert.equal(echoesSpelling(response.subarray(0, 14), query), false, "a message cut short");
  });
});
