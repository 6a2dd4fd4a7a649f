/**
 * Per-decision and per-request costs where a typed array used to be made each time: on Deno
 * every new `Uint8Array` costs ~0.6 µs whatever its size (docs/performance.md), so an
 * IP-literal decision paid for parsing its address, a client condition for parsing the
 * client, and every request head for its copy.
 *
 * Each workload is timed beside a baseline from the same run, in alternating rounds, and
 * printed as medians with the ratio to its baseline:
 * - `decide()` for IPv4 / IPv6 literals (exact addresses and CIDR blocks) vs host names, on
 *   one policy of name, suffix, IP and CIDR rules; IPv6 literals that hit an exact IPv6 rule,
 *   and NAT64 forms that hit an exact IPv4 rule;
 * - `decide()` with a client condition looked at (a new client address on every query) vs
 *   the same names without one;
 * - url-rule `decide()` for an IP literal vs a host name, on rules naming hosts;
 * - `normalizeHost()` of IP literals vs names;
 * - `HeadReader.push()` of a request head that arrives in one chunk vs `parseRequestHead()`
 *   of the same bytes (the parse it feeds).
 *
 *   bun scripts/bench/ip-literal.ts [--rounds 7]
 *   deno run -A scripts/bench/ip-literal.ts [--rounds 7]
 *
 * @module
 */
import { argValue, runtimeName } from "./_cli.ts";
import { normalizeHost } from "../../src/core/host.ts";
import { compilePolicy } from "../../src/policy/compile.ts";
import { compileUrlRules } from "../../src/policy/url-rules.ts";
import type { Policy, PolicyQuery, RuleDefinition, UrlPolicy, UrlQuery } from "../../src/policy/types.ts";
import { HeadReader } from "../../src/protocol/http-head-reader.ts";
import { parseRequestHead } from "../../src/protocol/http-request-head.ts";

const ROUNDS = argValue("--rounds", 7);
const OPS = 200_000;

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const cycle = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

// ---- the policy: names, suffixes, exact IPs and CIDR blocks of both families
const rules: RuleDefinition[] = [
  ...cycle(20, (i): RuleDefinition => ({ id: `name${i}`, hosts: [`app${i}.example`, `.tenant${i}.example`], action: "allow" })),
  { id: "ips", hosts: ["192.0.2.10", "198.51.100.20", "[2001:db8::10]"], action: "deny" },
  { id: "v4", hosts: ["10.0.0.0/8", "172.16.0.0/12", "203.0.113.0/24"], action: "deny", ports: [443] },
  { id: "v6", hosts: ["2001:db8:100::/48", "fd00::/8"], action: "deny" },
  { id: "ips6", hosts: cycle(16, (i) => `[2001:db8:0:${i.toString(16)}::${(i + 1).toString(16)}]`), action: "deny" },
];
const policy = compilePolicy({ defaultAction: "allow", rules });
const withClients = compilePolicy({ defaultAction: "allow", rules: [{ id: "office", hosts: ["*"], clients: ["192.168.0.0/16", "fd12::/16"], action: "deny" }, ...rules] });

const N = 1024;
const names = cycle(N, (i) => normalizeHost(i % 2 === 0 ? `app${i % 20}.example` : `x${i}.tenant${i % 30}.example`));
const v4 = cycle(N, (i) => normalizeHost(i % 2 === 0 ? `10.${i & 255}.${(i >> 3) & 255}.${i % 200}` : `93.184.${i & 255}.${(i * 7) & 255}`));
const v6 = cycle(N, (i) => normalizeHost(i % 2 === 0 ? `[2001:db8:100::${i.toString(16)}]` : `[2606:4700:${i.toString(16)}::1111]`));
// every one hits an exact rule: IPv6 ones, and the NAT64 forms of the IPv4 ones
const v6Exact = cycle(N, (i) => normalizeHost(`[2001:db8:0:${(i % 16).toString(16)}::${(i % 16 + 1).toString(16)}]`));
const nat64Exact = cycle(N, (i) => normalizeHost(i % 2 === 0 ? "[64:ff9b::c000:20a]" : "[64:ff9b::c633:6414]"));
const clients = cycle(N, (i) => `10.${(i >> 8) & 255}.${i & 255}.${(i * 13) & 255}`);
const q = (host: PolicyQuery["host"], i: number): PolicyQuery => ({ host, port: 443, clientIp: clients[i] as string });
const nameQ = names.map(q);
const v4Q = v4.map(q);
const v6Q = v6.map(q);
const v6ExactQ = v6Exact.map(q);
const nat64ExactQ = nat64Exact.map(q);

const decide = (p: Policy, qs: readonly PolicyQuery[]) => () => {
  let deny = 0;
  for (let i = 0; i < OPS; i++) if (p.decide(qs[i & (N - 1)] as PolicyQuery).action === "deny") deny++;
  return deny;
};

