import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import { normalizeHost } from "../../src/core/host.ts";
import { LiveFlows } from "../../src/flows/live-flows.ts";
import { routeName } from "../../src/parent/route-name.ts";
import type { ParentProxy } from "../../src/parent/tunnel.ts";
import { compilePolicy } from "../../src/policy/compile.ts";

const parent = (name: string, authority: string, protocol: "http" | "socks5") => ({ name, authority, protocol }) as ParentProxy;

describe("routeName", () => {
  it("names direct, a parent with its address (and scheme when SOCKS5), or one no longer configured", () => {
    const parents = new Map([["corp", parent("corp", "proxy.corp:3128", "http")], ["socks", parent("socks", "s.corp:1080", "socks5")]]);
    assert.equal(routeName({}, parents), "direct");
    assert.equal(routeName({ parent: "corp" }, parents), 'through parent "corp" (proxy.corp:3128)');
    assert.equal(routeName({ parent: "socks" }, parents), 'through parent "socks" (socks5://s.corp:1080)');
    assert.equal(routeName({ parent: "gone" }, parents), 'through parent "gone" (not configured)');
  });

  it("a reload that turns http://p:1080 into socks5://p:1080 closes the flows through it", () => {
    let parents = new Map([["corp", parent("corp", "p.corp:1080", "http")]]);
    const live = new LiveFlows((d) => routeName(d, parents));
    const query = { host: normalizeHost("a.test"), port: 443, clientIp: "10.0.0.1" };
    const policy = compilePolicy({ defaultAction: "allow", defaultParent: "corp", rules: [] });
    live.watch(query, policy.decide(query), memoryConnPair()[0], { revoke: () => {} });
    assert.equal(live.recheck(policy), 0, "nothing changed");
    parents = new Map([["corp", parent("corp", "p.corp:1080", "socks5")]]);
    assert.equal(live.recheck(policy), 1);
  });
});
