/**
 * One canonical line per connection, written once when it ends. Field names are stable
 * (documented in the README); absent facts are `null`, never omitted, so every line has the
 * same shape and is easy to query.
 */
export interface FlowRecord {
  /** Always "flow" (request lines on decrypted connections have type "request"). */
  type: "flow";
  /** End time, ISO 8601. */
  time: string;
  /** Client address as "ip:port" ("[v6]:port" for IPv6). */
  client: string;
  /**
   * The TCP peer when it is not the client: the load balancer that named the client in a
   * PROXY protocol header ("ip:port"), else null.
   */
  peer: string | null;
  /** Listener name from the config. */
  listener: string;
  /** The authenticated proxy user (proxy authentication), or null. */
  user: string | null;
  /**
   * The `User-Agent` of the request that opened the flow (a CONNECT, a plain-HTTP request;
   * at most 256 characters), or null: none sent, or none seen (transparent TLS, and reverse
   * and decrypted connections, whose request lines carry it).
   */
  userAgent: string | null;
  /** The listener's mode: "explicit", "socks5", "transparent", "transparent-http", "reverse". */
  mode: string;
  /**
   * "connect": a tunnel (CONNECT, or a SOCKS5 request); "http": a proxied HTTP request (absolute-form, or a
   * transparent plain-HTTP connection); "tls": a transparent TLS connection; "invalid":
   * no valid request or ClientHello arrived.
   */
  kind: "connect" | "http" | "tls" | "invalid";
  /** Normalised destination host (name or IP), or null if the request never named one. */
  host: string | null;
  port: number | null;
  /** The IP address dialed (the one checked), or null if none. */
  resolved: string | null;
  /**
   * Where the address came from: "static", "system", "dns", "cache", "literal", "parent" (a
   * parent proxy resolved the name: `resolved` is null), or null.
   */
  dnsSource: string | null;
  /** The parent proxy (its name in `parents`) the flow went through, or null for direct. */
  parent: string | null;
  decision: "allow" | "deny" | null;
  rule: string | null;
  reason: string | null;
  decryption: string | null;
  /** Transparent TLS: whether the ClientHello offered Encrypted Client Hello (policy saw the outer SNI). */
  ech: boolean | null;
  /** Transparent TLS and decrypted tunnels: ALPN protocols the client offered, comma-separated. */
  alpn: string | null;
  /**
   * Status the gateway answered the client with (200 for an established tunnel; the upstream's
   * last status for http). SOCKS5 has reply codes instead: the status a CONNECT would have got.
   */
  status: number | null;
  /** Bytes from client to upstream (tunnel payload or request bytes forwarded). */
  bytesUp: number;
  /** Bytes from upstream to client. */
  bytesDown: number;
  /** Number of proxied HTTP requests on this connection (http kind). */
  requests: number;
  /**
   * Milliseconds from the start of the flow to its end. Plain HTTP (`kind` "http", one line a
   * request): from the request's head (the first request of a connection: from its accept).
   */
  durationMs: number;
  /**
   * Plain HTTP (`kind` "http"): milliseconds from the request's head to the upstream's final
   * response head (nginx's `$upstream_header_time`); null when none came, and for other kinds.
   */
  headerMs: number | null;
  /** How the connection ended: "eof", "idle", "client-closed", "upstream-closed", an error message… */
  end: string | null;
  /** Error that ended the flow, if any. */
  error: string | null;
}

/** One line per HTTP request on a decrypted connection, in addition to the connection's flow line. */
export interface RequestRecord {
  type: "request";
  time: string;
  client: string;
  listener: string;
  /**
   * The authenticated proxy user of the connection (the CONNECT's); on a reverse route with
   * `basicAuth`, the user this request signed in as; else null.
   */
  user: string | null;
  /** The request's `User-Agent` (at most 256 characters), or null. */
  userAgent: string | null;
  /** Reverse proxy: the `X-Request-Id` the backend got (ours, or a trusted proxy's); else null. */
  requestId: string | null;
  mode: string;
  /** The CONNECT (or SNI) host the connection was decrypted for. */
  host: string;
  port: number;
  method: string;
  /** Full URL as the client asked for it, e.g. "https://example.com/path?q". */
  url: string;
  /** Status sent to the client (ours for a block, the origin's otherwise), null if none. */
  status: number | null;
  decision: "allow" | "deny";
  /** URL rule id that decided, or "default". */
  rule: string;
  reason: string;
  bytesUp: number;
  bytesDown: number;
  /** Milliseconds from the request's head to the end of its response. */
  durationMs: number;
  /**
   * Milliseconds from the request's head to the upstream's (origin's or backend's) final
   * response head, the upstream's own latency; null when none came (a refusal, a failure).
   */
  headerMs: number | null;
  /** Reverse proxy: the backend that answered, or the last one tried (`scheme://host:port`); else null. */
  backend: string | null;
  error: string | null;
}

/**
 * Where flow records go. Every finished flow reaches `write` (metrics and the live feed
 * need them all); `quiet` is true when the deciding rule turned logging off, which only
 * keeps the record out of the log output.
 */
export interface FlowLog {
  write(record: FlowRecord | RequestRecord, quiet?: boolean): void;
}

/** Sends each record to every log in turn; `quiet` records skip the output sinks. */
export function teeFlowLog(observers: readonly FlowLog[], output: FlowLog): FlowLog {
  return {
    write(record, quiet) {
      for (const o of observers) o.write(record, quiet);
      if (!quiet) output.write(record);
    },
  };
}

/** A flow log that writes one JSON line per record to `sink`. */
export function jsonLineFlowLog(sink: (line: string) => void): FlowLog {
  return { write: (record) => sink(JSON.stringify(record) + "\n") };
}

/** A flow log that discards everything. */
export const nullFlowLog: FlowLog = { write: () => {} };

/** Formats an address as "ip:port", bracketing IPv6. */
export function formatAddress(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}
