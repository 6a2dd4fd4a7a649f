/**
 * Reaching a destination through a parent proxy: TCP to the parent, `CONNECT host:port` (or
 * a SOCKS5 request), and the tunnel it answers with. The destination name goes to the parent
 * as it is (the parent resolves it), so a gateway that cannot resolve outside names can
 * still reach them.
 * @module
 */
import type { Conn } from "../core/conn.ts";
import { hostText } from "../core/host.ts";
import { encodeLatin1 } from "../core/bytes.ts";
import { ConnReader, FlowTimeoutError } from "../flows/conn-reader.ts";
import type { FlowContext } from "../flows/context.ts";
import { readHead } from "../flows/read-head.ts";
import { dialFirst, failureText, resolveHost, UpstreamError } from "../flows/upstream.ts";
import { parseResponseHead } from "../protocol/http-response-head.ts";
import type { Host } from "../policy/types.ts";
import type { ParentHealthCheckConfig } from "../config/config.ts";
import { askSocks } from "./socks-request.ts";

/** A parent proxy as flows use it: where it is and what to send it. */
export interface ParentProxy {
  /** The name in the config's `parents`. */
  readonly name: string;
  readonly host: Host;
  readonly port: number;
  /** `host:port`, for messages. */
  readonly authority: string;
  /** How to ask it for a tunnel: HTTP `CONNECT`, or a SOCKS5 request. */
  readonly protocol: "http" | "socks5";
  /** `Basic …` for `Proxy-Authorization`, when credentials are configured (HTTP parents). */
  readonly authorization?: string;
  /** The credentials themselves, for a SOCKS5 sign-in (RFC 1929), when configured. */
  readonly credentials?: { readonly username: string; readonly password: string };
  /** HTTP parents: the client's IP address is sent in `X-Forwarded-For`. */
  readonly forwardedFor?: boolean;
  /** The parent to use instead when this one cannot be reached (see `failover.ts`). */
  readonly fallback?: string;
  /** How long this parent is passed over after it could not be reached. */
  readonly ejectMs: number;
  /** Whether it could be reached lately (kept over a reload while its address stays). */
  readonly health: ParentHealth;
  /** Active checks, if configured. */
  readonly healthCheck?: ParentHealthCheckConfig;
}

/** What the flows learnt about reaching a parent. */
export interface ParentHealth {
  /** Epoch ms until which it is passed over for its fallback (0: not). */
  downUntil: number;
  /** Why it could not be reached last, for messages. */
  lastError: string | null;
}

/** An open tunnel through a parent proxy. */
export interface ParentTunnel {
  readonly conn: Conn;
  /** The parent's IP address that was dialled. */
  readonly address: string;
  /** Bytes the parent sent after its answer (the destination spoke first); empty if none. */
  readonly head: Uint8Array | undefined;
}

