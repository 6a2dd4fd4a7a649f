import type { Conn } from "../core/conn.ts";
import { hostText } from "../core/host.ts";
import { DnsError } from "../dns/error.ts";
import type { Decision, Host } from "../policy/types.ts";
import type { FlowContext } from "./context.ts";
import type { FlowState } from "./flow-state.ts";
import type { FlowRecord } from "../log/flow-record.ts";
import { openParentTunnel, type ParentProxy } from "../parent/tunnel.ts";
import { throughParents } from "../parent/failover.ts";

/** Why an upstream connection could not be made; `status` is what the client is answered. */
export class UpstreamError extends Error {
  override name = "UpstreamError";
  /**
   * "address": every resolved address was refused by the address guard (SSRF); "parent": a
   * parent proxy answered its CONNECT with an error (the status and Proxy-Status say which).
   */
  readonly kind: "dns" | "dns-timeout" | "connect" | "timeout" | "address" | "parent";
  readonly status: 403 | 502 | 504;
  /** The RFC 9209 Proxy-Status error type for this failure (e.g. "dns_error", "connection_refused"). */
  readonly proxyStatus: string;
  constructor(kind: UpstreamError["kind"], message: string, options?: ErrorOptions & { readonly status?: 403 | 502 | 504; readonly proxyStatus?: string }) {
    super(message, options);
    this.kind = kind;
    this.status = options?.status ?? (kind === "address" ? 403 : kind === "timeout" || kind === "dns-timeout" ? 504 : 502);
    this.proxyStatus = options?.proxyStatus ?? proxyStatusFor(kind, options?.cause);
  }
}

/**
 * RFC 9209 §2.3 error types: what a client (or an operator reading the field) can act on.
 * A refusal is told by the dial error's code, never by the message, which names the
 * destination (a host named `refused.example` is not refused for it).
 */
function proxyStatusFor(kind: UpstreamError["kind"], cause: unknown): string {
  switch (kind) {
    case "dns":
      return "dns_error";
    case "dns-timeout":
      return "dns_timeout";
    case "timeout":
      return "connection_timeout";
    case "address":
      return "destination_ip_prohibited";
    case "connect":
      return (cause as { code?: unknown } | undefined)?.code === "ECONNREFUSED" ? "connection_refused" : "destination_unavailable";
    case "parent":
      return "destination_unavailable";
  }
}

export interface Upstream {
  readonly conn: Conn;
  /** The IP address dialed; null through a parent proxy (which resolved the name). */
  readonly address: string | null;
  /** Where the address came from (see FlowRecord.dnsSource); "parent" through a parent proxy. */
  readonly dnsSource: string;
  /** The parent proxy's name when the connection is a tunnel through one. */
  readonly parent?: string;
  /** Bytes the destination sent that came with the parent's answer; to the client first. */
  readonly head?: Uint8Array;
}

/**
 * A byte stream to `host:port`: resolves `host` once and dials TCP to the addresses it got
 * (see `connectUpstreamWith`), or, when the decision names a parent proxy, a tunnel through
 * it or, when it cannot be reached, its fallback (see `openParentTunnel`, `throughParents`). Through a parent an IP-literal destination still passes the
 * address guard; a name is the parent's to resolve.
 */
export async function connectUpstream(ctx: FlowContext, host: Host, port: number, decision?: Decision, signal?: AbortSignal, client?: string): Promise<Upstream> {
  const parent = parentFor(ctx, decision);
  if (parent) {
    guardLiteral(ctx, host, port, decision);
    const { value: t, parent: used } = await throughParents(ctx, parent, (p) => openParentTunnel(ctx, p, host, port, signal, client));
    return { conn: t.conn, address: null, dnsSource: "parent", parent: used.name, ...(t.head ? { head: t.head } : {}) };
  }
  const r = await connectUpstreamWith(ctx, host, port, decision, (address, deadline) => ctx.runtime.dial({ address, port, signal: deadline }), signal);
  return { conn: r.value, address: r.address, dnsSource: r.dnsSource };
}

/**
 * The parent proxy `decision` sends its flow through, or undefined for a direct connection.
 * A name that is not (or no longer) configured is an UpstreamError, never a silent direct
 * connection.
 */
export function parentFor(ctx: FlowContext, decision: Decision | undefined): ParentProxy | undefined {
  const name = decision?.parent;
  if (name === undefined) return undefined;
  const parent = ctx.parents?.().get(name);
  if (!parent) throw new UpstreamError("connect", `Parent proxy "${name}" is not configured`, { proxyStatus: "proxy_configuration_error" });
  return parent;
}

/** The address guard on an IP-literal destination (names are resolved by a parent, not here). */
export function guardLiteral(ctx: FlowContext, host: Host, port: number, decision: Decision | undefined): void {
  if (host.kind === "dns") return;
  const verdict = ctx.addressGuard?.()?.check(host.address, port, decision?.allowAddresses);
  if (verdict && !verdict.allowed) {
    throw new UpstreamError("address", `Destination ${hostText(host)}:${port} refused by the address guard: ${verdict.reason}`);
  }
}

