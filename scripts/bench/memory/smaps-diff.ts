/**
 * Which mappings of a relay grow during a transfer: snapshots /proc/PID/smaps before the
 * transfer, during it (every 100 ms, keeping the sample with the largest RSS) and prints the
 * mappings whose Rss grew most. `bun smaps-diff.ts TARGET` with TARGET as in floor.ts (relays only).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { startTlsOrigins } from "../decrypt-memory.ts";

const root = new URL("../../../", import.meta.url).pathname;
const here = new URL("./", import.meta.url).pathname;
const bin = join(root, "node_modules/.bin");

function smaps(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let key = "";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const sizeMiB = (parseInt(head[2]!, 16) - parseInt(head[1]!, 16)) / 2 ** 20;
      key = `${head[1]} ${head[3]} ${sizeMiB.toFixed(1)}M ${head[4] || "[anon]"}`;
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (m) out.set(key, Number(m[1]));
  }
  return out;
}
const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

const target = process.argv[2] ?? "bun-relay";
const size = Number(process.argv[3] ?? "1024") * 2 ** 20;
const { makeTestPki } = await import("../../../test/e2e/support/certs.ts");
const pki = makeTestPki(["origin.test"]);
const origins = await startTlsOrigins(pki.certPem, pki.keyPem, [{ name: "origin" }]);
const oport = origins.ports["origin"]!;
const cmd = target === "bun-relay" ? [join(bin, "bun"), join(here, "bun-relay.ts"), String(oport)] : [join(bin, "deno"), "run", "-A", join(here, "deno-relay.ts"), String(oport), target === "deno-relay-loop" ? "loop" : "pipe"];
const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
const port = await new Promise<number>((resolve) => {
  let err = "";
  child.stderr!.on("data", (d) => {
    err += d;
    const m = /port=(\d+)/.exec(err);
    if (m) resolve(Number(m[1]));
  });
});
const curl = (n: number) =>
  new Promise<void>((resolve) => spawn("curl", ["-sS", "--connect-to", `origin.test:${oport}:127.0.0.1:${port}`, "--cacert", pki.caFile, "-o", "/dev/null", `https://origin.test:${oport}/bytes?size=${n}`]).on("exit", () => resolve()));
await curl(2 ** 20);
await new Promise((r) => setTimeout(r, 500));
const before = smaps(child.pid!);
let peak = before;
const timer = setInterval(() => {
  const s = smaps(child.pid!);
  if (total(s) > total(peak)) peak = s;
}, 100);
await curl(size);
clearInterval(timer);
console.log(`total Rss before ${(total(before) / 1024).toFixed(1)} MiB, peak ${(total(peak) / 1024).toFixed(1)} MiB`);
const rows = [...peak].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const).filter(([, d]) => Math.abs(d) >= 256).sort((a, b) => b[1] - a[1]);
for (const [k, d] of rows.slice(0, 15)) console.log(`${(d / 1024).toFixed(1).padStart(7)} MiB  ${k}${before.has(k) ? "" : "  (new mapping)"}`);
child.kill("SIGTERM");
await origins.close();
rmSync(pki.dir, { recursive: true, force: true });
