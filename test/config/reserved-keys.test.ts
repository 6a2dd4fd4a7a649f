/**
 * valibot's `record` skips the keys `__proto__`, `constructor` and `prototype` without a
 * word, so a parent, pool or host list of that name vanished (and a rule naming it was told
 * it does not exist), a static DNS entry or a header edit did nothing. They are refused at
 * the key instead.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../../src/config/errors.ts";
import { parseConfigText } from "../../src/config/parse.ts";

/** The issues of config `text` (JSON, so `__proto__` is a key like any other), as "path: message". */
function problems(text: string): string[] {
  try {
    parseConfigText(text, "gw.json");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail("expected the config to be refused");
}

const sections = (key: string): Record<string, [string, string]> => ({
  "dns.hosts": [`{"dns": {"hosts": {"${key}": ["10.0.0.1"]}}}`, `dns.hosts`],
  "a url rule's requestHeaders.set": [`{"policy": {"urlRules": [{"id": "u", "action": "allow", "requestHeaders": {"set": {"${key}": "x"}}}]}}`, "policy.urlRules[0].requestHeaders.set"],
  "parents": [`{"parents": {"${key}": {"url": "http://127.0.0.1:3129"}}}`, "parents"],
  "policy.hostLists": [`{"policy": {"hostLists": {"${key}": {"file": "x.txt"}}}}`, "policy.hostLists"],
  "reverse.pools": [`{"reverse": {"pools": {"${key}": {"backends": ["http://127.0.0.1:8080"]}}, "routes": []}}`, "reverse.pools"],
});

describe("names JavaScript objects reserve, as keys of named entries", () => {
  for (const key of ["constructor", "prototype", "__proto__"]) {
    for (const [where, [text, path]] of Object.entries(sections(key))) {
      it(`${where}: ${JSON.stringify(key)} is refused at the key`, () => {
        const found = problems(text);
        const at = found.filter((p) => p.includes(key));
        assert.equal(at.length, 1, found.join("\n"));
        assert.ok(at[0]!.startsWith(path), at[0]!);
        assert.match(at[0]!, new RegExp(`: "${key}" is a name JavaScript objects reserve; choose another$`));
      });
    }
  }

  it("other names are kept, and a key that only looks alike is an ordinary name", () => {
    const config = parseConfigText(`{"parents": {"Constructor": {"url": "http://127.0.0.1:3129"}, "proto": {"url": "http://127.0.0.1:3130"}}}`, "gw.json");
    assert.deepEqual(Object.keys(config.parents).sort(), ["Constructor", "proto"]);
  });
});
