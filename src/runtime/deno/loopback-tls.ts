/**
 * Server-side TLS on Deno's own TLS (rustls in Rust, no JavaScript TLS layer), for a
 * connection that is already open: the client's bytes go through a loopback TCP hop into a
 * `Deno.listenTls` listener whose certificate is chosen per server name.
 *
 * Why (config `deno.ownTls`, off by default): Deno's `node:tls` (`accept.ts`) made garbage
 * per TLS record that raised RSS by ~55 MiB on a first 1 GiB decrypted body; with both sides
 * on Deno's own TLS it was ~25, later ~14. Since enc-out.ts, `node:tls` is at ~14 as well
 * (docs/hardening-measurements.md). Deno's TLS has no server
 * side for an open connection, hence the hop. The certificate comes from the listener's
 * server-name resolver (Deno's internal `Symbol.for("unstableSniResolver")` option, which
 * Deno calls once per name and caches, a refusal included): a listener serves a name only
 * while the name keeps the certificate it was given and was not refused there first, up to
 * 4 listeners per ALPN list; a listener that has answered 512 names retires, and so does
 * the oldest when a fifth is needed. A retired listener closes when its last handshake is
 * done (its sessions go on).
 *
 * Only the plain case takes this path: a ClientHello with a server name, TLS 1.3 offered
 * when 1.3 is the minimum, an ALPN offer we can meet, no client certificate asked for.
 * Everything else (and a Deno without the resolver, or a hop that cannot be made) resolves
 * with the bytes read, and the caller uses `node:tls`, which answers the odd cases as before
 * (alerts, errors).
 *
 * @module
 */

import type { Conn } from "../../core/conn.ts";
import type { TlsAcceptOptions, TlsSession } from "../../core/tls.ts";
import { raceSignal } from "../../dns/abort.ts";
import { type ClientHello, ClientHelloError, ClientHelloReader } from "../../protocol/client-hello.ts";
import { type Hop, HopListener, quietClose, splice, writeAll } from "./loopback-hop.ts";
import { DenoTcpConn, tcpSocketOf } from "./tcp-conn.ts";

const RESOLVER = Symbol.for("unstableSniResolver");
const TLS13 = 0x0304;
const TLS12 = 0x0303;
/** Names one listener answers before a new one takes over (Deno caches an entry per name asked for). */
const NAMES_PER_LISTENER = 512;
/** Listeners per ALPN list in use at once (a name served two certificates in turn needs two). */
const LISTENERS_PER_ALPN = 4;
/** Plaintext reads: one TLS record (16 KiB at most) per read. */
const RECORD = 16 * 1024;

interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

/** One `Deno.listenTls` listener and what it was told. */
class Generation {
  readonly hop: HopListener<Deno.TlsConn>;
  readonly names = new Map<string, KeyPair>();
  /**
   * Names the resolver was asked for and had nothing for (a stray client's handshake, see
   * loopback-hop.ts): Deno 2.9 caches that answer too, so such a name is never served here.
   */
  readonly missed = new Set<string>();
  inFlight = 0;
  retired = false;

  constructor(alpn: readonly string[]) {
    const options = {
      hostname: "127.0.0.1",
      port: 0,
      transport: "tcp",
      alpnProtocols: [...alpn],
      [RESOLVER]: (asked: string) => {
        const name = asked.toLowerCase();
        const pair = this.names.get(name);
        if (pair) return pair;
        this.missed.add(name);
        // Deno keeps an entry for every name asked for: a listener asked for too many retires
        if (this.names.size + this.missed.size >= NAMES_PER_LISTENER) this.retire();
        throw new Error(`no certificate for "${asked}"`);
      },
    };
    this.hop = new HopListener(Deno.listenTls(options as unknown as Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem));
  }

  /** Whether `name` can be served `pair` here. */
  fits(name: string, pair: KeyPair): boolean {
    if (this.retired || this.missed.has(name)) return false;
    const had = this.names.get(name);
    if (had) return had.cert === pair.cert && had.key === pair.key;
    return this.names.size + this.missed.size < NAMES_PER_LISTENER;
  }

  done(): void {
    this.inFlight--;
    this.#closeIfIdle();
  }

  retire(): void {
    this.retired = true;
    this.#closeIfIdle();
  }

  #closeIfIdle(): void {
    if (this.retired && this.inFlight === 0) this.hop.close();
  }
}

/** Once `Deno.listenTls` refused the server-name resolver option (a Deno without it). */
let unsupported = false;

/** The listeners in use per ALPN list, oldest first. */
const current = new Map<string, Generation[]>();

/** The ports of the listeners in use (for tests: a stray client's view of them). */
export function loopbackListenerPorts(): number[] {
  return [...current.values()].flat().filter((g) => !g.retired).map((g) => g.hop.port);
}

/** A listener that serves `name` with `pair`: one in use when one fits, else a new one. */
function generationFor(alpn: readonly string[], name: string, pair: KeyPair): Generation {
  const key = alpn.join("\n");
  const list = (current.get(key) ?? []).filter((g) => !g.retired);
  let generation = list.find((g) => g.fits(name, pair));
  if (!generation) {
    generation = new Generation(alpn);
    list.push(generation);
    if (list.length > LISTENERS_PER_ALPN) list.shift()!.retire();
  }
  current.set(key, list);
  generation.names.set(name, pair);
  return generation;
}

