/**
 * Resolver benchmark: an uncached lookup (A and AAAA) through `dns.servers` over UDP against
 * the same lookup over TCP, a new connection each time (`tcp-new`) or the connection kept
 * and shared as the gateway does (`tcp`), against a local DNS server in its own Node
 * process (127.0.0.1). Prints medians and the ratios, all measured in this run.
 *
 *   bun scripts/bench/dns.ts [--lookups 2000]
 *   deno run -A scripts/bench/dns.ts [--lookups 2000]
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";
import type { Runtime } from "../../src/core/runtime.ts";
import { ServerResolver } from "../../src/dns/server-resolver.ts";

const name = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
const path = `../../src/runtime/${name}/index.ts`;
const runtime = ((await import(path)) as Record<string, Runtime>)[`${name}Runtime`]!;

const i = process.argv.indexOf("--lookups");
const LOOKUPS = i >= 0 ? Number(process.argv[i + 1]) : 2000;

const server = spawn("node", [new URL("./dns-server.mjs", import.meta.url).pathname], { stdio: ["pipe", "pipe", "inherit"] });
const port = await new Promise<number>((resolve, reject) => {
  server.once("error", reject);
  server.stdout!.once("data", (chunk: Uint8Array) => resolve(Number(new TextDecoder().decode(chunk).trim())));
});

const servers = [{ address: "127.0.0.1", port }];
const dial = (s: { address: string; port: number }, signal: AbortSignal) => runtime.dial({ address: s.address, port: s.port, signal });
const resolvers = {
  udp: new ServerResolver(servers, dial, 2000, { open: runtime.openDatagram!, retransmitMs: 1000 }),
  tcp: new ServerResolver(servers, dial, 2000, undefined, undefined, { keepAliveMs: 10_000 }),
  "tcp-new": new ServerResolver(servers, dial, 2000),
};
const KINDS = ["udp", "tcp", "tcp-new"] as const;

async function run(kind: keyof typeof resolvers, count: number, round: number): Promise<number[]> {
  const out: number[] = [];
  for (let n = 0; n < count; n++) {
    const start = performance.now();
    await resolvers[kind].resolve(`h${round}-${n}.bench.test`);
    out.push(performance.now() - start);
  }
  return out.sort((a, b) => a - b);
}

const median = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
const p99 = (xs: number[]) => xs[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

for (const [i, kind] of KINDS.entries()) await run(kind, 200, -1 - i); // warm-up
const rows: Record<string, number[]> = { udp: [], tcp: [], "tcp-new": [] };
for (let round = 0; round < 3; round++) {
  // interleaved rounds, so all see the same machine noise
  for (const [i, kind] of KINDS.entries()) rows[kind]!.push(...(await run(kind, Math.ceil(LOOKUPS / 3), round + 10 * (i + 1))));
}
for (const k of KINDS) rows[k]!.sort((a, b) => a - b);
console.log(`runtime ${name} ${runtime.version}, ${LOOKUPS} uncached lookups each (A + AAAA), server on 127.0.0.1`);
for (const k of KINDS) console.log(`${k}: median ${(median(rows[k]!) * 1000).toFixed(0)} µs, p99 ${(p99(rows[k]!) * 1000).toFixed(0)} µs`);
console.log(`udp/tcp median ratio: ${(median(rows.udp!) / median(rows.tcp!)).toFixed(2)}`);
console.log(`tcp (kept)/tcp-new median ratio: ${(median(rows.tcp!) / median(rows["tcp-new"]!)).toFixed(2)}`);
for (const r of Object.values(resolvers)) r.close();
console.log("(loopback: no network delay. Across a network, a lookup on a new TCP connection takes the handshake and one round trip; on a kept one, two round trips (its questions one by one) and no handshake.)");
server.stdin!.end();
