import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseIp } from "../../src/core/ip.ts";
import { ipKey } from "../../src/policy/host-pattern.ts";
import { IpTable } from "../../src/policy/ip-table.ts";

const all = () => true;
const key = (text: string) => ipKey(parseIp(text) as Uint8Array);

/** A table of `keys` (canonical texts, as rules give them), rule i for key i. */
function table(...keys: string[]): IpTable {
  const t = new IpTable(7);
  keys.forEach((k, i) => t.add(key(k), i));
  return t;
}

/** The rule `text` finds, and the key text it matched ("" for none). */
function find(t: IpTable, text: string, limit = Infinity, ok: (rule: number) => boolean = all): [number, string] {
  t.matchText = "";
  const r = t.find(parseIp(text) as Uint8Array, limit, ok);
  return [r, r < 0 ? "" : t.matchText];
}

describe("IpTable", () => {
  it("finds an IPv6 address whatever form it was written in, and gives back its canonical key", () => {
    const t = table("2001:DB8:0:0:0:0:0:1", "fe80::1");
    for (const form of ["2001:db8::1", "2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8:0::0:1"]) {
      assert.deepEqual(find(t, form), [0, "2001:db8::1"], form);
    }
    assert.deepEqual(find(t, "FE80:0::1"), [1, "fe80::1"]);
    assert.deepEqual(find(t, "2001:db8::2"), [-1, ""]);
    assert.deepEqual(find(t, "2001:db8:1::1"), [-1, ""], "every byte counts, not only the low word");
  });
  it("holds an IPv4 address and its IPv4-mapped form as one address, and no other IPv6 form", () => {
    const t = table("192.0.2.1", "::ffff:198.51.100.7");
    assert.deepEqual(find(t, "192.0.2.1"), [0, "192.0.2.1"]);
    assert.deepEqual(find(t, "::ffff:192.0.2.1"), [0, "192.0.2.1"]);
    assert.deepEqual(find(t, "::FFFF:c000:201"), [0, "192.0.2.1"]);
    assert.deepEqual(find(t, "198.51.100.7"), [1, "198.51.100.7"]);
    assert.deepEqual(find(t, "::ffff:198.51.100.7"), [1, "198.51.100.7"]);
    // translated forms designate the address, but they are other addresses: the index looks them up again
    for (const other of ["::c000:201", "64:ff9b::c000:201", "::ffff:0:c000:201", "c000:201::"]) {
      assert.deepEqual(find(t, other), [-1, ""], other);
    }
  });
  it("keeps an IPv6 address that ends in an IPv4 one apart from that IPv4 address", () => {
    const t = table("64:ff9b::c000:201", "::1");
    assert.deepEqual(find(t, "64:ff9b::192.0.2.1"), [0, "64:ff9b::c000:201"]);
    assert.deepEqual(find(t, "192.0.2.1"), [-1, ""]);
    assert.deepEqual(find(t, "::1"), [1, "::1"]);
    assert.deepEqual(find(t, "0.0.0.1"), [-1, ""], "::1 is not the IPv4-compatible 0.0.0.1 here");
    assert.deepEqual(find(t, "::ffff:0.0.0.1"), [-1, ""]);
  });
  it("keeps the rules of an address in order, with limits and checks", () => {
    const t = new IpTable(3);
    t.add("10.1.2.3", 2);
    t.add("10.1.2.3", 2);
    t.add("2001:db8::1", 3);
    t.add("10.1.2.3", 5);
    t.add("10.1.2.3", 9);
    assert.equal(t.size, 2);
    assert.deepEqual(find(t, "10.1.2.3"), [2, "10.1.2.3"]);
    assert.deepEqual(find(t, "10.1.2.3", 2), [-1, ""], "limit is exclusive");
    assert.deepEqual(find(t, "10.1.2.3", Infinity, (r) => r > 2), [5, "10.1.2.3"]);
    assert.deepEqual(find(t, "10.1.2.3", 9, (r) => r > 5), [-1, ""]);
    assert.deepEqual(find(t, "2001:db8::1", 3), [-1, ""]);
  });
  it("holds many addresses of both families", () => {
    const t = new IpTable(11);
    const texts: string[] = [];
    for (let i = 0; i < 3000; i++) {
      texts.push(i % 2 === 0 ? `10.${(i >> 8) & 255}.${i & 255}.1` : `2001:db8:${i.toString(16)}::${(i * 7).toString(16)}`);
      t.add(key(texts[i] as string), i);
    }
    assert.equal(t.size, 3000);
    texts.forEach((text, i) => assert.deepEqual(find(t, text), [i, key(text)], text));
    assert.deepEqual(find(t, "10.0.0.2"), [-1, ""]);
  });
  it("refuses a key that is not an address, and finds nothing for a buffer of another length", () => {
    const t = table("10.0.0.1");
    assert.throws(() => t.add("example.com", 1), /^SyntaxError: Invalid IP address "example.com"$/);
    assert.throws(() => t.add("fe80::1%eth0", 1), SyntaxError, "zone ids are not addresses");
    assert.equal(t.find(new Uint8Array(5), Infinity, all), -1);
    assert.equal(t.find(new Uint8Array(0), Infinity, all), -1);
  });
});
