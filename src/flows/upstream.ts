import type { Conn } from "../core/conn.ts";
import { hostText } from "../core/host.ts";
import { DnsError } from "../dns/error.ts";
import type { Decision, Host } from "../policy/types.ts";
import type { FlowContext } from "./context.ts";
import type { FlowState } from "./flow-state.ts";

/** Why an upstream connection could not be made; `status` is what the client is answered. */
export class UpstreamError extends Error {
  override name = "UpstreamError";
  /** "address": every resolved address was refused by the address guard (SSRF). */
  readonly kind: "dns" | "dns-timeout" | "connect" | "timeout" | "address";
  readonly status: 403 | 502 | 504;
  /** The RFC 9209 Proxy-Status error type for this failure (e.g. "dns_error", "connection_refused"). */
  readonly proxyStatus: string;
  constructor(kind: UpstreamError["kind"], message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
    this.status = kind === "address" ? 403 : kind === "timeout" || kind === "dns-timeout" ? 504 : 502;
    this.proxyStatus = proxyStatusFor(kind, message);
  }
}

/** RFC 9209 §2.3 error types: what a client (or an operator reading the field) can act on. */
function proxyStatusFor(kind: UpstreamError["kind"], message: string): string {
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
      return /ECONNREFUSED|refused/i.test(message) ? "connection_refused" : "destination_unavailable";
  }
}

export interface Upstream {
  readonly conn: Conn;
  /** The IP address dialed. */
  readonly address: string;
  readonly dnsSource: string;
}

/** Resolves `host` once and dials TCP to the addresses it got (see `connectUpstreamWith`). */
export function connectUpstream(ctx: FlowContext, host: Host, port: number, decision?: Decision, signal?: AbortSignal): Promise<Upstream> {
  return connectUpstreamWith(ctx, host, port, decision, (address, deadline) => ctx.runtime.dial({ address, port, signal: deadline }), signal)
    .then(({ value, address, dnsSource }) => ({ conn: value, address, dnsSource }));
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
  let addresses: readonly string[];
  let dnsSource: string;
  if (host.kind === "dns") {
    try {
      const r = await ctx.resolver.resolve(host.name, deadline);
      addresses = r.addresses;
      dnsSource = r.source;
    } catch (e) {
      if (e instanceof DnsError) {
        throw new UpstreamError(e.code === "timeout" ? "dns-timeout" : "dns", `DNS: ${e.message}`, { cause: e });
      }
      if (budget.aborted) throw new UpstreamError("dns-timeout", `DNS: lookup of "${host.name}" timed out`);
      throw new UpstreamError("dns", `DNS: lookup of "${host.name}" failed: ${message(e)}`, { cause: e });
    }
  } else {
    addresses = [host.address];
    dnsSource = "literal";
  }
  let last: unknown;
  const guard = ctx.addressGuard?.();
  const refused: string[] = [];
  for (const address of addresses) {
    if (guard) {
      const verdict = guard.check(address, port, decision?.allowAddresses);
      if (!verdict.allowed) {
        refused.push(verdict.reason);
        continue;
      }
    }
    try {
      return { value: await dial(address, deadline), address, dnsSource };
    } catch (e) {
      if (isFinal(e)) throw e;
      last = e;
      if (deadline.aborted) break;
    }
  }
  const target = `${hostText(host)}:${port}`;
  if (refused.length === addresses.length) {
    throw new UpstreamError("address", `Destination ${target} refused by the address guard: ${refused.join("; ")}`);
  }
  if (budget.aborted) {
    throw new UpstreamError("timeout", `Connect to ${target} timed out after ${ctx.limits.connectTimeoutMs} ms`);
  }
  throw new UpstreamError("connect", `Connect to ${target} (${addresses.join(", ")}) failed: ${message(last)}`, {
    cause: last,
  });
}

function message(e: unknown): string {
  if (e instanceof Error) return (e as Error & { code?: string }).code ?? e.message;
  return String(e);
}

/** Records an address-guard refusal as the flow's decision (it overrides the rule's allow). */
export function noteUpstreamError(flow: FlowState, e: unknown): void {
  if (e instanceof UpstreamError && e.kind === "address") {
    flow.record.decision = "deny";
    flow.record.rule = "address-guard";
    flow.record.reason = e.message;
  }
}