/**
 * Resolves `host` once and calls `dial` with each address it got, in order, until one
 * succeeds, all within the connect timeout. The address dialed is always one the resolver
 * returned (never a second lookup by name), and only after the address guard accepted it
 * (SSRF: loopback, private, metadata… addresses are refused unless the config or the
 * deciding rule's `allowAddresses` allow them) — so a DNS answer that changes between
 * check and dial (rebinding) cannot slip through. An error marked final by `isFinal`
 * (e.g. a certificate that failed validation) stops the walk and is rethrown as is.
 */
export async function connectUpstreamWith<T>(
  ctx: FlowContext,
  host: Host,
  port: number,
  decision: Decision | undefined,
  dial: (address: string, deadline: AbortSignal) => Promise<T>,
  signal?: AbortSignal,
  isFinal: (e: unknown) => boolean = () => false,
): Promise<{ value: T; address: string; dnsSource: string }> {
  const budget = AbortSignal.timeout(ctx.limits.connectTimeoutMs);
  const deadline = signal ? AbortSignal.any([signal, budget]) : budget;
  const { addresses, dnsSource } = await resolveHost(ctx, host, deadline, budget);
  const guard = ctx.addressGuard?.();
  const admit = (address: string) => {
    const verdict = guard?.check(address, port, decision?.allowAddresses);
    return verdict && !verdict.allowed ? verdict.reason : undefined;
  };
  const r = await dialFirst(addresses, admit, dial, deadline, isFinal);
  if ("value" in r) return { ...r, dnsSource };
  const target = `${hostText(host)}:${port}`;
  if (r.refused.length === addresses.length) {
    throw new UpstreamError("address", `Destination ${target} refused by the address guard: ${r.refused.join("; ")}`);
  }
  if (budget.aborted) {
    throw new UpstreamError("timeout", `Connect to ${target} timed out after ${ctx.limits.connectTimeoutMs} ms`);
  }
  throw new UpstreamError("connect", `Connect to ${target} (${addresses.join(", ")}) failed: ${failureText(r.last)}`, {
    cause: r.last,
  });
}

/**
 * The addresses of `host` (an IP literal as it is) and where they came from, resolved within
 * `deadline`. A failure is an UpstreamError ("dns" or "dns-timeout"), its message after
 * `label` (e.g. which parent proxy's name it was).
 */
export async function resolveHost(
  ctx: Pick<FlowContext, "resolver">,
  host: Host,
  deadline: AbortSignal,
  budget: AbortSignal,
  label = "",
): Promise<{ addresses: readonly string[]; dnsSource: string }> {
  if (host.kind !== "dns") return { addresses: [host.address], dnsSource: "literal" };
  try {
    const r = await ctx.resolver.resolve(host.name, deadline);
    return { addresses: r.addresses, dnsSource: r.source };
  } catch (e) {
    if (e instanceof DnsError) {
      throw new UpstreamError(e.code === "timeout" ? "dns-timeout" : "dns", `${label}DNS: ${e.message}`, { cause: e });
    }
    if (budget.aborted) throw new UpstreamError("dns-timeout", `${label}DNS: lookup of "${host.name}" timed out`);
    throw new UpstreamError("dns", `${label}DNS: lookup of "${host.name}" failed: ${failureText(e)}`, { cause: e });
  }
}

/**
 * Calls `dial` with each address `admit` lets through (it returns why not, or undefined), in
 * order, until one succeeds or `deadline` passes; an error `isFinal` accepts is rethrown at
 * once. Otherwise: why each refused address was refused, and the last dial error.
 */
export async function dialFirst<T>(
  addresses: readonly string[],
  admit: (address: string) => string | undefined,
  dial: (address: string, deadline: AbortSignal) => Promise<T>,
  deadline: AbortSignal,
  isFinal: (e: unknown) => boolean = () => false,
): Promise<{ value: T; address: string } | { refused: string[]; last: unknown }> {
  const refused: string[] = [];
  let last: unknown;
  for (const address of addresses) {
    const why = admit(address);
    if (why !== undefined) {
      refused.push(why);
      continue;
    }
    try {
      return { value: await dial(address, deadline), address };
    } catch (e) {
      if (isFinal(e)) throw e;
      last = e;
      if (deadline.aborted) break;
    }
  }
  return { refused, last };
}

/** A dial or lookup failure as messages name it: its code (ECONNREFUSED) or its message. */
export function failureText(e: unknown): string {
  if (e instanceof Error) return (e as Error & { code?: string }).code ?? e.message;
  return String(e);
}

/** Records where the upstream connection went: the address dialled, or the parent proxy. */
export function noteUpstream(r: FlowRecord, up: { readonly address: string | null; readonly dnsSource: string; readonly parent?: string }): void {
  r.resolved = up.address;
  r.dnsSource = up.dnsSource;
  r.parent = up.parent ?? null;
}

/**
 * Records an address-guard refusal as the flow's decision (it overrides the rule's allow),
 * and a parent proxy's 403 in the reason (it is answered as a denial: no error field).
 */
export function noteUpstreamError(flow: FlowState, e: unknown): void {
  if (e instanceof UpstreamError && e.kind === "address") {
    flow.record.decision = "deny";
    flow.record.rule = "address-guard";
    flow.record.reason = e.message;
    flow.record.decryption = null; // as on every deny line: nothing was relayed, blind or decrypted
  } else if (e instanceof UpstreamError && e.kind === "parent" && e.status === 403) {
    flow.record.reason = flow.record.reason ? `${flow.record.reason}; ${e.message}` : e.message;
  }
}
