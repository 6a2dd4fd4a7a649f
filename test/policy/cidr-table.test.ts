import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Cidr, cidrContains, formatCidr, formatIp, parseCidr, parseIp } from "../../src/core/ip.ts";
import { CidrTable } from "../../src/policy/cidr-table.ts";

/** A small seeded generator, so a failure names a case that can be run again. */
function random(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

interface Entry {
  readonly cidr: Cidr;
  readonly rule: number;
}

/** The linear scan the table replaces: the first block added of the smallest passing rule. */
function reference(entries: readonly Entry[], ip: Uint8Array, limit: number, ok: (rule: number) => boolean): Entry | undefined {
  return entries.find((e) => e.rule < limit && cidrContains(e.cidr, ip) && ok(e.rule));
}

// addresses that nest and overlap: the blocks are cut from them at random prefix lengths
const V4_BASES = ["10.1.2.3", "10.1.200.7", "10.255.0.1", "192.0.2.1", "192.0.2.129", "0.0.0.0", "255.255.255.255", "93.184.216.34"];
const V6_BASES = ["2001:db8::1", "2001:db8:0:1::9", "fe80::1", "::", "::1", "::ffff:10.1.2.3", "::ffff:192.0.2.1", "64:ff9b::a01:203", "ffff::"];

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[bit >> 3] = (out[bit >> 3] ?? 0) ^ (0x80 >> (bit & 7));
  return out;
}

describe("CidrTable", () => {
  it("finds what a linear scan finds: smallest passing rule, its first block added", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = random(seed);
      const entries: Entry[] = [];
      const table = new CidrTable(seed * 7919);
      const rules = 1 + rnd(60);
      for (let rule = 0; rule < rules; rule++) {
        for (let n = 1 + rnd(3); n > 0; n--) {
          const v4 = rnd(2) === 0;
          const base = v4 ? V4_BASES[rnd(V4_BASES.length)] : V6_BASES[rnd(V6_BASES.length)];
          const cidr = parseCidr(`${base}/${rnd(v4 ? 33 : 129)}`);
          entries.push({ cidr, rule });
          table.add(cidr, rule);
        }
      }
      const failing = new Set(Array.from({ length: rnd(4) }, () => rnd(rules)));
      const ok = (rule: number) => !failing.has(rule);
      const queries: Uint8Array[] = [];
      for (const text of [...V4_BASES, ...V6_BASES]) {
        const bytes = parseIp(text) as Uint8Array;
        queries.push(bytes, flipBit(bytes, rnd(bytes.length * 8)), flipBit(bytes, bytes.length * 8 - 1));
        if (bytes.length === 4) queries.push(parseIp(`::ffff:${text}`) as Uint8Array); // the mapped form is the same address
      }
      for (const ip of queries) {
        for (const limit of [Infinity, rnd(rules + 1)]) {
          const want = reference(entries, ip, limit, ok);
          const got = table.find(ip, limit, ok);
          const what = `seed ${seed}: ${formatIp(ip)} below ${limit}`;
          assert.equal(got, want?.rule ?? -1, what);
          if (want === undefined) continue;
          assert.equal(formatCidr(table.match as Cidr), formatCidr(want.cidr), what);
          assert.equal(table.matchText, formatCidr(want.cidr), what);
        }
      }
    }
  });
  it("keeps IPv4 blocks to IPv4 and mapped addresses, and lets IPv6 blocks hold the mapped form", () => {
    const table = new CidrTable(1);
    table.add(parseCidr("0.0.0.0/0"), 0);
    table.add(parseCidr("::ffff:0:0/96"), 1);
    table.add(parseCidr("::/0"), 2);
    const find = (text: string, limit = Infinity) => table.find(parseIp(text) as Uint8Array, limit, () => true);
    assert.equal(find("198.51.100.1"), 0);
    assert.equal(find("::ffff:198.51.100.1"), 0);
    assert.equal(find("2001:db8::1"), 2, "an IPv4 block holds no other IPv6 address");
    assert.equal(find("198.51.100.1", 0), -1, "limit");
    assert.equal(find("198.51.100.1", 1), 0);
    assert.equal(find("::ffff:198.51.100.1", Infinity), 0);
    assert.equal(table.find(parseIp("198.51.100.1") as Uint8Array, Infinity, (r) => r > 0), 1);
    assert.equal(formatCidr(table.match as Cidr), "::ffff:0.0.0.0/96");
    assert.equal(table.find(new Uint8Array(5), Infinity, () => true), -1);
  });
  it("holds a repeated block once per rule and several rules per block, in order", () => {
    const table = new CidrTable(2);
    table.add(parseCidr("10.0.0.0/8"), 3);
    table.add(parseCidr("10.0.0.0/8"), 3);
    table.add(parseCidr("10.9.0.0/16"), 3);
    table.add(parseCidr("10.0.0.0/8"), 5);
    table.add(parseCidr("10.9.9.0/24"), 7);
    const ip = parseIp("10.9.9.9") as Uint8Array;
    assert.equal(table.find(ip, Infinity, (r) => r !== 3), 5);
    assert.equal(formatCidr(table.match as Cidr), "10.0.0.0/8");
    assert.equal(table.find(ip, Infinity, (r) => r === 7), 7);
    assert.equal(formatCidr(table.match as Cidr), "10.9.9.0/24");
    assert.equal(table.find(ip, Infinity, () => true), 3);
    assert.equal(formatCidr(table.match as Cidr), "10.0.0.0/8", "the rule's first block, not its most specific");
    assert.equal(table.size, 5);
  });
  it("grows to many blocks of many lengths and still finds each", () => {
    const table = new CidrTable(3);
    const blocks: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const prefix = 8 + (i % 25);
      const v4 = `${(i * 2654435761) >>> 24}.${(i * 40503) & 255}.${i & 255}.${(i >> 8) & 255}/${prefix}`;
      const v6 = `2001:db8:${(i * 7).toString(16)}::${i.toString(16)}/${48 + (i % 81)}`;
      table.add(parseCidr(v4), 2 * i);
      table.add(parseCidr(v6), 2 * i + 1);
      blocks.push(v4, v6);
    }
    for (let j = 0; j < blocks.length; j += 97) {
      const cidr = parseCidr(blocks[j] as string);
      const r = table.find(cidr.bytes, Infinity, () => true);
      assert.ok(r >= 0 && r <= j, `${blocks[j]}: ${r}`);
      assert.ok(cidrContains(table.match as Cidr, cidr.bytes));
    }
  });
});
