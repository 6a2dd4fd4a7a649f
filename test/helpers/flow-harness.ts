/**
 * Test harness for flows over in-memory connections: a FlowContext whose runtime dials
 * in-memory "origins" registered per address:port, a static-only resolver, a compiled
 * policy and a flow log collecting records; plus `Peer`, a byte-level client/server helper.
 */
import type { BlockPage } from "../../src/block/block-page.ts";
import type { Conn } from "../../src/core/conn.ts";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import type { DialOptions } from "../../src/core/runtime.ts";
import { createResolver } from "../../src/dns/resolver.ts";
import type { FlowContext, FlowLimits } from "../../src/flows/context.ts";
import type { Drain } from "../../src/flows/drain.ts";
import type { ProxyAuth } from "../../src/auth/proxy-auth.ts";
import type { ParentProxy } from "../../src/parent/tunnel.ts";
import { UpstreamPool, type UpstreamPoolOptions } from "../../src/flows/upstream-pool.ts";
import type { UpstreamTlsInfo } from "../../src/flows/upstream-tls.ts";
import { handleExplicit, handleTransparentHttp } from "../../src/flows/explicit.ts";
import { handleSocks5 } from "../../src/flows/socks5.ts";
import { handleTransparent, type TransparentSettings } from "../../src/flows/transparent.ts";
import { admitRelayed } from "../../src/flows/proxy-protocol.ts";
import { parseCidr } from "../../src/core/ip.ts";
import type {
  TlsAcceptOptions,
  TlsCapability,
  TlsClientSession,
  TlsConnectOptions,
  TlsSession,
  TlsVersion,
} from "../../src/core/tls.ts";
import type { FlowRecord, RequestRecord } from "../../src/log/flow-record.ts";
import { compilePolicy } from "../../src/policy/compile.ts";
import type { PolicyDefinition, UrlRuleDefinition } from "../../src/policy/types.ts";
import type { AddressGuard } from "../../src/policy/address-guard.ts";
import { compileUrlRules } from "../../src/policy/url-rules.ts";
import type { LiveFlows } from "../../src/flows/live-flows.ts";
import { TrustList } from "../../src/reverse/forwarded.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Static host map used by every harness (plus `HarnessOptions.hosts`, which take precedence). */
export const HOSTS: Readonly<Record<string, readonly string[]>> = {
  "origin.test": ["10.0.0.1"],
  "other.test": ["10.0.0.2"],
  "evil.test": ["10.0.0.66"],
  "multi.test": ["10.0.0.3", "10.0.0.4"],
  "slow.test": ["10.0.0.9"],
};

/** Default policy: evil.test denied, everything under .test and the loopback literals allowed; all logged. */
export const POLICY: PolicyDefinition = {
  defaultAction: "deny",
  defaultLog: true,
  rules: [
    { id: "block-evil", hosts: ["evil.test"], action: "deny", log: true },
    { id: "allow-test", hosts: [".test"], action: "allow", log: true },
    { id: "allow-loopback", hosts: ["127.0.0.1", "::1"], action: "allow", log: true },
  ],
};

/**
 * For interception tests: origin.test, multi.test and ::1 decrypted with upstream validation,
 * other.test decrypted without it, the rest of .test relayed blind; all logged.
 */
export const DECRYPT_POLICY: PolicyDefinition = {
  defaultAction: "deny",
  defaultLog: true,
  rules: [
    { id: "inspect", hosts: ["origin.test", "multi.test", "::1"], action: "allow", decryption: "decrypt", log: true },
    { id: "lab-insecure", hosts: ["other.test"], action: "allow", decryption: "decrypt", upstreamTls: "insecure", log: true },
    { id: "allow-test", hosts: [".test"], action: "allow", log: true },
  ],
};

/** Generous limits: timeout tests override the ones they exercise. */
export const LIMITS: FlowLimits = {
  maxHeadBytes: 4096,
  maxHeaders: 50,
  headerTimeoutMs: 2000,
  connectTimeoutMs: 2000,
  idleTimeoutMs: 0,
};

