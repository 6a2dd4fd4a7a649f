import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { normalizeHost } from "../../src/core/host.ts";
import { type Cidr, parseCidr, parseIp } from "../../src/core/ip.ts";
import { HostIndex } from "../../src/policy/host-index.ts";

describe("HostIndex: CIDR blocks", () => {
  it("an IP lookup costs the same with 1,000 or 20,000 blocks (no block is read one by one)", () => {
    let reads = 0;
    // a block whose fields count their reads: a scan of the blocks reads each one it passes
    const counted = (c: Cidr): Cidr => ({
      get family() {
        reads++;
        return c.family;
      },
      get bytes() {
        reads++;
        return c.bytes;
      },
      get prefix() {
        reads++;
        return c.prefix;
      },
    });
    const readsPerLookup = (n: number) => {
      const index = new HostIndex();
      for (let i = 0; i < n; i++) {
        const v4 = `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/${20 + (i % 13)}`;
        index.addPattern({ kind: "cidr", cidr: counted(parseCidr(i % 4 === 3 ? `2001:db8:${i.toString(16)}::/${40 + (i % 50)}` : v4)) }, 0);
      }
      reads = 0;
      const hosts = ["8.8.8.8", "10.0.1.7", "[::ffff:10.0.2.9]", "[2001:db8:3::1]", "[2001:db8:ffff::1]", "[::ffff:8.8.4.4]"];
      let found = 0;
      for (const h of hosts) {
        const host = normalizeHost(h);
        if (host.kind === "dns") throw new Error(h);
        if (index.find(host, parseIp(host.address), 1, () => true) >= 0) found++;
      }
      return { reads: reads / hosts.length, found };
    };
    const small = readsPerLookup(1_000);
    const large = readsPerLookup(20_000);
    assert.equal(small.found, 3);
    assert.equal(large.found, 3);
    assert.equal(large.reads, small.reads, `reads per lookup: ${small.reads} with 1,000 blocks, ${large.reads} with 20,000`);
    assert.ok(large.reads < 100, `reads per lookup: ${large.reads}`);
  });
});
