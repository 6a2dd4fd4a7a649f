/**
 * Policy engine benchmark: compile time for 1,000,000 exact / `*.suffix` rules and the
 * cost of one `decide()`. Run with `bun scripts/bench/policy.ts` or
 * `deno run -A scripts/bench/policy.ts`; pass a rule count to override (e.g. 200000).
 */

import { normalizeHost } from "../../src/core/host.ts";
import { compilePolicy } from "../../src/policy/compile.ts";
import type { Host, PolicyQuery, RuleDefinition } from "../../src/policy/types.ts";

declare const process: { argv: string[] } | undefined;
declare const Deno: { args: string[] } | undefined;

const arg = typeof Deno !== "undefined" ? Deno.args[0] : typeof process !== "undefined" ? process.argv[2] : undefined;
const N = Number(arg ?? 1_000_000);
const LOOKUPS = 1_000_000;

function ruleName(i: number): string {
  return `host${i}.tenant${i % 1000}.example`;
}

const rules: RuleDefinition[] = [];
for (let i = 0; i < N; i++) {
  rules.push(
    i % 2 === 0
      ? { id: `r${i}`, hosts: [ruleName(i)], action: i % 3 === 0 ? "deny" : "allow" }
      : { id: `r${i}`, hosts: [`*.${ruleName(i)}`], action: "allow", ports: [443] },
  );
}

const t0 = performance.now();
const policy = compilePolicy({ rules, defaultAction: "deny" });
const compileMs = performance.now() - t0;

// a mix: exact hits, deep subdomain hits, misses
const hosts: Host[] = [];
for (let i = 0; i < 1024; i++) {
  const j = Math.floor(Math.random() * N);
  const name = i % 3 === 0 ? ruleName(j) : i % 3 === 1 ? `a.b.${ruleName(j)}` : `miss${j}.nowhere.example`;
  hosts.push(normalizeHost(name));
}
const queries: PolicyQuery[] = hosts.map((host) => ({ host, port: 443, clientIp: "10.0.0.1" }));

let allow = 0;
for (let i = 0; i < 100_000; i++) if (policy.decide(queries[i & 1023] as PolicyQuery).action === "allow") allow++; // warm-up
const t1 = performance.now();
for (let i = 0; i < LOOKUPS; i++) if (policy.decide(queries[i & 1023] as PolicyQuery).action === "allow") allow++;
const lookupNs = ((performance.now() - t1) * 1e6) / LOOKUPS;

const t2 = performance.now();
for (let i = 0; i < 100_000; i++) normalizeHost(`Host${i}.Tenant${i % 1000}.Example.`);
const normNs = ((performance.now() - t2) * 1e6) / 100_000;

const runtime = typeof Deno !== "undefined" ? "deno" : "bun";
console.log(`${runtime}: ${N} rules compiled in ${compileMs.toFixed(0)} ms`);
console.log(`${runtime}: decide() ${lookupNs.toFixed(0)} ns per lookup (${LOOKUPS} lookups, ${allow} allowed)`);
console.log(`${runtime}: normalizeHost() ${normNs.toFixed(0)} ns per ASCII name`);