/** Settings of `FlowHarness.transparentClient()` unless overridden: the config defaults, port 443. */
export const TRANSPARENT: TransparentSettings = {
  upstreamPort: 443,
  noSni: "deny",
  ech: "policy",
  maxClientHelloBytes: 16384,
  maxClientHelloRecords: 16,
};

/** The exact answer to an established CONNECT. */
export const ESTABLISHED = "HTTP/1.1 200 Connection Established\r\n\r\n";

export interface HarnessOptions {
  readonly limits?: Partial<FlowLimits>;
  /** The gateway's shutdown, as the flows see it. */
  readonly drain?: Drain;
  /** Proxy authentication of the explicit listener. */
  readonly proxyAuth?: ProxyAuth;
  readonly policy?: PolicyDefinition;
  /** Extra static host entries, merged over {@link HOSTS}. */
  readonly hosts?: Readonly<Record<string, readonly string[]>>;
  /** The "system" lookup behind the static map (default: rejects), and its timeout (default 1000 ms). */
  readonly lookup?: (name: string) => Promise<string[]>;
  readonly dnsTimeoutMs?: number;
  /** Queue size of every in-memory connection (default 64 KiB). */
  readonly highWaterMark?: number;
  /** How long `finish()` waits for flows and origins before failing the test (default 2000 ms). */
  readonly finishTimeoutMs?: number;
  /**
   * `finish()` checks that every flow released its client connection: called `close()`,
   * cancelled the readable or read it to its end (default true).
   */
  readonly checkRelease?: boolean;
  /**
   * Gives the context an `interception` built from fakes and a {@link FakeTls} as the
   * runtime's TLS (see `FlowHarness.tls`). Without it there is no interception and TLS rejects.
   */
  readonly interception?: FakeInterceptionOptions;
  /** Parent proxies the policy's `parent` names refer to. */
  readonly parents?: readonly ParentProxy[];
  /** What denied requests are answered with (default: none in the context, i.e. the built-in page). */
  readonly blockPage?: BlockPage;
  /** URL rules (also taken from `interception.urlRules`, for decrypting tests). */
  readonly urlRules?: readonly UrlRuleDefinition[];
  /** Open flows to watch (the gateway's recheck registry); default none. */
  readonly liveFlows?: LiveFlows;
  /** Tunnel slots (`limits.maxTunnels`); default none (no limit). */
  readonly tunnels?: FlowContext["tunnels"];
  /** The address guard (`createAddressGuard()`); default none (every address may be dialled). */
  readonly addressGuard?: AddressGuard;
}

/** The interception settings of a harness with fake TLS (defaults: TLSv1.2 both sides, no mirroring, no url rules). */
export interface FakeInterceptionOptions {
  readonly urlRules?: readonly UrlRuleDefinition[];
  readonly clientMinVersion?: TlsVersion;
  readonly upstreamMinVersion?: TlsVersion;
  readonly mirrorUpstreamSans?: boolean;
  readonly extraCaPem?: readonly string[];
  /** Keep idle upstream connections for reuse (default: none kept). */
  readonly upstreamPool?: UpstreamPoolOptions;
  /** What the fake `certificateNames` finds in any upstream certificate (default none). */
  readonly upstreamSans?: readonly string[];
  /** Mints the leaves instead of the fake (e.g. a real leaf cache); calls are still recorded. */
  readonly leaf?: NonNullable<FlowContext["interception"]>["leaf"];
}

/** What an origin handler gets: the origin's end of the dialed connection. */
export type OriginHandler = (peer: Peer) => void | Promise<void>;

type Target = { readonly kind: "origin"; readonly handler: OriginHandler } | { readonly kind: "hang"; readonly honourSignal: boolean };

/** The harness has no TLS: explicit flows without decryption never use it. */
const NO_TLS: TlsCapability = {
  accept: () => Promise.reject(new Error("No TLS in the flow harness")),
  connect: () => Promise.reject(new Error("No TLS in the flow harness")),
};

