/**
 * Run by default-trust.test.ts in a fresh Deno process (Deno builds its default trust store
 * once per process, so each scenario needs its own): prints one JSON line of findings.
 *
 *   deno run -A default-trust-child.ts fresh|late <pki dir> <other pki dir>
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { Duplex } from "node:stream";
import { connect, createSecureContext, TLSSocket } from "node:tls";
import { DefaultTrust } from "../../../../src/runtime/deno/default-trust.ts";

/** An in-memory handshake: server with `dir`'s origin certificate, client with `ca`; the client's verification error or null. */
function handshake(dir: string, ca: string[] | undefined): Promise<string | null> {
  let a!: Duplex;
  let b!: Duplex;
  a = new Duplex({ read() {}, write: (c: Uint8Array, _e, cb) => (b.push(c), cb()) });
  b = new Duplex({ read() {}, write: (c: Uint8Array, _e, cb) => (a.push(c), cb()) });
  const cert = readFileSync(`${dir}/server.pem`, "utf8");
  const key = readFileSync(`${dir}/server.key`, "utf8");
  new TLSSocket(a, { isServer: true, secureContext: createSecureContext({ cert, key }) });
  const client = connect({ socket: b, servername: "origin.test", ca, rejectUnauthorized: false, checkServerIdentity: () => undefined });
  return new Promise((resolve, reject) => {
    client.once("error", reject);
    client.once("secureConnect", () => {
      const e: unknown = client.authorizationError;
      client.destroy();
      a.destroy();
      b.destroy();
      resolve(e === null || e === undefined ? null : String(e));
    });
  });
}

const [scenario, dir, otherDir] = Deno.args as [string, string, string];
const extra = readFileSync(`${dir}/ca.pem`, "utf8");
const other = readFileSync(`${otherDir}/ca.pem`, "utf8");
const envBefore = Deno.env.get("NODE_EXTRA_CA_CERTS") ?? null;
const trust = new DefaultTrust();
// "late": something builds the default store before prepare() can put the extras in it
const early = scenario === "late" ? await handshake(dir, undefined) : null;
await trust.prepare([extra]);
const caForExtra = trust.caFor([extra]);
console.log(JSON.stringify({
  state: trust.state.kind,
  early,
  envRestored: (Deno.env.get("NODE_EXTRA_CA_CERTS") ?? null) === envBefore,
  caForExtra: caForExtra === undefined ? "default store" : caForExtra.length,
  caForOther: trust.caFor([other])?.length ?? "default store",
  caForNone: trust.caFor([]) ?? "default store",
  extraVerifies: await handshake(dir, caForExtra),
  otherWithDefaultStore: await handshake(otherDir, undefined),
  otherWithItsCa: await handshake(otherDir, trust.caFor([other])),
}));
Deno.exit(0);