// ---- url rules naming hosts (the address patterns last, so an IP walks them all)
const urlRules: UrlPolicy = compileUrlRules([
  ...cycle(8, (i) => ({ id: `u${i}`, hosts: [`app${i}.example`, `.tenant${i}.example`, `*.cdn${i}.example`], paths: ["/admin"], action: "deny" as const })),
  { id: "nets", hosts: ["10.0.0.0/8", "2001:db8:100::/48"], paths: ["/internal"], action: "deny" },
]);
const urlQ = (host: PolicyQuery["host"]): UrlQuery => ({ host, path: "/index.html", method: "GET" });
const urlNames = names.map(urlQ);
const urlV4 = v4.map(urlQ);
const urlDecide = (qs: readonly UrlQuery[]) => () => {
  let deny = 0;
  for (let i = 0; i < OPS; i++) if (urlRules.decide(qs[i & (N - 1)] as UrlQuery).action === "deny") deny++;
  return deny;
};

// ---- host normalisation of the text a request names
const nameText = cycle(N, (i) => `x${i}.tenant${i % 30}.example`);
const v4Text = cycle(N, (i) => `93.184.${i & 255}.${(i * 7) & 255}`);
const v6Text = cycle(N, (i) => `[2606:4700:${i.toString(16)}::1111]`);
const normalize = (texts: readonly string[]) => () => {
  let n = 0;
  for (let i = 0; i < OPS; i++) n += normalizeHost(texts[i & (N - 1)] as string).kind.length;
  return n;
};

// ---- a request head in one chunk (the chunk is reused: the reader keeps no reference to it)
const headText = "GET http://app1.example/index.html HTTP/1.1\r\nHost: app1.example\r\nUser-Agent: bench/1.0\r\n" +
  "Accept: */*\r\nAccept-Encoding: gzip, br\r\nConnection: keep-alive\r\n\r\n";
const headChunk = new TextEncoder().encode(headText);
const readHeads = () => {
  let n = 0;
  for (let i = 0; i < OPS; i++) n += new HeadReader().push(headChunk)?.head.byteLength ?? 0;
  return n;
};
const parseHeads = () => {
  let n = 0;
  for (let i = 0; i < OPS; i++) n += parseRequestHead(headChunk).headers.size;
  return n;
};

interface Pair {
  readonly what: string;
  readonly run: () => number;
  readonly baseline: string;
  readonly base: () => number;
}
const pairs: Pair[] = [
  { what: "decide(), IPv4 literal", run: decide(policy, v4Q), baseline: "decide(), host name", base: decide(policy, nameQ) },
  { what: "decide(), IPv6 literal", run: decide(policy, v6Q), baseline: "decide(), host name", base: decide(policy, nameQ) },
  { what: "decide(), IPv6 exact rule", run: decide(policy, v6ExactQ), baseline: "decide(), host name", base: decide(policy, nameQ) },
  { what: "decide(), NAT64 of exact IPv4", run: decide(policy, nat64ExactQ), baseline: "decide(), host name", base: decide(policy, nameQ) },
  { what: "decide(), name + client rule", run: decide(withClients, nameQ), baseline: "decide(), host name", base: decide(policy, nameQ) },
  { what: "decide(), IPv4 + client rule", run: decide(withClients, v4Q), baseline: "decide(), host name", base: decide(policy, nameQ) },
  { what: "url decide(), IPv4 literal", run: urlDecide(urlV4), baseline: "url decide(), host name", base: urlDecide(urlNames) },
  { what: "normalizeHost(), IPv4", run: normalize(v4Text), baseline: "normalizeHost(), name", base: normalize(nameText) },
  { what: "normalizeHost(), [IPv6]", run: normalize(v6Text), baseline: "normalizeHost(), name", base: normalize(nameText) },
  { what: "HeadReader.push(), 1 chunk", run: readHeads, baseline: "parseRequestHead()", base: parseHeads },
];

const time = (fn: () => number): number => {
  const start = performance.now();
  fn();
  return ((performance.now() - start) * 1e6) / OPS;
};
for (const p of pairs) time(p.run), time(p.base); // warm-up
const runs = pairs.map(() => [] as number[]);
const bases = pairs.map(() => [] as number[]);
for (let r = 0; r < ROUNDS; r++) {
  pairs.forEach((p, k) => {
    // alternate which goes first
    if (r % 2 === 0) (runs[k] as number[]).push(time(p.run)), (bases[k] as number[]).push(time(p.base));
    else (bases[k] as number[]).push(time(p.base)), (runs[k] as number[]).push(time(p.run));
  });
}

console.log(`${runtimeName()}: medians of ${ROUNDS} rounds of ${OPS} calls, ns per call`);
const w = Math.max(...pairs.map((p) => p.what.length), ...pairs.map((p) => p.baseline.length));
console.log(`  ${"workload".padEnd(w)}        ns  ${"baseline".padEnd(w)}        ns  ratio`);
pairs.forEach((p, k) => {
  const a = median(runs[k] as number[]);
  const b = median(bases[k] as number[]);
  console.log(`  ${p.what.padEnd(w)}  ${a.toFixed(0).padStart(8)}  ${p.baseline.padEnd(w)}  ${b.toFixed(0).padStart(8)}  ${(a / b).toFixed(2)}×`);
});
