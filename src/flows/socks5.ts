/**
 * One connection on a SOCKS5 listener (RFC 1928, RFC 1929): method negotiation, sign-in with
 * the gateway's users when `proxyAuth` is configured, then a CONNECT request that becomes a
 * tunnel exactly as an HTTP CONNECT does (policy, decryption exception or interception,
 * flow line); refusals are answered with the SOCKS reply code that fits. A connection whose
 * first byte is 4 speaks SOCKS4(a) instead (see `socks4.ts`).
 * @module
 */
import type { Conn } from "../core/conn.ts";
import { normalizeHost } from "../core/host.ts";
import {
  credentialsAnswer,
  methodChoice,
  parseCredentials,
  parseGreeting,
  parseRequest,
  type Parsed,
  SocksCommand,
  SocksError,
  SocksMessageReader,
  SocksMethod,
  SocksReply,
  type SocksReplyCode,
  socksReply,
} from "../protocol/socks5.ts";
import { basicAuthorization } from "../parent/tunnel.ts";
import { uncheckedAnswer } from "../auth/proxy-auth.ts";
import { checkedInForce } from "../auth/checked-in-force.ts";
import { finishRefused, sendAndClose } from "./answers.ts";
import { ConnReader, FlowTimeoutError } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { tunnelTo } from "./connect-tunnel.ts";
import { clientFailure, errorText, FlowState } from "./flow-state.ts";
import { readFirst } from "./read-first.ts";
import type { TunnelReplies } from "./tunnel-replies.ts";
import { parseSocks4Request, Socks4Reply, socks4Reply, type Socks4Request } from "../protocol/socks4.ts";
import { serveSocks4 } from "./socks4.ts";

/** The first message: a SOCKS5 greeting, or (first byte 4) a whole SOCKS4(a) request. */
type FirstMessage = { readonly version: 5; readonly greeting: { readonly methods: readonly number[] } } | { readonly version: 4; readonly request: Socks4Request };

function parseFirst(b: Uint8Array): Parsed<FirstMessage> {
  if (b.length > 0 && b[0] === 0x04) {
    const m = parseSocks4Request(b);
    return m && { value: { version: 4, request: m.value }, length: m.length };
  }
  const m = parseGreeting(b);
  return m && { value: { version: 5, greeting: m.value }, length: m.length };
}

/** The rule id of sign-in refusals, as on the explicit listener. */
const AUTH_RULE = "proxy-auth";

/**
 * The SOCKS reply for a refusal a CONNECT would answer with `status` and RFC 9209 error type
 * `proxyError`: denials are "not allowed by ruleset"; failures to reach the destination say
 * which (as Dante does: a timeout is "TTL expired"); anything else is a general failure.
 */
export function replyFor(status: number, proxyError: string | undefined): SocksReplyCode {
  if (status === 403 || status === 429) return SocksReply.notAllowed;
  switch (proxyError) {
    case "dns_error":
    case "dns_timeout":
    case "destination_unavailable":
      return SocksReply.hostUnreachable;
    case "connection_refused":
      return SocksReply.connectionRefused;
    case "connection_timeout":
      return SocksReply.ttlExpired;
    default:
      return status === 504 ? SocksReply.ttlExpired : SocksReply.generalFailure;
  }
}

/**
 * SOCKS5 answers for {@link tunnelTo}: reply 0 naming the address the gateway connected from
 * (RFC 1928 §6: BND.ADDR and BND.PORT; 0.0.0.0:0 when there is none, as for a block page),
 * or the code that fits.
 */
export const SOCKS5_REPLIES: TunnelReplies = {
  established: (bound) => {
    try {
      return socksReply(SocksReply.succeeded, bound);
    } catch {
      return socksReply(SocksReply.succeeded); // a runtime that reports no IP address for the socket
    }
  },
  async refuse(client, src, flow, status, message, options = {}) {
    finishRefused(flow, status, message);
    await sendAndClose(client, src, socksReply(replyFor(status, options.proxyError)));
  },
};

/** Writes `bytes`; false when the client is gone. */
async function send(client: Conn, bytes: Uint8Array): Promise<boolean> {
  const w = client.writable.getWriter();
  try {
    await w.write(bytes);
    return true;
  } catch {
    return false;
  } finally {
    w.releaseLock();
  }
}

const COMMAND_NAMES: Record<number, string> = { [SocksCommand.bind]: "BIND", [SocksCommand.udpAssociate]: "UDP ASSOCIATE" };