/** What the fake TLS and the fake leaf issuer were asked, in order (`events` interleaves them). */
export class FakeTls implements TlsCapability {
  /** Options of every `connect()` call (without `signal`), in call order. */
  readonly connects: Omit<TlsConnectOptions, "signal">[] = [];
  /** Options of every `accept()` call (without `signal`; `initialData` as text), in call order. */
  readonly accepts: (Omit<TlsAcceptOptions, "signal" | "initialData"> & { readonly initialData: string })[] = [];
  /** The exact `initialData` bytes of every `accept()` call (a copy; empty when none), in call order. */
  readonly acceptedBytes: Uint8Array[] = [];
  /** Every `leaf()` call of the fake interception context. */
  readonly leaves: { readonly host: string; readonly sans: readonly string[] | undefined }[] = [];
  /** "connect <servername>", "connected <servername>", "leaf <host>", "accept", in the order they happened. */
  readonly events: string[] = [];
  /**
   * Runs before the fake dials (after `connect` was recorded): throw (e.g. a TlsValidationError)
   * to fail the handshake, or await to hold it.
   */
  beforeConnect: ((options: TlsConnectOptions) => void | Promise<void>) | undefined;
  /** The certificate (DER) a client "presents" when `accept()` asks for one; null: none. */
  clientCertificateDer: Uint8Array | null = null;
  readonly #dial: (o: DialOptions) => Promise<Conn>;

  constructor(dial: (o: DialOptions) => Promise<Conn>) {
    this.#dial = dial;
  }

  /** "Handshakes" by dialing the in-memory origin: the session's conn is the plaintext stream itself. */
  async connect(options: TlsConnectOptions): Promise<TlsClientSession> {
    const { signal, ...recorded } = options;
    this.connects.push(recorded);
    this.events.push(`connect ${options.servername}`);
    await this.beforeConnect?.(options);
    // over a tunnel (a parent proxy's) the plaintext is the tunnel itself
    const conn = options.over ?? await this.#dial({ address: options.address, port: options.port, ...(signal ? { signal } : {}) });
    this.events.push(`connected ${options.servername}`);
    return {
      conn,
      alpn: "http/1.1",
      version: "TLSv1.3",
      servername: options.servername,
      peerCertificateDer: enc.encode(`fake certificate for ${options.servername}`),
    };
  }

  /**
   * "Handshakes" instantly: the session's conn is `conn` itself (plaintext), `initialData`
   * first. Whole TLS handshake records (content type 22) at the start of `initialData` are
   * the handshake a real TLS server would consume (a transparent listener's ClientHello):
   * they are not replayed as plaintext.
   */
  accept(conn: Conn, options: TlsAcceptOptions): Promise<TlsSession> {
    const { signal: _signal, initialData, ...recorded } = options;
    const data = initialData ?? new Uint8Array(0);
    this.accepts.push({ ...recorded, initialData: dec.decode(data) });
    this.acceptedBytes.push(data.slice());
    this.events.push("accept");
    const plaintext = data.subarray(handshakeRecordsLength(data));
    const asked = options.requestClientCertificate !== undefined;
    return Promise.resolve({
      conn: new PrefixedConn(conn, plaintext),
      alpn: "http/1.1",
      version: "TLSv1.3",
      servername: null,
      ...(asked ? { peerCertificateDer: this.clientCertificateDer } : {}),
    });
  }
}

/** Length of the whole TLS handshake records (5-byte header, content type 22) that `data` starts with. */
function handshakeRecordsLength(data: Uint8Array): number {
  let at = 0;
  while (data[at] === 22 && at + 5 <= data.byteLength) {
    const end = at + 5 + (((data[at + 3] ?? 0) << 8) | (data[at + 4] ?? 0));
    if (end > data.byteLength) break;
    at = end;
  }
  return at;
}

/** A fake leaf issuer, url policy and certificate-name reader around `tls`. */
function fakeInterception(tls: FakeTls, o: FakeInterceptionOptions): NonNullable<FlowContext["interception"]> {
  return {
    leaf: (host, sans) => {
      tls.leaves.push({ host, sans: sans === undefined ? undefined : [...sans] });
      tls.events.push(`leaf ${host}`);
      if (o.leaf) return o.leaf(host, sans);
      return Promise.resolve({ chainPem: `FAKE CHAIN for ${host}`, keyPem: "FAKE KEY" });
    },
    extraCaPem: o.extraCaPem ?? [],
    clientMinVersion: o.clientMinVersion ?? "TLSv1.2",
    upstreamMinVersion: o.upstreamMinVersion ?? "TLSv1.2",
    mirrorUpstreamSans: o.mirrorUpstreamSans ?? false,
    certificateNames: () => Promise.resolve([...(o.upstreamSans ?? [])]),
    ...(o.upstreamPool ? { upstreamPool: new UpstreamPool<UpstreamTlsInfo>(o.upstreamPool) } : {}),
  };
}

