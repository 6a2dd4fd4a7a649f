import type { Address, Conn } from "./conn.ts";
import type { OpenDatagram } from "./datagram.ts";
import type { TlsCapability } from "./tls.ts";

/** What the core needs from a runtime. Adapters under `src/runtime/` implement it. */
export interface Runtime {
  readonly name: "bun" | "deno" | "node";
  readonly version: string;
  /** Start a TCP listener; `onConn` is called once per accepted connection. */
  listen(options: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener>;
  /** Open TCP to an IP address (never a name: the core resolves first and dials what it checked). */
  dial(options: DialOptions): Promise<Conn>;
  /** System resolver (getaddrinfo-like). Resolves to IP addresses, IPv4 first. */
  lookup(name: string): Promise<string[]>;
  /** UDP (DNS to configured servers); absent where the runtime has none. */
  readonly openDatagram?: OpenDatagram;
  /**
   * Relay bytes both ways until both directions have ended, propagating half-close,
   * with backpressure. An adapter may use its fastest native path; the core provides
   * a portable one in `flows/splice.ts`.
   */
  splice?(a: Conn, b: Conn, options: SpliceOptions): Promise<SpliceResult>;
  /** TLS server-on-accepted-connection and validating client. */
  readonly tls: TlsCapability;
  /**
   * Optional: resolves once the bytes of closed connections that the adapter still passes on
   * itself (rather than leaving them to the kernel, as a closed socket's send buffer is) have
   * gone on, giving up at `until` (epoch ms) and dropping what is left. The last step of a
   * shutdown, so that the process does not exit in the middle of a response's last bytes.
   */
  settle?(until: number): Promise<void>;
  /** The process's own resources, for metrics (absent where the runtime cannot tell). */
  readonly process?: ProcessStats;
  /** A plain HTTP server for a fetch-style handler (the admin API). Streams responses (SSE). */
  serveHttp(options: ListenOptions, fetch: (request: Request) => Response | Promise<Response>): Promise<Listener>;
}

export interface ListenOptions {
  readonly hostname: string;
  readonly port: number;
  /**
   * Let other processes bind the same address and port (SO_REUSEPORT; the kernel spreads
   * new connections between them). Used when the gateway runs several worker processes.
   */
  readonly reusePort?: boolean;
}

export interface Listener {
  readonly address: Address;
  close(): Promise<void>;
}

export interface DialOptions {
  readonly address: string;
  readonly port: number;
  readonly signal?: AbortSignal;
}

export interface SpliceOptions {
  /** Bytes already read from `a` that must reach `b` first (e.g. a pipelined ClientHello). */
  readonly headA?: Uint8Array;
  /** Close both sides when no byte moved in either direction for this long. 0 = never. */
  readonly idleTimeoutMs: number;
  readonly signal?: AbortSignal;
  /** Names of the two sides for `end` (default ["a", "b"]), e.g. ["client", "upstream"]. */
  readonly names?: readonly [string, string];
  /** Counted into as bytes are read, for readers of a relay in progress (the admin API's open connections). */
  readonly progress?: SpliceProgress;
}

/** Bytes a relay has read so far from each side (`headA` included), updated as they move. */
export interface SpliceProgress {
  bytesAtoB: number;
  bytesBtoA: number;
}

export interface SpliceResult {
  readonly bytesAtoB: number;
  readonly bytesBtoA: number;
  /**
   * Why the relay ended: "eof" (both sides closed cleanly), "idle", "aborted", or
   * "<side>-reset" / "<side>-error" when a side failed (its message is in `error`).
   */
  readonly end: string;
  readonly error?: string;
}

/** Readings of the running process, taken when called (at each metrics scrape). */
export interface ProcessStats {
  /**
   * Resident set size; the JavaScript heap in use as the engine counts it (the engines
   * differ: JavaScriptCore's count includes memory it was told about outside its heap); and
   * the heap's size, used and free, as the engine holds it from the system.
   */
  memory(): { readonly rssBytes: number; readonly heapUsedBytes: number; readonly heapSizeBytes: number };
  /** User plus system CPU time since the process started, seconds. */
  cpuSeconds(): number;
  /** Open file descriptors; undefined where the platform does not tell. */
  openFds(): number | undefined;
  /** The soft limit on open file descriptors; undefined where unknown or unlimited. */
  maxFds(): number | undefined;
}