/** Serves one SOCKS5 connection: negotiation, sign-in, request, then the tunnel. */
export async function handleSocks5(client: Conn, ctx: FlowContext): Promise<void> {
  const flow = new FlowState(ctx, client, ctx.mode);
  const r = flow.record;
  const src = new ConnReader(client);
  /** Reads one client message within the header timeout; undefined when the client hung up. */
  const read = async <T>(parse: (b: Uint8Array) => Parsed<T>): Promise<T | undefined> => {
    const reader = new SocksMessageReader(parse);
    const value = await readFirst(src, (chunk) => reader.push(chunk), { timeoutMs: ctx.limits.headerTimeoutMs, drain: ctx.drain });
    if (value !== undefined) src.unread(reader.rest());
    return value;
  };
  const fail = (error: string, answer?: Uint8Array): Promise<void> => {
    flow.finish("error", error);
    return answer ? sendAndClose(client, src, answer) : (client.close(), Promise.resolve());
  };
  let step = "greeting";
  /** The client's first byte was 4: it speaks SOCKS4(a). */
  let socks4First = false;
  try {
    const first = await read((b) => {
      if (b.length > 0) socks4First = b[0] === 0x04;
      return parseFirst(b);
    });
    if (!first) {
      client.close();
      if (src.received) flow.finish("client-closed", "Connection closed during the SOCKS greeting");
      return; // hung up before a byte: a health check or port probe
    }
    if (first.version === 4) return await serveSocks4(client, src, first.request, ctx, flow);
    const greeting = first.greeting;
    const auth = ctx.proxyAuth?.();
    const method = auth ? SocksMethod.userPass : SocksMethod.noAuth;
    if (!greeting.methods.includes(method)) {
      r.decision = "deny";
      r.rule = AUTH_RULE;
      r.reason = auth
        ? `the client offers no username/password sign-in (methods ${greeting.methods.join(", ")}); this listener requires one`
        : `the client offers only methods ${greeting.methods.join(", ")}; this listener takes clients without authentication (method 0)`;
      if (auth) finishRefused(flow, 407, "Proxy authentication required"); // a CONNECT without credentials
      else flow.finish("denied");
      return sendAndClose(client, src, methodChoice(SocksMethod.noAcceptable));
    }
    if (!(await send(client, methodChoice(method)))) {
      client.close();
      return flow.finish("client-closed", "Client gone before the method choice");
    }
    if (auth) {
      step = "sign-in";
      const credentials = await read(parseCredentials);
      if (!credentials) {
        client.close();
        return flow.finish("client-closed", "Connection closed before the SOCKS5 sign-in");
      }
      const result = credentials.user.includes(":")
        ? { ok: false as const, reason: `bad credentials for user ${JSON.stringify(credentials.user)}` }
        : await checkedInForce(auth, () => ctx.proxyAuth?.(), (a) => a.check(basicAuthorization(credentials.user, credentials.password), client.remote.address));
      if (!result.ok) {
        r.decision = "deny";
        r.rule = AUTH_RULE;
        r.reason = result.reason;
        // logged as a CONNECT's refusal: 407, or 429 / 503 for a sign-in not checked (throttled, directory down)
        const unchecked = uncheckedAnswer(result);
        finishRefused(flow, unchecked?.status ?? 407, unchecked?.message ?? "Proxy authentication required");
        return sendAndClose(client, src, credentialsAnswer(false));
      }
      flow.signedIn(result.user, result.groups);
      if (!(await send(client, credentialsAnswer(true)))) {
        client.close();
        return flow.finish("client-closed", "Client gone before the sign-in answer");
      }
    }
    step = "request";
    const request = await read(parseRequest);
    if (!request) {
      client.close();
      return flow.finish("client-closed", "Connection closed before the SOCKS5 request");
    }
    r.kind = "connect";
    r.port = request.port;
    if (request.command !== SocksCommand.connect) {
      const name = COMMAND_NAMES[request.command] ?? `command ${request.command}`;
      return fail(`SOCKS5 ${name} is not supported (only CONNECT)`, socksReply(SocksReply.commandNotSupported));
    }
    let host;
    try {
      host = normalizeHost(request.host);
    } catch (e) {
      return fail(`Invalid SOCKS5 destination: ${errorText(e)}`, socksReply(SocksReply.hostUnreachable));
    }
    if (request.port === 0) return fail("SOCKS5 destination port 0", socksReply(SocksReply.hostUnreachable));
    return await tunnelTo(client, src, host, request.port, ctx, flow, SOCKS5_REPLIES);
  } catch (e) {
    // what the client began with: a SOCKS4 request is answered (and named) as one
    const socks4 = step === "greeting" && src.received && socks4First;
    if (e instanceof SocksError) {
      // a malformed greeting may not be SOCKS at all: nothing to answer in a language it speaks
      const answer = socks4 ? socks4Reply(Socks4Reply.rejected) : step === "greeting" ? undefined : step === "sign-in" ? credentialsAnswer(false) : socksReply(e.reply);
      return fail(e.message, answer);
    }
    if (e instanceof FlowTimeoutError) return fail(`No complete ${socks4 ? "SOCKS4 request" : `SOCKS5 ${step}`} within ${ctx.limits.headerTimeoutMs} ms`);
    client.close();
    flow.finish(clientFailure(e), errorText(e));
  }
}