/** `inner` with `prefix` read first: what a TLS session over `inner` would yield, without TLS. */
class PrefixedConn implements Conn {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly remote: Conn["remote"];
  readonly local: Conn["local"];
  readonly #inner: Conn;

  constructor(inner: Conn, prefix: Uint8Array | undefined) {
    this.#inner = inner;
    this.writable = inner.writable;
    this.remote = inner.remote;
    this.local = inner.local;
    const reader = inner.readable.getReader();
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          if (prefix && prefix.byteLength > 0) controller.enqueue(prefix.slice());
        },
        pull: async (controller) => {
          const r = await reader.read();
          if (r.done) controller.close();
          else controller.enqueue(r.value);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  }

  close(): void {
    this.#inner.close();
  }
}

/** A dial refused like a closed port. */
export class ConnRefusedError extends Error {
  override name = "ConnRefusedError";
  readonly code = "ECONNREFUSED";
}

/** A FlowContext over in-memory connections, recording what happened. */
export class FlowHarness {
  readonly ctx: FlowContext;
  /** Flow lines, in the order written. */
  readonly records: FlowRecord[] = [];
  /** Request lines (decrypted connections only). */
  readonly requestRecords: RequestRecord[] = [];
  readonly dials: DialOptions[] = [];
  /** Errors thrown by origin handlers (checked by `finish()`). */
  readonly originErrors: unknown[] = [];
  /** The fake TLS capability and leaf issuer (present with `HarnessOptions.interception`). */
  readonly tls: FakeTls;
  readonly #targets = new Map<string, Target>();
  readonly #running: Promise<unknown>[] = [];
  readonly #conns: Conn[] = [];
  readonly #clients: TrackedConn[] = [];
  readonly #checkRelease: boolean;
  readonly #hwm: number | undefined;
  readonly #finishTimeoutMs: number;
  #clientPort = 50000;

