/**
 * Host list benchmark for IP destinations: `decide()` with a rule naming a list of 1,000,000
 * CIDR blocks (an IP feed: mostly /24, with /16 to /32 and IPv6 /48 among them) against the
 * same rule with a list of 1,000, measured in the same run, for IPv4 and IPv6 destinations
 * in and out of the list. The ratio is what matters: a decision should cost about the same
 * however long the list is (review 43 measured 12-19 ms on Bun and 44-51 ms on Deno per
 * decision with 1,000,000 blocks when they were scanned one by one).
 * Also: parse time and the memory the large list holds (heap and its typed arrays' buffers). Medians of 5 rounds. Run with
 * `bun scripts/bench/host-list-cidr.ts` or
 * `deno run -A --v8-flags=--expose-gc scripts/bench/host-list-cidr.ts`; pass a count to
 * override the large list's size.
 */

import { normalizeHost } from "../../src/core/host.ts";
import { compilePolicy } from "../../src/policy/compile.ts";
import { type HostList, parseHostList } from "../../src/policy/host-list.ts";
import type { Policy, PolicyQuery, RuleDefinition } from "../../src/policy/types.ts";

declare const process: { argv: string[]; memoryUsage(): { heapUsed: number; external: number } };
declare const Deno: { args: string[] } | undefined;
declare const Bun: { gc(force: boolean): void } | undefined;
declare const gc: (() => void) | undefined;

const arg = typeof Deno !== "undefined" ? Deno.args[0] : process.argv[2];
const LARGE = Number(arg ?? 1_000_000);
const SMALL = 1_000;
const ROUNDS = 5;
const LOOKUPS = 200_000;
const runtime = typeof Deno !== "undefined" ? "deno" : "bun";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const collect = () => (typeof Bun !== "undefined" ? Bun.gc(true) : typeof gc === "function" ? gc() : undefined);
// the tables are typed arrays: Bun counts their buffers in heapUsed, Deno in external only
const heapMiB = () => {
  collect();
  const m = process.memoryUsage();
  return (typeof Bun !== "undefined" ? m.heapUsed : m.heapUsed + m.external) / 1048576;
};

const PREFIXES = [24, 24, 24, 24, 16, 20, 28, 32, 22];
/** Block i of a feed: IPv4 in 11.0.0.0-210.255.255.255, every tenth an IPv6 /48. */
function block(i: number): string {
  if (i % 10 === 9) return `2001:db8:${(i >>> 4).toString(16)}::/48`;
  return `${11 + ((i >>> 16) % 200)}.${(i >>> 8) & 255}.${i & 255}.0/${PREFIXES[i % PREFIXES.length]}`;
}
const feed = (n: number) => Array.from({ length: n }, (_, i) => block(i)).join("\n");

// parse the large list first, with the memory it holds once its text is gone
const before = heapMiB();
let largeText: string | undefined = feed(LARGE);
const textMiB = largeText.length / 1048576;
const started = performance.now();
const large = parseHostList("feed", largeText, "patterns");
const parseMs = performance.now() - started;
largeText = undefined;
/x/.test("x"); // V8 keeps the last regex subject alive: a line sliced from the text, and so the text
const listMiB = heapMiB() - before;
const small = parseHostList("feed", feed(SMALL), "patterns");

const others: RuleDefinition[] = Array.from({ length: 10 }, (_, i) => ({ id: `r${i}`, hosts: [`.site${i}.example`], action: i % 2 ? "allow" : "deny" }));
const withList = (list: HostList): Policy =>
  compilePolicy({ defaultAction: "allow", rules: [...others, { id: "feed", hostLists: ["feed"], action: "deny" }] }, { hostLists: new Map([["feed", list]]) });
const largePolicy = withList(large);
const smallPolicy = withList(small);

// the same destinations for both lists: in both lists (the first blocks), and in neither
const queries: PolicyQuery[] = [];
for (let i = 0; i < 1024; i++) {
  const j = (i * 7919) % SMALL;
  const host = i % 4 === 0
    ? `${11 + ((j >>> 16) % 200)}.${(j >>> 8) & 255}.${j & 255}.${i & 255}` // in a block of both lists (IPv4)
    : i % 4 === 1
    ? `[2001:db8:${((j | 9) >>> 4).toString(16)}::${i.toString(16)}]` // in an IPv6 block of both lists
    : i % 4 === 2
    ? `${1 + (i % 9)}.${i & 255}.${(i * 3) & 255}.${(i * 7) & 255}` // outside (IPv4)
    : `[2001:db9::${i.toString(16)}]`; // outside (IPv6)
  queries.push({ host: normalizeHost(host), port: 443, clientIp: "10.0.0.1" });
}
const lookupNs = (p: Policy) => {
  let denied = 0;
  const started = performance.now();
  for (let i = 0; i < LOOKUPS; i++) if (p.decide(queries[i & 1023] as PolicyQuery).action === "deny") denied++;
  return { ns: ((performance.now() - started) * 1e6) / LOOKUPS, denied };
};
lookupNs(smallPolicy);
lookupNs(largePolicy); // warm-up
const smallNs: number[] = [];
const largeNs: number[] = [];
let deniedSmall = 0;
let deniedLarge = 0;
for (let r = 0; r < ROUNDS; r++) {
  const s = lookupNs(smallPolicy);
  const l = lookupNs(largePolicy);
  smallNs.push(s.ns);
  largeNs.push(l.ns);
  deniedSmall = s.denied;
  deniedLarge = l.denied;
}
if (deniedSmall !== deniedLarge) throw new Error(`the lists disagree: ${deniedSmall} vs ${deniedLarge} denied`);

const f = (x: number) => x.toFixed(0);
console.log(`${runtime}: host list of ${LARGE} CIDR blocks, ${textMiB.toFixed(1)} MiB of text (medians of ${ROUNDS})`);
console.log(`${runtime}:   parsed in ${f(parseMs)} ms; memory held by the list ${listMiB.toFixed(0)} MiB (${f((listMiB * 1048576) / LARGE)} bytes a block)`);
console.log(`${runtime}:   decide() for an IP destination ${f(median(largeNs))} ns with ${LARGE} blocks vs ${f(median(smallNs))} ns with ${SMALL} (ratio ${(median(largeNs) / median(smallNs)).toFixed(2)}; 10 other rules; ${deniedLarge} of ${LOOKUPS} denied)`);
