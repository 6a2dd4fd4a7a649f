/**
 * Run by default-trust.test.ts in a fresh Deno process (Deno builds its default trust store
 * once per process, so each scenario needs its own): prints one JSON line of findings.
 *
 *   deno run -A default-trust-child.ts fresh|late <pki dir> <other pki dir>
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { DefaultTrust, verifyInMemory } from "../../../../src/runtime/deno/default-trust.ts";

/** An in-memory handshake against `dir`'s origin certificate with `ca`: the client's verification error or null. */
const handshake = (dir: string, ca: string[] | undefined) =>
  verifyInMemory(readFileSync(`${dir}/server.pem`, "utf8"), readFileSync(`${dir}/server.key`, "utf8"), "origin.test", ca);

/** The same with Deno's own TLS (`Deno.startTls`), `caCerts` added to the default store: the error message or null. */
async function nativeHandshake(dir: string, caCerts: string[]): Promise<string | null> {
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: readFileSync(`${dir}/server.pem`, "utf8"), key: readFileSync(`${dir}/server.key`, "utf8") });
  const serving = listener.accept().then((c) => c.handshake().finally(() => c.close())).catch(() => {});
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const tls = await Deno.startTls(tcp, { hostname: "origin.test", caCerts });
  try {
    await tls.handshake();
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    tls.close();
    await serving;
    listener.close();
  }
}

const [scenario, dir, otherDir] = Deno.args as [string, string, string];
const extra = readFileSync(`${dir}/ca.pem`, "utf8");
const other = readFileSync(`${otherDir}/ca.pem`, "utf8");
const envBefore = Deno.env.get("NODE_EXTRA_CA_CERTS") ?? null;
const trust = new DefaultTrust();
const withinBefore = trust.storeWithin([]);
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
  caForNone: trust.caFor([])?.length ?? "default store",
  caForReformatted: trust.caFor([`# the same CA, other line ends\r\n${extra.replace(/\n/g, "\r\n")}`])?.length ?? "default store",
  caForExtraAndOther: trust.caFor([extra, other])?.length ?? "default store",
  extraVerifies: await handshake(dir, caForExtra),
  otherWithDefaultStore: await handshake(otherDir, undefined),
  otherWithItsCa: await handshake(otherDir, trust.caFor([other])),
  extraWithNone: await handshake(dir, trust.caFor([])),
  withinBefore,
  withinExtra: trust.storeWithin([extra]),
  withinNone: trust.storeWithin([]),
  withinOther: trust.storeWithin([other]),
  withinExtraAndOther: trust.storeWithin([extra, other]),
  withinAnotherTrust: new DefaultTrust().storeWithin([]),
  nativeExtraWithNone: await nativeHandshake(dir, []),
  nativeOtherWithItsCa: await nativeHandshake(otherDir, [other]),
}));
Deno.exit(0);
