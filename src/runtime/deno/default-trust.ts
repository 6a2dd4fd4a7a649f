/**
 * Upstream trust on Deno without a root store built per connection.
 *
 * To trust the system roots *and* configured extra CAs, `node:tls` must be given all of
 * them in `ca` (`caList`), and Deno's `node:tls` then parses the ~150 root PEMs into a new
 * store for every handshake: ~10 ms of CPU per upstream connection, and RSS that climbs
 * with connection churn. Without `ca`, it uses its default store, built once per process on
 * first use and kept, which includes the file named by `NODE_EXTRA_CA_CERTS` as it is at that
 * moment.
 *
 * So, before the first upstream connection, {@linkcode DefaultTrust.prepare} points
 * `NODE_EXTRA_CA_CERTS` at a bundle of the extra CAs the config names (plus the file the
 * variable already named, if any) and makes Deno build its default store with it. It proves
 * the store holds the bundle with a handshake in memory against a throwaway probe CA that is
 * in the bundle: name-constrained to `PROBE_NAME` (a `.invalid` name that never resolves),
 * its key dropped right after. Then the variable and the file are put back as they were.
 * Extra CA sets covered by the prepared store connect without `ca`; any other set (a reload
 * naming new files, a store that had already been built) still gets the full list: slower,
 * never less strict.
 *
 * @module
 */

import { Duplex } from "node:stream";
import { connect, createSecureContext, TLSSocket } from "node:tls";
import { createLeafIssuer, generateCa, loadCa } from "../../pki/mod.ts";
import { caList } from "../node-tls/verify.ts";

/** The only name the probe CA may vouch for (RFC 6761: `.invalid` never resolves). */
export const PROBE_NAME = "tollgate-trust-probe.invalid";

/** The base64 bodies of the certificates in `pem`, whitespace removed. */
function certificateBodies(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) => m[1]!.replace(/\s+/g, ""));
}

/** What `prepare` found; `covered` are the certificate bodies the default store holds. */
export type TrustState =
  | { readonly kind: "unprepared" }
  | { readonly kind: "prepared"; readonly covered: ReadonlySet<string> }
  | { readonly kind: "unavailable"; readonly reason: string };

/** Deno's default `node:tls` trust store, extended once with the configured extra CAs. */
export class DefaultTrust {
  #state: TrustState = { kind: "unprepared" };
  #preparing: Promise<void> | undefined;

  get state(): TrustState {
    return this.#state;
  }

  /**
   * The `ca` option for an upstream connection trusting the system roots plus `extraCaPem`:
   * undefined (the default store) when that already holds them, else the full list.
   */
  caFor(extraCaPem: readonly string[] | undefined): string[] | undefined {
    if (!extraCaPem || extraCaPem.length === 0) return undefined;
    const state = this.#state;
    if (state.kind === "prepared") {
      const bodies = extraCaPem.flatMap(certificateBodies);
      if (bodies.length > 0 && bodies.every((b) => state.covered.has(b))) return undefined;
    }
    return caList(extraCaPem);
  }

  /** Builds the default store with `extraCaPem` in it (once per process; later calls wait for the first). */
  prepare(extraCaPem: readonly string[]): Promise<void> {
    this.#preparing ??= this.#prepare(extraCaPem).catch((e: unknown) => {
      this.#state = { kind: "unavailable", reason: e instanceof Error ? e.message : String(e) };
    });
    return this.#preparing;
  }

  async #prepare(extraCaPem: readonly string[]): Promise<void> {
    const bodies = new Set(extraCaPem.flatMap(certificateBodies));
    if (bodies.size === 0) {
      this.#state = { kind: "unavailable", reason: "no extra CAs configured at start" };
      return;
    }
    const probeCa = await generateCa({ commonName: "Tollgate trust probe (discarded)", validityDays: 1, nameConstraints: { permitted: [PROBE_NAME] } });
    const probeLeaf = await createLeafIssuer(await loadCa(probeCa), { validityDays: 1 }).issue([PROBE_NAME]);
    const previous = Deno.env.get("NODE_EXTRA_CA_CERTS");
    const inherited = previous ? await Deno.readTextFile(previous) : "";
    // mode 0600, a fresh random name: nobody else can slip a CA in before Deno reads it
    const bundle = await Deno.makeTempFile({ prefix: "tollgate-trust-", suffix: ".pem" });
    try {
      await Deno.writeTextFile(bundle, [inherited, ...extraCaPem, probeCa.certPem].join("\n"));
      Deno.env.set("NODE_EXTRA_CA_CERTS", bundle);
      const error = await probeHandshake(probeLeaf.chainPem, probeLeaf.keyPem);
      if (error !== null) {
        this.#state = { kind: "unavailable", reason: `the default trust store does not hold the configured CAs (${error}); each upstream handshake gets them in full` };
        return;
      }
      this.#state = { kind: "prepared", covered: bodies };
    } finally {
      if (previous === undefined) Deno.env.delete("NODE_EXTRA_CA_CERTS");
      else Deno.env.set("NODE_EXTRA_CA_CERTS", previous);
      await Deno.remove(bundle).catch(() => {});
    }
  }
}

/**
 * One TLS handshake in memory: a server with `chainPem`/`keyPem` for `PROBE_NAME`, a client
 * with Deno's default trust store. Resolves to the client's verification error, null when
 * the chain verified.
 */
function probeHandshake(chainPem: string, keyPem: string): Promise<string | null> {
  let toServer!: Duplex;
  let toClient!: Duplex;
  toServer = new Duplex({ read() {}, write: (c: Uint8Array, _e, cb) => (toClient.push(c), cb()) });
  toClient = new Duplex({ read() {}, write: (c: Uint8Array, _e, cb) => (toServer.push(c), cb()) });
  const server = new TLSSocket(toServer, { isServer: true, secureContext: createSecureContext({ cert: chainPem, key: keyPem }) });
  const client = connect({ socket: toClient, servername: PROBE_NAME, rejectUnauthorized: false, checkServerIdentity: () => undefined });
  const done = () => {
    client.destroy();
    server.destroy();
    toServer.destroy();
    toClient.destroy();
  };
  return new Promise<string | null>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("trust probe handshake timed out")), 5000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      done();
      reject(e);
    };
    client.once("error", fail);
    server.once("error", fail);
    client.once("secureConnect", () => {
      clearTimeout(timer);
      const e: unknown = client.authorizationError;
      done();
      resolve(e === null || e === undefined ? null : String(e));
    });
  });
}
