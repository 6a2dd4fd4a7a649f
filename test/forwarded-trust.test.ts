import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/config.ts";
import { forwardedTrust } from "../src/forwarded-trust.ts";

describe("forwardedTrust", () => {
  const config = parseConfig({
    listeners: [
      { name: "central", mode: "explicit", listen: "127.0.0.1:3128", trustForwardedFrom: ["10.1.0.0/24"] },
      { name: "plain", mode: "explicit", listen: "127.0.0.1:3129" },
      { name: "socks", mode: "socks5", listen: "127.0.0.1:1080" },
    ],
  });

  it("the named explicit listener's list, built once per config", () => {
    const list = forwardedTrust(config, "central");
    assert.ok(list?.has("10.1.0.9"));
    assert.equal(list?.has("10.2.0.9"), false);
    assert.equal(forwardedTrust(config, "central"), list, "the same list for the same config");
  });

  it("none for a listener without one, of another mode, or gone (renamed or dropped by a reload)", () => {
    assert.equal(forwardedTrust(config, "plain"), undefined);
    assert.equal(forwardedTrust(config, "socks"), undefined);
    assert.equal(forwardedTrust(config, "old-name"), undefined);
  });
});