/** Whether the plain path can answer this ClientHello as `node:tls` would. */
function plain(hello: ClientHello, options: TlsAcceptOptions): boolean {
  if (hello.sni === undefined || hello.sniIsIp || hello.ech) return false;
  const versions = hello.supportedVersions.length > 0 ? hello.supportedVersions : [hello.legacyVersion];
  if (!versions.includes(TLS13) && (options.minVersion === "TLSv1.3" || !versions.includes(TLS12))) return false;
  if (hello.alpn.length > 0 && !options.alpn.some((p) => hello.alpn.includes(p))) return false;
  return true;
}

/**
 * Reads the ClientHello off `conn`: `hello` undefined when the bytes are not one or the client
 * stopped before it was whole (the `node:tls` path reports either). Aborting `signal` closes
 * `conn` and rejects with its reason.
 */
async function readHello(conn: Conn, initial: Uint8Array | undefined, signal: AbortSignal | undefined): Promise<{ hello: ClientHello | undefined; bytes: Uint8Array }> {
  const reader = new ClientHelloReader();
  try {
    if (initial && initial.byteLength > 0 && reader.push(initial)) return { hello: reader.hello, bytes: reader.bytes() };
    signal?.throwIfAborted();
    const input = conn.readable.getReader();
    const onAbort = () => void input.cancel().catch(() => {});
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        const { value, done } = await input.read();
        signal?.throwIfAborted();
        if (done || reader.push(value)) break;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      input.releaseLock();
    }
  } catch (e) {
    if (signal?.aborted) {
      conn.close();
      throw signal.reason;
    }
    if (!(e instanceof ClientHelloError)) throw e;
  }
  return { hello: reader.hello, bytes: reader.bytes() };
}

export interface LoopbackAccept {
  /** The session, or `undefined` with the bytes read so far when `node:tls` should answer. */
  readonly session?: TlsSession;
  readonly initialData?: Uint8Array;
}

/**
 * TLS server side on `conn` through Deno's own TLS when the ClientHello allows it (see the
 * module comment); otherwise resolves with the bytes it read, for `node:tls` to go on with.
 */
export async function acceptLoopbackTls(conn: Conn, options: TlsAcceptOptions): Promise<LoopbackAccept> {
  const socket = tcpSocketOf(conn);
  if (!socket || unsupported || options.requestClientCertificate) return { initialData: options.initialData };
  let read: { hello: ClientHello | undefined; bytes: Uint8Array };
  try {
    read = await readHello(conn, options.initialData, options.signal);
  } catch (e) {
    if (options.signal?.aborted) throw e;
    conn.close();
    throw new Error(`TLS handshake with client ${conn.remote.address} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const { hello, bytes } = read;
  if (!hello || !plain(hello, options)) return { initialData: bytes };
  const name = hello.sni!;
  const pair = { cert: options.certChainPem, key: options.keyPem };
  let generation: Generation;
  try {
    generation = generationFor(options.alpn, name, pair);
  } catch (e) {
    // a Deno without the resolver option wants a certificate of its own and says so with a
    // TypeError (2.9.6: "A key and certificate are required"); anything else (out of
    // descriptors) is this connection's problem only
    if (e instanceof TypeError) unsupported = true;
    return { initialData: bytes };
  }
  generation.inFlight++;
  const signal = options.signal;
  let made: Hop<Deno.TlsConn> | undefined;
  try {
    made = await generation.hop.dial(signal);
    await writeAll(made.dialled, bytes);
  } catch (e) {
    // nothing reached the client yet: node:tls answers it; the listener may be broken, so
    // the next handshake gets a new one
    quietClose(made?.dialled);
    made?.forget();
    generation.retire();
    generation.done();
    if (!signal?.aborted) return { initialData: bytes };
    conn.close();
    throw e;
  }
  const hop = made;
  let tls: Deno.TlsConn | undefined;
  const teardown = () => {
    quietClose(hop.dialled);
    quietClose(tls);
    conn.close();
  };
  // the abort ends the waits at once (raceSignal) and closes what is open
  signal?.addEventListener("abort", teardown, { once: true });
  try {
    signal?.throwIfAborted();
    const relay = splice(socket, hop.dialled);
    tls = await raceSignal(hop.accepted, signal);
    const handshake = await raceSignal(tls.handshake(), signal);
    // rustls answers 1.3 to a client that offers it
    const version = hello.supportedVersions.includes(TLS13) ? "TLSv1.3" : "TLSv1.2";
    const plainConn = new DenoTcpConn(tls, { remote: conn.remote, local: conn.local, readSize: RECORD, onClose: (flush) => (flush ? relay.flush() : relay.abort()) });
    return { session: { conn: plainConn, alpn: handshake.alpnProtocol ?? null, version, servername: name } };
  } catch (e) {
    teardown();
    hop.forget();
    if (signal?.aborted) throw signal.reason;
    throw new Error(`TLS handshake with client ${conn.remote.address} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  } finally {
    signal?.removeEventListener("abort", teardown);
    generation.done();
  }
}
