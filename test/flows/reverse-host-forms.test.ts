/**
 * A reverse route for an IPv4 address takes a request that names one of that address's
 * IPv6 forms in its Host (NAT64 `64:ff9b::/96`, `64:ff9b:1::/48`, IPv4-translated,
 * IPv4-compatible), as host patterns match everywhere (`translatedIPv4`): a client that
 * reaches the gateway's IPv4 address through a NAT64 names it that way. The README's reverse
 * proxy section says so.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readResponse, withHarness } from "../helpers/flow-harness.ts";
import { close, named, open, route, state } from "../helpers/reverse-harness.ts";

describe("reverse flow: a route for an IPv4 address and that address's IPv6 forms", () => {
  it("routes Host: [64:ff9b::a00:1] (and the other forms) by the route for 10.0.0.1, the Host kept as sent", async () => {
    await withHarness({}, async (h) => {
      const seen = named(h, "10.0.0.9", 80, "site");
      named(h, "10.0.0.8", 80, "fallback");
      const s = state([route("fallback", ["*"], "F"), route("site", ["10.0.0.1"], "S")], {
        S: { backends: ["http://10.0.0.9"] },
        F: { backends: ["http://10.0.0.8"] },
      });
      const { c, done } = open(h, s);
      // the last, 6to4, tunnels to 10.0.0.1 rather than name it
      const hosts = ["[64:ff9b::a00:1]", "[64:ff9b:1::a00:1]", "[::ffff:0:a00:1]", "[::a00:1]", "[2002:a00:1::1]"];
      for (const host of hosts) {
        await c.write(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        assert.equal((await readResponse(c)).body, host === "[2002:a00:1::1]" ? "fallback" : "site", host);
      }
      await close(c, done);
      assert.deepEqual(h.requestRecords.map((q) => q.rule), ["site", "site", "site", "site", "fallback"]);
      assert.equal(seen[0]?.get("host"), "[64:ff9b::a00:1]");
    });
  });
});
