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
 * The very set given at start connects without `ca`; any other set (one a reload changed,
 * another part of the config's, every set when the store had already been built, and no
 * extra CA at all once the store holds some) gets the system roots and its own CAs in full:
 * slower, and never trusting a CA the connection was not given.
 *
 * @module
 */

import { Duplex } from "node:stream";
import { connect, createSecureContext, rootCertificates, TLSSocket } from "node:tls";
import { createLeafIssuer, decodePem, encodePem, generateCa, loadCa } from "../../pki/mod.ts";
import { caList } from "../node-tls/verify.ts";

/** The only name the probe CA may vouch for (RFC 6761: `.invalid` never resolves). */
const PROBE_NAME = "tollgate-trust-probe.invalid";

/** The certificates in `pem` in one canonical PEM form each (line breaks and comments aside). */
function certificates(pem: string): string[] {
  return decodePem(pem).filter((b) => b.label === "CERTIFICATE").map((b) => encodePem(b.der, "CERTIFICATE"));
}

/** No extra CA (one array, so the per-list caches hit). */
const NONE: readonly string[] = [];

/** Whether a bundle of configured CAs may have gone into this process's default store (it is one per process). */
let offered = false;

/** What `prepare` found; `covered` are the certificates (canonical PEM) the default store holds. */
export type TrustState =
  | { readonly kind: "unprepared" }
  | { readonly kind: "prepared"; readonly covered: ReadonlySet<string> }
  | { readonly kind: "unavailable"; readonly reason: string };

/** Deno's default `node:tls` trust store, extended once with the configured extra CAs. */
export class DefaultTrust {
  #state: TrustState = { kind: "unprepared" };
  #preparing: Promise<void> | undefined;
  /** Per extra-CA list (the config's arrays, the same for every connection): covered or not. */
  #covers = new WeakMap<readonly string[], boolean>();
  /** Per extra-CA list: whether the default store holds no configured CA outside it. */
  #within = new WeakMap<readonly string[], boolean>();

  get state(): TrustState {
    return this.#state;
  }

  /**
   * The `ca` option for an upstream connection trusting the system roots plus `extraCaPem`
   * and nothing else: undefined (the default store) when that holds exactly these, else the
   * full list.
   */
  caFor(extraCaPem: readonly string[] | undefined): string[] | undefined {
    const extra = extraCaPem ?? [];
    if (this.#state.kind !== "prepared") return caList(extra);
    return this.#isPrepared(extra) ? undefined : [...rootCertificates, ...extra];
  }

  /**
   * Whether a handshake on Deno's default store with `extraCaPem` added (Deno's own TLS, whose
   * `caCerts` add to that store) trusts the system roots plus `extraCaPem` and no other CA the
   * config named: true when no bundle was offered to the store, or the one it holds is within
   * `extraCaPem`. False, for instance, after a reload dropped a CA that the store was given at
   * start (the store keeps it for the process's life).
   */
  storeWithin(extraCaPem: readonly string[] | undefined): boolean {
    if (!offered) return true;
    const state = this.#state;
    if (state.kind !== "prepared") return false;
    const extra = extraCaPem ?? NONE;
    let within = this.#within.get(extra);
    if (within === undefined) {
      try {
        const certs = new Set(extra.flatMap(certificates));
        within = [...state.covered].every((c) => certs.has(c));
      } catch {
        within = false;
      }
      this.#within.set(extra, within);
    }
    return within;
  }

  /** True when `extraCaPem` holds just the certificates the default store was given. */
  #isPrepared(extraCaPem: readonly string[]): boolean {
    const state = this.#state;
    if (state.kind !== "prepared") return false;
    let same = this.#covers.get(extraCaPem);
    if (same === undefined) {
      try {
        const certs = new Set(extraCaPem.flatMap(certificates));
        same = certs.size === state.covered.size && [...certs].every((c) => state.covered.has(c));
      } catch {
        same = false; // not PEM we can read: node:tls gets it as it is
      }
      this.#covers.set(extraCaPem, same);
    }
    return same;
  }

  /** Builds the default store with `extraCaPem` in it (once per process; later calls wait for the first). */
  prepare(extraCaPem: readonly string[]): Promise<void> {
    this.#preparing ??= this.#prepare(extraCaPem).catch((e: unknown) => {
      this.#state = { kind: "unavailable", reason: e instanceof Error ? e.message : String(e) };
    });
    return this.#preparing;
  }

  async #prepare(extraCaPem: readonly string[]): Promise<void> {
    const certs = new Set(extraCaPem.flatMap(certificates));
    if (certs.size === 0) {
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
      offered = true;
      Deno.env.set("NODE_EXTRA_CA_CERTS", bundle);
      const error = await verifyInMemory(probeLeaf.chainPem, probeLeaf.keyPem, PROBE_NAME, undefined);
      if (error !== null) {
        this.#state = { kind: "unavailable", reason: `the default trust store does not hold the configured CAs (${error}); each upstream handshake gets them in full` };
        return;
      }
      this.#state = { kind: "prepared", covered: certs };
    } finally {
      if (previous === undefined) Deno.env.delete("NODE_EXTRA_CA_CERTS");
      else Deno.env.set("NODE_EXTRA_CA_CERTS", previous);
      await Deno.remove(bundle).catch(() => {});
    }
  }
}

/**
 * One TLS handshake in memory: a server with `chainPem`/`keyPem`, a client for `servername`
 * with `ca` (undefined: Deno's default trust store). Resolves to the client's verification
 * error, null when the chain verified (the name is not checked).
 */
export function verifyInMemory(chainPem: string, keyPem: string, servername: string, ca: string[] | undefined): Promise<string | null> {
  // each pushes what the other writes: declared together, each used only once both exist
  const toServer: Duplex = new Duplex({ read() {}, write: (c: Uint8Array, _e, cb) => (toClient.push(c), cb()) });
  const toClient: Duplex = new Duplex({ read() {}, write: (c: Uint8Array, _e, cb) => (toServer.push(c), cb()) });
  const server = new TLSSocket(toServer, { isServer: true, secureContext: createSecureContext({ cert: chainPem, key: keyPem }) });
  const client = connect({ socket: toClient, servername, ca, rejectUnauthorized: false, checkServerIdentity: () => undefined });
  const done = () => {
    client.destroy();
    server.destroy();
    toServer.destroy();
    toClient.destroy();
  };
  return new Promise<string | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      done();
      reject(new Error("in-memory TLS handshake timed out"));
    }, 5000);
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
