/**
 * Does a paused `node:tls` socket over Deno's own `node:net` socket stop reading? (It does
 * not on Deno 2.9.6: the TLS layer reads on and buffers, which is why Tollgate runs
 * `node:tls` over its own Duplex on Deno; see src/runtime/deno/tls.ts.)
 *
 *   bun scripts/bench/memory/deno-tls-paused-read.ts
 *
 * A local Node TLS origin sends an endless body as fast as it can; a Deno client pauses its
 * TLS socket after 1 MiB and, 3 s later, prints how much its transport read meanwhile and its
 * RSS. A socket that honours pause() reads little more than the socket buffers hold.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { startTlsOrigins } from "../decrypt-memory.ts";
import { makeTestPki } from "../../../test/e2e/support/certs.ts";

const root = new URL("../../../", import.meta.url).pathname;
const CLIENT = `
import tls from "node:tls";
const [port, ca] = [Number(Deno.args[0]), Deno.args[1]];
const rss = () => (Deno.memoryUsage().rss / 2 ** 20).toFixed(1);
const s = tls.connect({ host: "127.0.0.1", port, servername: "origin.test", ca });
let got = 0;
let pausedAt = 0;
s.on("secureConnect", () => s.write("GET /bytes?size=" + 2 ** 40 + " HTTP/1.1\\r\\nHost: origin.test\\r\\n\\r\\n"));
s.on("data", (d) => {
  got += d.length;
  if (got > 2 ** 20 && !pausedAt) { s.pause(); pausedAt = s.bytesRead; console.log("paused after " + got + " bytes, RSS " + rss() + " MiB"); }
});
setTimeout(() => {
  console.log("3 s later: the transport read " + ((s.bytesRead - pausedAt) / 2 ** 20).toFixed(0) + " MiB more, RSS " + rss() + " MiB");
  Deno.exit(0);
}, 3000);
`;

const pki = makeTestPki(["origin.test"]);
const origins = await startTlsOrigins(pki.certPem, pki.keyPem, [{ name: "origin" }]);
try {
  const { readFileSync } = await import("node:fs");
  const child = spawn(join(root, "node_modules/.bin/deno"), ["eval", "--ext=ts", CLIENT, String(origins.ports["origin"]), readFileSync(pki.caFile, "utf8")], { stdio: ["ignore", "inherit", "inherit"] });
  const kill = setTimeout(() => child.kill("SIGKILL"), 20_000);
  await new Promise((r) => child.once("exit", r));
  clearTimeout(kill);
} finally {
  await origins.close();
  rmSync(pki.dir, { recursive: true, force: true });
}