/** `Basic` credentials for `Proxy-Authorization` (RFC 7617: UTF-8, then base64). */
export function basicAuthorization(username: string, password: string): string {
  let binary = "";
  for (const b of new TextEncoder().encode(`${username}:${password}`)) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

/** `host:port` as a CONNECT request names it (IPv6 in brackets). */
function target(host: Host, port: number): string {
  return `${hostText(host)}:${port}`;
}

/** The text messages name a parent by. */
export function parentText(parent: ParentProxy): string {
  return `parent proxy "${parent.name}" (${parent.authority})`;
}

/**
 * TCP to `parent`, within `deadline`: resolves the parent's own name (never a destination's)
 * and dials its addresses in turn. None of them may be one of the gateway's own listeners
 * (a loop). Failures are {@link UpstreamError}s naming the parent.
 */
export async function dialParent(
  ctx: Pick<FlowContext, "resolver" | "addressGuard" | "runtime" | "limits">,
  parent: ParentProxy,
  deadline: AbortSignal,
  budget: AbortSignal,
): Promise<{ conn: Conn; address: string }> {
  const via = parentText(parent);
  const { addresses } = await resolveHost(ctx, parent.host, deadline, budget, `${via}: `);
  const guard = ctx.addressGuard?.();
  // configured by the operator, so exempt from the guard, except a loop back to ourselves
  const admit = (address: string) => {
    const verdict = guard?.check(address, parent.port);
    return verdict && !verdict.allowed && verdict.cls === "self" ? `${address}:${parent.port} is one of this gateway's listeners` : undefined;
  };
  const r = await dialFirst(addresses, admit, (address, signal) => ctx.runtime.dial({ address, port: parent.port, signal }), deadline);
  if ("value" in r) return { conn: r.value, address: r.address };
  if (budget.aborted) throw new UpstreamError("timeout", `${via}: connect timed out after ${ctx.limits.connectTimeoutMs} ms`);
  const why = r.last === undefined ? r.refused.join("; ") : failureText(r.last);
  throw new UpstreamError("connect", `${via}: connect failed: ${why}`, { cause: r.last });
}

/**
 * Opens a tunnel to `host:port` through `parent`, all within the connect timeout: TCP to
 * the parent ({@link dialParent}), then `CONNECT` and its answer, or the SOCKS5 exchange
 * (`socks-request.ts`). A 2xx answer (SOCKS reply 0) gives the tunnel; any other is an
 * {@link UpstreamError} of kind "parent" naming the parent and its answer: 403 stays 403
 * (the parent's policy refused; SOCKS "not allowed by ruleset" too), 504 stays 504 (SOCKS
 * "TTL expired"), everything else is 502 (a 407, or credentials a SOCKS parent rejects,
 * mean ours are wrong: "proxy_configuration_error").
 */
export async function openParentTunnel(ctx: FlowContext, parent: ParentProxy, host: Host, port: number, signal?: AbortSignal, client?: string): Promise<ParentTunnel> {
  const budget = AbortSignal.timeout(ctx.limits.connectTimeoutMs);
  const deadline = signal ? AbortSignal.any([signal, budget]) : budget;
  const started = Date.now();
  const via = parentText(parent);
  const { conn, address } = await dialParent(ctx, parent, deadline, budget);
  const dest = target(host, port);
  const asked = parent.protocol === "socks5" ? `the SOCKS5 request for ${dest}` : `CONNECT ${dest}`;
  const reader = new ConnReader(conn);
  const onAbort = () => conn.close();
  deadline.addEventListener("abort", onAbort, { once: true });
  /** Whether the parent was told the destination (the CONNECT, or the SOCKS5 request, went out). */
  const progress = { named: false };
  try {
    if (parent.protocol === "socks5") {
      await askSocks(conn, reader, { via, ...(parent.credentials ? { credentials: parent.credentials } : {}) }, host, port, started + ctx.limits.connectTimeoutMs, progress);
    } else {
      await askConnect(conn, reader, ctx, parent, dest, Math.max(1, ctx.limits.connectTimeoutMs - (Date.now() - started)), client, progress);
    }
    const head = reader.release();
    return { conn, address, head: head && head.byteLength > 0 ? head : undefined };
  } catch (e) {
    conn.close();
    if (e instanceof UpstreamError) throw e;
    if (signal?.aborted) throw signal.reason; // the flow ended: nothing to say of the parent
    // the answer's own deadline (the time left) and the budget's timer end at the same moment:
    // whichever fires first, it is the parent's silence
    const silent = budget.aborted || e instanceof FlowTimeoutError;
    const text = e instanceof Error ? e.message : String(e);
    if (!progress.named) {
      // it failed before it knew where to: no flow can use it (its fallback takes them)
      const first = parent.protocol === "socks5" ? "the SOCKS5 greeting" : asked;
      if (silent) throw new UpstreamError("timeout", `${via}: no answer to ${first} within ${ctx.limits.connectTimeoutMs} ms`);
      throw new UpstreamError("connect", `${via}: ${first} failed: ${text}`, { cause: e });
    }
    // It knew the destination: silence, a close or a garbled answer is about that
    // destination (an HTTP parent answers CONNECT once it reached it, or gave up), not a
    // sign the parent is down. Its fallback does not second-guess it, and no destination a
    // client names can put the parent out of service for everyone.
    if (silent) {
      throw new UpstreamError("parent", `${via}: no answer to ${asked} within ${ctx.limits.connectTimeoutMs} ms`, { status: 504, proxyStatus: "connection_timeout" });
    }
    const closed = /closed the connection/.test(text);
    throw new UpstreamError("parent", `${via}: ${asked} failed: ${text}`, { cause: e, status: 502, proxyStatus: closed ? "connection_terminated" : "http_protocol_error" });
  } finally {
    deadline.removeEventListener("abort", onAbort);
  }
}

/**
 * `CONNECT dest` to an HTTP parent and its answer within `left` ms; a refusal throws an
 * {@link UpstreamError}. `client`: the client's address, sent when the parent takes `forwardedFor`.
 */
async function askConnect(
  conn: Conn,
  reader: ConnReader,
  ctx: FlowContext,
  parent: ParentProxy,
  dest: string,
  left: number,
  client: string | undefined,
  progress: { named: boolean },
): Promise<void> {
  const lines = [`CONNECT ${dest} HTTP/1.1`, `Host: ${dest}`];
  if (parent.authorization) lines.push(`Proxy-Authorization: ${parent.authorization}`);
  if (parent.forwardedFor && client) lines.push(`X-Forwarded-For: ${client}`);
  const w = conn.writable.getWriter();
  try {
    await w.write(encodeLatin1(lines.join("\r\n") + "\r\n\r\n"));
  } finally {
    w.releaseLock();
  }
  progress.named = true;
  const bytes = await readHead(reader, { kind: "response", maxHeadBytes: ctx.limits.maxHeadBytes, headTimeoutMs: left, firstByteTimeoutMs: left });
  if (!bytes) throw new Error("closed the connection without answering");
  const res = parseResponseHead(bytes, { maxHeaders: ctx.limits.maxHeaders, maxHeadBytes: ctx.limits.maxHeadBytes });
  if (res.status < 200 || res.status > 299) {
    const line = `${res.status}${res.reason ? ` ${res.reason}` : ""}`;
    throw new UpstreamError("parent", `${parentText(parent)} refused CONNECT ${dest}: ${line}`, {
      status: res.status === 403 ? 403 : res.status === 504 ? 504 : 502,
      proxyStatus: res.status === 407 ? "proxy_configuration_error" : res.status === 403 ? "http_request_denied" : res.status === 504 ? "connection_timeout" : "destination_unavailable",
    });
  }
}
