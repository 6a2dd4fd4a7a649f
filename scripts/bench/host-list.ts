/**
 * Host list benchmark: a rule naming a list of 1,000,000 names (`"domains"` format) against
 * baselines measured in the same run:
 * - load: `loadHostLists` (read, digest, parse in slices) vs `compilePolicy` of one rule
 *   with the same names inline in `hosts`;
 * - reload of an unchanged file (digest only) vs the first load, and the longest the event
 *   loop waits while a list is parsed;
 * - `decide()` with the list rule vs the same names inline in the rule (hits and misses);
 * - heap held by the list (its text dropped, as a file's text is once read).
 * Medians of 5 rounds. Run with `bun scripts/bench/host-list.ts` or
 * `deno run -A --v8-flags=--expose-gc scripts/bench/host-list.ts`; pass a count to override.
 */

import { normalizeHost } from "../../src/core/host.ts";
import { compilePolicy } from "../../src/policy/compile.ts";
import { loadHostLists } from "../../src/policy/load-host-lists.ts";
import type { Policy, PolicyQuery, RuleDefinition } from "../../src/policy/types.ts";

declare const process: { argv: string[]; memoryUsage(): { heapUsed: number } };
declare const Deno: { args: string[] } | undefined;
declare const Bun: { gc(force: boolean): void } | undefined;
declare const gc: (() => void) | undefined;

const arg = typeof Deno !== "undefined" ? Deno.args[0] : process.argv[2];
const N = Number(arg ?? 1_000_000);
const ROUNDS = 5;
const LOOKUPS = 500_000;
const runtime = typeof Deno !== "undefined" ? "deno" : "bun";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const collect = () => (typeof Bun !== "undefined" ? Bun.gc(true) : typeof gc === "function" ? gc() : undefined);
const heapMiB = () => {
  collect();
  return process.memoryUsage().heapUsed / 1048576;
};

const name = (i: number) => `h${i}.feed${i % 5000}.example`;
const names = Array.from({ length: N }, (_, i) => name(i));
const text = `# a feed\n${names.join("\n")}\n`;
const read = () => text;

// heap first, before the rounds leave garbage behind: a list read from a text of its own,
// which nothing else holds (as a file's text, once read), so what it keeps of it counts
const before = heapMiB();
let lists = await loadHostLists({ feed: { file: "feed.txt", format: "domains" } }, () => `# a feed\n${names.join("\n")}\n`);
const listMiB = heapMiB() - before;

// the longest the event loop waits while a changed list is parsed (a reload under traffic)
let stallMs = 0;
{
  collect();
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 1);
  await loadHostLists({ feed: { file: "feed.txt", format: "domains" } }, read);
  clearInterval(timer);
}

// load vs compiling the same names inline
const loadMs: number[] = [];
const inlineMs: number[] = [];
const reloadMs: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  let t = performance.now();
  lists = await loadHostLists({ feed: { file: "feed.txt", format: "domains" } }, read);
  loadMs.push(performance.now() - t);
  t = performance.now();
  const again = await loadHostLists({ feed: { file: "feed.txt", format: "domains" } }, read, lists);
  reloadMs.push(performance.now() - t);
  if (again.get("feed") !== lists.get("feed")) throw new Error("an unchanged list was parsed again");
  t = performance.now();
  compilePolicy({ defaultAction: "allow", rules: [{ id: "inline", hosts: names.map((n) => `.${n}`), action: "deny" }] });
  inlineMs.push(performance.now() - t);
}

const small: RuleDefinition[] = Array.from({ length: 10 }, (_, i) => ({ id: `r${i}`, hosts: [`.site${i}.example`], action: i % 2 ? "allow" : "deny" }));
const inline = compilePolicy({ defaultAction: "allow", rules: [...small, { id: "threats", hosts: names.map((n) => `.${n}`), action: "deny" }] });
const withList = compilePolicy({ defaultAction: "allow", rules: [...small, { id: "threats", hostLists: ["feed"], action: "deny" }] }, { hostLists: lists });

// a mix: list hits (exact and subdomain) and misses
const queries: PolicyQuery[] = [];
for (let i = 0; i < 1024; i++) {
  const j = (i * 7919) % N;
  const host = i % 3 === 0 ? name(j) : i % 3 === 1 ? `cdn.${name(j)}` : `miss${j}.nowhere.example`;
  queries.push({ host: normalizeHost(host), port: 443, clientIp: "10.0.0.1" });
}
const lookupNs = (p: Policy) => {
  let denied = 0;
  const t = performance.now();
  for (let i = 0; i < LOOKUPS; i++) if (p.decide(queries[i & 1023] as PolicyQuery).action === "deny") denied++;
  return { ns: ((performance.now() - t) * 1e6) / LOOKUPS, denied };
};
lookupNs(inline);
lookupNs(withList); // warm-up
const inlineNs: number[] = [];
const listNs: number[] = [];
let denied = 0;
for (let r = 0; r < ROUNDS; r++) {
  inlineNs.push(lookupNs(inline).ns);
  const l = lookupNs(withList);
  listNs.push(l.ns);
  denied = l.denied;
}

const f = (x: number) => x.toFixed(0);
const ratio = (a: number, b: number) => (a / b).toFixed(2);
console.log(`${runtime}: host list of ${N} names, ${(text.length / 1048576).toFixed(1)} MiB of text (medians of ${ROUNDS})`);
console.log(`${runtime}:   load ${f(median(loadMs))} ms; the same names inline in one rule compile in ${f(median(inlineMs))} ms (ratio ${ratio(median(loadMs), median(inlineMs))})`);
console.log(`${runtime}:   reload of the unchanged file ${f(median(reloadMs))} ms (${ratio(median(reloadMs), median(loadMs))} of a load)`);
console.log(`${runtime}:   longest event-loop stall while it parses ${f(stallMs)} ms (slices of 20,000 lines)`);
console.log(`${runtime}:   heap held by the list ${listMiB.toFixed(0)} MiB (${f((listMiB * 1048576) / N)} bytes a name)`);
console.log(`${runtime}:   decide() ${f(median(listNs))} ns with the list vs ${f(median(inlineNs))} ns with the names inline (ratio ${ratio(median(listNs), median(inlineNs))}; 10 other rules; ${denied} of ${LOOKUPS} denied)`);
