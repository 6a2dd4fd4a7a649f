/**
 * Validated TLS to the real server of a decrypted session: from the pool of idle upstream
 * connections when one fits, else a new connection (directly, or through the decision's
 * parent proxy).
 * @module
 */
import type { Conn } from "../core/conn.ts";
import { bareHost, hostText } from "../core/host.ts";
import { type TlsClientSession, TlsValidationError } from "../core/tls.ts";
import { openParentTunnel, type ParentProxy } from "../parent/tunnel.ts";
import { throughParents } from "../parent/failover.ts";
import type { Decision, Host } from "../policy/types.ts";
import type { ConnReader } from "./conn-reader.ts";
import type { FlowContext, InterceptionContext } from "./context.ts";
import type { UpstreamHandle } from "./decrypted-http.ts";
import { connectUpstreamWith, guardLiteral, parentFor, UpstreamError } from "./upstream.ts";
import type { UpstreamPool } from "./upstream-pool.ts";

/** What an upstream TLS connection is known by: its session and where it went. */
export interface UpstreamTlsInfo {
  readonly session: TlsClientSession;
  /** The IP address dialled; null through a parent proxy. */
  readonly address: string | null;
  readonly dnsSource: string;
  readonly parent?: string;
}

/** An upstream TLS connection ready for requests: new, or reused from the pool. */
export interface OpenedUpstreamTls extends UpstreamTlsInfo {
  /** The pool key it goes back under. */
  readonly key: string;
  /** Set when it came from the pool: its reader and the requests it carried. */
  readonly reader?: ConnReader;
  readonly served?: number;
}

/** The pool decrypted sessions share. */
export type UpstreamTlsPool = UpstreamPool<UpstreamTlsInfo>;

/**
 * Validated TLS to the real server for `host:port`. An idle pooled connection is reused
 * when one was opened for the same name, port, validation, minimum version, need of the
 * server's certificate (`mirrorUpstreamSans`) and parent proxy (it was validated when it was
 * opened; its certificate is still the one mirrored), and the address guard admits its
 * address for this decision.
 * Else a new one: directly, or through the decision's parent proxy (TLS over its tunnel:
 * the gateway still validates the real server's certificate, end to end). Validation
 * failures are final (no other address is tried: a bad certificate is not an address
 * problem). `client`: the client's address, for parents with `forwardedFor` (a pooled
 * connection through such a parent then serves that client only).
 */
export async function connectUpstreamTls(
  ctx: FlowContext,
  ic: InterceptionContext,
  host: Host,
  port: number,
  decision: Decision,
  client?: string,
): Promise<OpenedUpstreamTls> {
  const servername = bareHost(host);
  const verify = decision.upstreamTls !== "insecure";
  const parent = parentFor(ctx, decision);
  // a parent told each tunnel's client (forwardedFor; it or a fallback) must not see one
  // client's tunnel reused for another
  const told = parent !== undefined && tellsClient(parent, ctx.parents?.());
  const via = parent ? `${parent.name}@${parent.protocol}://${parent.authority}${told ? `|for ${client ?? ""}` : ""}` : "";
  // mirrored SANs need the upstream's certificate, which a runtime may leave out unless asked
  const key = `${servername}|${port}|${verify ? "verify" : "insecure"}|${ic.upstreamMinVersion}|${ic.mirrorUpstreamSans ? "cert" : ""}|${via}`;
  // through a parent only an IP-literal destination is ours to check (it resolves names)
  if (parent) guardLiteral(ctx, host, port, decision);
  const pooled = ic.upstreamPool?.take(key);
  if (pooled) {
    // Its address was admitted for the decision that opened it, maybe another rule's (its
    // `allowAddresses`), or under a guard a reload has tightened since: admitted again for
    // this one, or left in the pool and a new connection opened, which the guard decides on.
    const address = pooled.info.address;
    const verdict = address === null ? undefined : ctx.addressGuard?.()?.check(address, port, decision.allowAddresses);
    if (verdict === undefined || verdict.allowed) return { ...pooled.info, key, reader: pooled.reader, served: pooled.served };
    ic.upstreamPool?.give(key, pooled);
  }
  const handshake = (address: string, deadline: AbortSignal, over?: { conn: Conn; port: number }) =>
    ctx.runtime.tls.connect({
      address,
      port: over?.port ?? port,
      servername,
      extraCaPem: ic.extraCaPem,
      verify,
      alpn: ["http/1.1"],
      minVersion: ic.upstreamMinVersion,
      signal: deadline,
      ...(ic.mirrorUpstreamSans ? { peerCertificate: true } : {}),
      ...(over ? { over: over.conn } : {}),
    });
  if (parent) {
    const { value: t, parent: used } = await throughParents(ctx, parent, (p) => openParentTunnel(ctx, p, host, port, undefined, client));
    if (t.head) {
      t.conn.close();
      throw new UpstreamError("connect", `parent proxy "${used.name}": ${hostText(host)}:${port} sent data before the TLS handshake`);
    }
    // messages name the parent's address: the handshake goes through it
    const session = await handshake(t.address, AbortSignal.timeout(ctx.limits.connectTimeoutMs), { conn: t.conn, port: used.port });
    return { session, address: null, dnsSource: "parent", parent: used.name, key };
  }
  const r = await connectUpstreamWith(ctx, host, port, decision, (address, deadline) => handshake(address, deadline), undefined, (e) => e instanceof TlsValidationError);
  return { session: r.value, address: r.address, dnsSource: r.dnsSource, key };
}

/** `opened` as a decrypted session uses it: once idle at the session's end it goes back to the pool. */
export function upstreamHandle(ic: InterceptionContext, opened: OpenedUpstreamTls): UpstreamHandle {
  const conn = opened.session.conn;
  const pool = ic.upstreamPool;
  const { session, address, dnsSource, parent } = opened;
  const info: UpstreamTlsInfo = { session, address, dnsSource, ...(parent ? { parent } : {}) };
  return {
    conn,
    ...(opened.reader ? { reader: opened.reader } : {}),
    ...(opened.served !== undefined ? { served: opened.served } : {}),
    ...(pool ? { keep: (reader: ConnReader, served: number) => pool.give(opened.key, { conn, reader, served, info }) } : {}),
  };
}

/** Whether `parent`, or a fallback it may hand flows to, takes `forwardedFor`. */
function tellsClient(parent: ParentProxy, parents: ReadonlyMap<string, ParentProxy> | undefined): boolean {
  const seen = new Set<string>();
  for (let p: ParentProxy | undefined = parent; p && !seen.has(p.name); p = p.fallback ? parents?.get(p.fallback) : undefined) {
    if (p.forwardedFor) return true;
    seen.add(p.name);
  }
  return false;
}