  constructor(options: HarnessOptions = {}) {
    this.#hwm = options.highWaterMark;
    this.#finishTimeoutMs = options.finishTimeoutMs ?? 2000;
    this.#checkRelease = options.checkRelease ?? true;
    const policy = compilePolicy(options.policy ?? POLICY);
    const resolver = createResolver(
      { hosts: { ...HOSTS, ...options.hosts }, cacheSize: 100, ttlSeconds: 30, negativeTtlSeconds: 5, timeoutMs: options.dnsTimeoutMs ?? 1000, servers: [], transport: "udp" },
      options.lookup ?? ((name) => Promise.reject(new Error(`No system lookup in tests (asked for "${name}")`))),
    );
    this.tls = new FakeTls((o) => this.#dial(o));
    const runtime: FlowContext["runtime"] = { dial: (o) => this.#dial(o), tls: options.interception ? this.tls : NO_TLS };
    const ic = options.interception;
    const rules = options.urlRules ?? ic?.urlRules;
    const urlRules = rules ? compileUrlRules(rules) : undefined;
    this.ctx = {
      ...(ic ? { interception: fakeInterception(this.tls, ic) } : {}),
      ...(options.drain ? { drain: options.drain } : {}),
      ...(options.proxyAuth ? { proxyAuth: () => options.proxyAuth } : {}),
      ...(options.parents ? { parents: () => new Map(options.parents?.map((p) => [p.name, p])) } : {}),
      ...(options.blockPage ? { blockPage: () => options.blockPage! } : {}),
      ...(urlRules ? { urlPolicy: () => urlRules } : {}),
      ...(options.liveFlows ? { liveFlows: options.liveFlows } : {}),
      ...(options.tunnels ? { tunnels: options.tunnels } : {}),
      ...(options.addressGuard ? { addressGuard: () => options.addressGuard! } : {}),
      runtime,
      policy: () => policy,
      resolver,
      limits: { ...LIMITS, ...options.limits },
      flowLog: {
        write: (r, quiet) => {
          if (quiet) return; // what the log output would show
          if (r.type === "request") this.requestRecords.push(structuredClone(r));
          else this.records.push(structuredClone(r));
        },
      },
      listenerName: "test",
      mode: "explicit",
      viaName: "tollgate",
    };
  }

  /** Serve dials to `address:port` with `handler` (one call per connection). */
  origin(address: string, port: number, handler: OriginHandler): void {
    this.#targets.set(`${address}|${port}`, { kind: "origin", handler });
  }

  /** Dials to `address:port` never complete; with `honourSignal` they reject when the dial's signal aborts. */
  hang(address: string, port: number, honourSignal: boolean): void {
    this.#targets.set(`${address}|${port}`, { kind: "hang", honourSignal });
  }

  /** A new client connection served by `handleExplicit`; returns the client's end. */
  client(): Peer {
    return this.#serve(3128, (conn) => handleExplicit(conn, this.ctx));
  }

  /** A new client connection served by `handleSocks5` (context mode "socks5", port 1080); returns the client's end. */
  socksClient(): Peer {
    const ctx: FlowContext = { ...this.ctx, mode: "socks5" };
    return this.#serve(1080, (conn) => handleSocks5(conn, ctx));
  }

  /**
   * A new client connection served by `handleTransparent` (context mode "transparent"),
   * as if redirected to a listener on port 8443; returns the client's end.
   */
  transparentClient(settings: Partial<TransparentSettings> = {}): Peer {
    const ctx: FlowContext = { ...this.ctx, mode: "transparent" };
    return this.#serve(8443, (conn) => handleTransparent(conn, ctx, { ...TRANSPARENT, ...settings }));
  }

  /** A new client connection served by `handleTransparentHttp` (context mode "transparent-http"); returns the client's end. */
  transparentHttpClient(upstreamPort = 80): Peer {
    const ctx: FlowContext = { ...this.ctx, mode: "transparent-http" };
    return this.#serve(8080, (conn) => handleTransparentHttp(conn, ctx, upstreamPort));
  }

  /**
   * A new client connection from `peer` to an explicit listener whose `trustForwardedFrom`
   * is `trust` (a child proxy's, when `peer` is in it); returns the client's end.
   */
  childProxyClient(peer: string, trust: readonly string[] | (() => TrustList | undefined)): Peer {
    const list = typeof trust === "function" ? undefined : new TrustList(trust);
    const ctx: FlowContext = { ...this.ctx, forwardedFrom: typeof trust === "function" ? trust : () => list };
    return this.#serve(3128, (conn) => handleExplicit(conn, ctx), peer);
  }

  /**
   * A new connection from a load balancer at `peer` to a listener of `mode` whose
   * `proxyProtocol.from` is `from`: admitted by `admitRelayed`, then served as `client()`,
   * `transparentClient()` or `transparentHttpClient()` would be. Returns the balancer's end.
   */
  balancerClient(options: { readonly from?: readonly string[]; readonly peer?: string; readonly mode?: "explicit" | "transparent" | "transparent-http" } = {}): Peer {
    const mode = options.mode ?? "explicit";
    const ctx: FlowContext = { ...this.ctx, mode };
    const from = (options.from ?? ["10.1.0.0/16"]).map((c) => parseCidr(c));
    const serve = (conn: Conn) =>
      mode === "explicit" ? handleExplicit(conn, ctx) : mode === "transparent" ? handleTransparent(conn, ctx, TRANSPARENT) : handleTransparentHttp(conn, ctx, 80);
    return this.#serve(mode === "transparent" ? 8443 : 3128, async (conn) => {
      const admitted = await admitRelayed(conn, ctx, from);
      if (admitted) await serve(admitted);
    }, options.peer ?? "10.1.0.5");
  }

  #serve(localPort: number, handler: (conn: Conn) => Promise<void>, remoteAddress = "127.0.0.1"): Peer {
    const port = this.#clientPort++;
    const [proxySide, clientSide] = memoryConnPair({
      ...(this.#hwm === undefined ? {} : { highWaterMark: this.#hwm }),
      remote: { address: remoteAddress, port },
      local: { address: "127.0.0.1", port: localPort },
    });
    const tracked = new TrackedConn(proxySide);
    this.#conns.push(proxySide, clientSide);
    this.#clients.push(tracked);
    this.#running.push(handler(tracked));
    return new Peer(clientSide);
  }

  /**
   * Waits for every flow and origin handler to end. If they do not within the timeout,
   * resets every connection (so nothing leaks) and throws: a flow hung. A flow may release
   * its client connection a little after it returned (e.g. a close deferred so that a TLS
   * alert reaches the client): that is waited for within the same timeout.
   */
  async finish(): Promise<void> {
    const deadline = Date.now() + this.#finishTimeoutMs;
    const all = Promise.allSettled(this.#running);
    const outcome = await within(all, this.#finishTimeoutMs).catch(() => "timeout" as const);
    if (outcome === "timeout") {
      for (const c of this.#conns) c.close();
      await all;
      throw new Error(`A flow or origin did not finish within ${this.#finishTimeoutMs} ms`);
    }
    for (const r of outcome) if (r.status === "rejected") throw r.reason;
    if (this.originErrors.length > 0) throw this.originErrors[0];
    if (this.#checkRelease) {
      while (Date.now() < deadline && this.#clients.some((c) => !c.released)) await new Promise((r) => setTimeout(r, 10));
      this.#clients.forEach((c, i) => {
        if (!c.released) {
          throw new Error(`Flow ${i} returned without releasing its client connection (no close(), readable neither cancelled nor read to its end)`);
        }
      });
    }
  }

  /** Resets every connection (use in `finally` after a failed assertion). */
  abort(): void {
    for (const c of this.#conns) c.close();
  }

  /** The only flow record; fails if there is not exactly one. */
  record(): FlowRecord {
    if (this.records.length !== 1) throw new Error(`Expected one flow record, got ${this.records.length}`);
    return this.records[0] as FlowRecord;
  }

  #dial(o: DialOptions): Promise<Conn> {
    this.dials.push({ address: o.address, port: o.port });
    const target = this.#targets.get(`${o.address}|${o.port}`);
    if (!target) return Promise.reject(new ConnRefusedError(`connect ECONNREFUSED ${o.address}:${o.port}`));
    if (target.kind === "hang") {
      return new Promise((_, reject) => {
        const signal = o.signal;
        if (!target.honourSignal || !signal) return;
        if (signal.aborted) reject(signal.reason);
        else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    }
    const [proxySide, originSide] = memoryConnPair({
      ...(this.#hwm === undefined ? {} : { highWaterMark: this.#hwm }),
      remote: { address: o.address, port: o.port },
      local: { address: "10.255.0.1", port: 40000 + this.dials.length },
    });
    this.#conns.push(proxySide, originSide);
    // async: a handler that throws at once is a rejection like a later one
    // deno-lint-ignore require-await
    const run = (async () => target.handler(new Peer(originSide)))().catch((e: unknown) => {
      this.originErrors.push(e);
      originSide.close();
    });
    this.#running.push(run);
    return Promise.resolve(proxySide);
  }
}

/**
 * The proxy's end of a client connection, recording whether the flow released it: the
 * runtime adapters free a socket only after `close()` or once both halves are done, so a
 * flow that returns with the readable unread leaks the socket.
 */
class TrackedConn implements Conn {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly remote: Conn["remote"];
  readonly local: Conn["local"];
  readonly #inner: Conn;
  #closed = false;
  #eof = false;
  #cancelled = false;

  constructor(inner: Conn) {
    this.#inner = inner;
    this.writable = inner.writable;
    this.remote = inner.remote;
    this.local = inner.local;
    const reader = inner.readable.getReader();
    // pull-through with no queue of its own: backpressure is unchanged
    this.readable = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const r = await reader.read();
          if (r.done) {
            this.#eof = true;
            controller.close();
          } else controller.enqueue(r.value);
        },
        cancel: async (reason) => {
          this.#cancelled = true;
          await reader.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
  }

  get released(): boolean {
    return this.#closed || this.#cancelled || this.#eof;
  }

  close(): void {
    this.#closed = true;
    this.#inner.close();
  }
}

/**
 * Runs `body` with a fresh harness, then `finish()`; if the body throws, resets everything
 * first so the failure is reported instead of a hang.
 */
export async function withHarness(options: HarnessOptions, body: (h: FlowHarness) => Promise<void>): Promise<void> {
  const h = new FlowHarness(options);
  try {
    await body(h);
  } catch (e) {
    h.abort();
    await h.finish().catch(() => {});
    throw e;
  }
  await h.finish();
}

/** Resolves with `p`, or rejects after `ms` (the timer is always cleared). */
export async function within<T>(p: Promise<T>, ms: number, what = "operation"): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not complete within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** One end of a connection, with byte-level helpers that keep unread bytes for the next call. */
export class Peer {
  readonly conn: Conn;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #buf: Uint8Array = new Uint8Array(0);
  #eof = false;

  constructor(conn: Conn) {
    this.conn = conn;
    this.#reader = conn.readable.getReader();
    this.#writer = conn.writable.getWriter();
  }

  /** Writes text (Latin-1/ASCII expected) or bytes in one chunk. */
  write(data: string | Uint8Array): Promise<void> {
    return this.#writer.write(typeof data === "string" ? enc.encode(data) : data);
  }

  /** Writes `data` in pieces of the given sizes (cycled); `[1]` sends one byte at a time. */
  async writeSplit(data: string | Uint8Array, sizes: readonly number[]): Promise<void> {
    const bytes = typeof data === "string" ? enc.encode(data) : data;
    let off = 0;
    for (let i = 0; off < bytes.byteLength; i++) {
      const n = sizes[i % sizes.length] ?? 1;
      await this.#writer.write(bytes.subarray(off, off + n));
      off += n;
    }
  }

  /** Half-closes: sends FIN. */
  end(): Promise<void> {
    return this.#writer.close();
  }

  /** The writer's backpressure view. */
  get writer(): WritableStreamDefaultWriter<Uint8Array> {
    return this.#writer;
  }

  /** Exactly `n` bytes; throws if the stream ends first. */
  async readBytes(n: number): Promise<Uint8Array> {
    while (this.#buf.byteLength < n) {
      if (!(await this.#fill())) throw new Error(`Stream ended after ${this.#buf.byteLength} of ${n} bytes: ${JSON.stringify(dec.decode(this.#buf))}`);
    }
    return this.#take(n);
  }

  /** Exactly `n` bytes as text. */
  async readText(n: number): Promise<string> {
    return dec.decode(await this.readBytes(n));
  }

  /** Text up to and including `marker`; throws if the stream ends first. */
  async readUntil(marker: string): Promise<string> {
    const m = enc.encode(marker);
    let from = 0;
    for (;;) {
      const at = indexOf(this.#buf, m, from);
      if (at >= 0) return dec.decode(this.#take(at + m.byteLength));
      from = Math.max(0, this.#buf.byteLength - m.byteLength + 1);
      if (!(await this.#fill())) throw new Error(`Stream ended before ${JSON.stringify(marker)}: ${JSON.stringify(dec.decode(this.#buf))}`);
    }
  }

  /** A message head (through CRLF CRLF), parsed loosely for assertions. */
  async readHead(): Promise<ParsedHead> {
    return parseHead(await this.readUntil("\r\n\r\n"));
  }

  /** Everything until the peer's FIN. Throws on a reset. */
  async readToEnd(): Promise<Uint8Array> {
    while (await this.#fill());
    return this.#take(this.#buf.byteLength);
  }

  /** Everything until FIN or reset, and which of the two ended it. */
  async readToEndOrReset(): Promise<{ readonly data: Uint8Array; readonly reset: boolean }> {
    try {
      return { data: await this.readToEnd(), reset: false };
    } catch {
      return { data: this.#take(this.#buf.byteLength), reset: true };
    }
  }

  /** The next bytes available (buffered ones first), or undefined at the peer's FIN. */
  async readChunk(): Promise<Uint8Array | undefined> {
    if (this.#buf.byteLength === 0 && !(await this.#fill())) return undefined;
    return this.#take(this.#buf.byteLength);
  }

  /** True once the peer's FIN was read and every byte consumed. */
  get ended(): boolean {
    return this.#eof && this.#buf.byteLength === 0;
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const { done, value } = await this.#reader.read();
    if (done) {
      this.#eof = true;
      return false;
    }
    if (this.#buf.byteLength === 0) {
      this.#buf = value;
      return true;
    }
    const next = new Uint8Array(this.#buf.byteLength + value.byteLength);
    next.set(this.#buf, 0);
    next.set(value, this.#buf.byteLength);
    this.#buf = next;
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }
}

/** A minimal origin response with a Content-Length body. */
/** Reads a refusal the gateway answers and closes with: its status, its body (Content-Length), then the end of the connection. */
export async function refusal(c: Peer): Promise<{ status: number; body: string }> {
  const head = await within(c.readHead(), 1500, "answer");
  const body = dec.decode(await c.readBytes(Number(head.get("content-length"))));
  await c.end().catch(() => {});
  await within(c.readToEndOrReset(), 3000, "end");
  return { status: head.status, body };
}

export function okResponse(body: string, extra = ""): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
}

/**
 * An origin at `address:port` that takes one chunked request, keeps its body as it arrived
 * (chunks and trailer section), and answers 200 "ok". `body()` gives what it got.
 */
export function chunkedUploadOrigin(h: FlowHarness, address: string, port: number): { body: () => string } {
  let raw = "";
  h.origin(address, port, async (o) => {
    await o.readHead();
    raw = await o.readUntil("\r\n0\r\n");
    raw += await o.readUntil("\r\n\r\n");
    await o.write(okResponse("ok"));
    await o.readToEndOrReset();
  });
  return { body: () => raw };
}

/** Reads one response with a Content-Length body: the head, the body and the bytes received. */
export async function readResponse(c: Peer, method = "GET"): Promise<{ head: ParsedHead; body: string; bytes: number }> {
  const head = await within(c.readHead(), 1500, "response head");
  // the answer to a HEAD has no body, whatever its Content-Length says
  const length = method === "HEAD" ? 0 : Number(head.get("content-length"));
  const body = dec.decode(await c.readBytes(length));
  return { head, body, bytes: head.raw.length + length };
}

/** An origin answering one request (head only) per body with `okResponse(body)`, then waiting for the end. */
export function serveRequests(h: FlowHarness, address: string, port: number, bodies: readonly string[], seen: ParsedHead[] = []): void {
  h.origin(address, port, async (o) => {
    for (const body of bodies) {
      seen.push(await o.readHead());
      await o.write(okResponse(body));
    }
    await o.readToEndOrReset();
  });
}

/** A head split into its start line and fields (names lowercased), for assertions. */
export interface ParsedHead {
  readonly raw: string;
  readonly startLine: string;
  /** Status code for a response head, 0 for a request head. */
  readonly status: number;
  readonly fields: readonly (readonly [string, string])[];
  get(name: string): string | undefined;
  all(name: string): string[];
}

/** Parses a head independently of the code under test (no validation). */
export function parseHead(raw: string): ParsedHead {
  const lines = raw.slice(0, raw.length - 4).split("\r\n");
  const startLine = lines[0] ?? "";
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(startLine);
  const fields = lines.slice(1).map((line): readonly [string, string] => {
    const i = line.indexOf(":");
    return [line.slice(0, i).toLowerCase(), line.slice(i + 1).trim()];
  });
  const all = (name: string) => fields.filter(([n]) => n === name.toLowerCase()).map(([, v]) => v);
  return {
    raw,
    startLine,
    status: m ? Number(m[1]) : 0,
    fields,
    all,
    get: (name) => {
      const v = all(name);
      return v.length === 0 ? undefined : v.join(", ");
    },
  };
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i + needle.byteLength <= hay.byteLength; i++) {
    for (let j = 0; j < needle.byteLength; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Lets pending microtasks and one macrotask run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Resolves when `fn()` is true, checking once per macrotask, or throws after `ms`. */
export async function until(fn: () => boolean, ms = 1000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await tick();
  }
}

export { dec, enc };
