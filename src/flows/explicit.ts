import type { Conn } from "../core/conn.ts";
import type { RequestHead } from "../protocol/http-request-head.ts";
import { answerError } from "./answers.ts";
import { userAgentOf } from "../log/user-agent.ts";
import { uncheckedAnswer } from "../auth/proxy-auth.ts";
import { checkedInForce } from "../auth/checked-in-force.ts";
import { ConnReader, FlowTimeoutError } from "./conn-reader.ts";
import { connectTunnel } from "./connect-tunnel.ts";
import type { FlowContext } from "./context.ts";
import { clientFailure, errorText, FlowState } from "./flow-state.ts";
import { type ForwardOutcome, forwardHttp, type KeptUpstream } from "./http-forward.ts";
import { parseHostPort } from "../protocol/http-authority.ts";
import { answerable } from "./next-request.ts";
import { readRequest } from "./read-head.ts";
import { clientAddressText, originalClient } from "../reverse/forwarded.ts";
import { CERTIFICATE_RULE, uncheckedCertificateAnswer } from "../auth/certificate-sign-in.ts";
import type { ConnectionCertificate } from "../auth/connection-certificate.ts";

/** Methods never proxied: TRACE would reflect credentials (XST); PRI is an HTTP/2 preface. */
const REFUSED_METHODS = new Set(["TRACE", "PRI"]);

/**
 * One connection on the explicit listener: read request heads and dispatch each —
 * `CONNECT host:port` becomes a blind tunnel; `GET http://…` (absolute-form) is forwarded
 * with keep-alive to the client. Anything else gets a clear error and a clean close.
 */
export function handleExplicit(client: Conn, ctx: FlowContext): Promise<void> {
  return serveHttp(client, ctx, undefined);
}

/** As {@link handleExplicit}, with each request signed in by the client's certificate first (`certificate`). */
export function serveExplicit(client: Conn, ctx: FlowContext, certificate: ConnectionCertificate): Promise<void> {
  return serveHttp(client, ctx, undefined, certificate);
}

/**
 * One connection on a transparent plain-HTTP listener (port 80 redirected to us): the
 * client sends ordinary origin-form requests; the `Host` field names the destination and
 * goes through the same policy, and the gateway resolves it itself and dials `upstreamPort`.
 */
export function handleTransparentHttp(client: Conn, ctx: FlowContext, upstreamPort: number): Promise<void> {
  return serveHttp(client, ctx, upstreamPort);
}

async function serveHttp(client: Conn, ctx: FlowContext, transparentPort: number | undefined, certificate?: ConnectionCertificate): Promise<void> {
  const src = new ConnReader(client);
  let kept: KeptUpstream | undefined;
  let first = true;
  try {
    for (;;) {
      const flow = new FlowState(ctx, client, ctx.mode);
      let head: RequestHead;
      try {
        const next = await readRequest(src, ctx.limits, first, ctx.drain);
        if (!next) {
          client.close();
          return;
        }
        head = next;
      } catch (e) {
        if (!answerable(e)) {
          // the connection failed under the read (a reset): nobody to answer. Before the
          // first byte or between requests that is how some clients hang up (health checks,
          // pools), as quiet as an end of stream; in the middle of a first request it is logged.
          client.close();
          if (first && src.received) flow.finish(clientFailure(e), errorText(e));
          return;
        }
        if (e instanceof FlowTimeoutError) {
          if (first) await answerError(client, src, flow, 408, "Timed out waiting for the request head");
          else client.close();
          return;
        }
        await answerError(client, src, flow, e.status, errorText(e));
        return;
      }
      if (!first) flow.requestArrived();
      first = false;
      flow.record.userAgent = userAgentOf(head.headers);
      if (transparentPort === undefined) namedClient(client, head, ctx, flow);
      const byCertificate = await certificate?.signIn();
      if (byCertificate?.kind === "refused" || byCertificate?.kind === "unchecked") {
        flow.record.decision = "deny";
        flow.record.rule = CERTIFICATE_RULE;
        flow.record.reason = byCertificate.reason;
        if (byCertificate.kind === "refused") {
          await answerError(client, src, flow, 403, byCertificate.said ?? `A valid client certificate is required: ${byCertificate.reason}`, { method: head.method });
        } else {
          // the directory cannot tell the certificate user's groups: not the client's failure
          const unchecked = uncheckedCertificateAnswer(byCertificate);
          await answerError(client, src, flow, unchecked.status, unchecked.message, { headers: [["Retry-After", unchecked.retryAfter]], method: head.method });
        }
        return;
      }
      // a certificate that signed the client in stands for its password
      if (byCertificate?.kind === "user") flow.signedIn(byCertificate.user, byCertificate.groups);
      // a reload that refuses the certificate closes what this request opens (a tunnel)
      if (certificate) flow.recheck = () => certificate.revocation();
      const proxyAuth = transparentPort === undefined && byCertificate?.kind !== "user" ? ctx.proxyAuth?.() : undefined;
      if (proxyAuth) {
        const auth = await checkedInForce(proxyAuth, () => ctx.proxyAuth?.(), (a) => a.check(head.headers.get("proxy-authorization"), flow.clientIp));
        if (!auth.ok) {
          flow.record.decision = "deny";
          flow.record.rule = "proxy-auth";
          flow.record.reason = auth.reason;
          const unchecked = uncheckedAnswer(auth);
          if (unchecked) {
            await answerError(client, src, flow, unchecked.status, unchecked.message, { headers: [["Retry-After", unchecked.retryAfter]], method: head.method });
            return;
          }
          await answerError(client, src, flow, 407, "Proxy authentication required", { headers: [["Proxy-Authenticate", proxyAuth.challenge]], method: head.method });
          return;
        }
        flow.signedIn(auth.user, auth.groups);
      }
      if (REFUSED_METHODS.has(head.method)) {
        await answerError(client, src, flow, 405, `Method "${head.method}" is not proxied`, { method: head.method });
        return;
      }
      if (transparentPort !== undefined) {
        const outcome = await forwardTransparent(client, src, head, ctx, flow, kept, transparentPort);
        // on "stop" `kept` may be untouched (request refused before any dial): `finally` closes it
        if (outcome.next === "stop") return;
        kept = outcome.upstream;
        continue;
      }
      if (head.method === "CONNECT") {
        kept?.conn.close();
        kept = undefined;
        await connectTunnel(client, src, head, ctx, flow);
        return;
      }
      if (head.form !== "absolute") {
        await answerError(client, src, flow, 400, "This is a proxy: send an absolute URI (GET http://host/path) or CONNECT host:port", { method: head.method });
        return;
      }
      if (head.scheme !== "http") {
        await answerError(client, src, flow, 400, `Scheme "${head.scheme}" is not proxied as absolute-form; use CONNECT for https`, { method: head.method });
        return;
      }
      const outcome = await forwardHttp(client, src, head, ctx, flow, kept);
      // on "stop" `kept` may be untouched (request refused before any dial): `finally` closes it
      if (outcome.next === "stop") return;
      kept = outcome.upstream;
    }
  } finally {
    kept?.conn.close();
  }
}

/**
 * A child proxy the listener trusts (`trustForwardedFrom`) names its client in
 * `X-Forwarded-For`: the request is decided, authenticated and logged for that client (the
 * nearest address not itself trusted, as a reverse listener reads it). From anyone else the
 * field is the client's own claim and changes nothing.
 */
function namedClient(client: Conn, head: RequestHead, ctx: FlowContext, flow: FlowState): void {
  const trust = ctx.forwardedFrom?.();
  if (!trust || !trust.has(client.remote.address)) return;
  const named = originalClient(head.headers, client.remote.address, trust);
  if (named !== clientAddressText(client.remote.address)) flow.forwardedClient(named, client);
}

/** A request on the transparent HTTP listener: destination from `Host` (or an absolute URI), port from the listener. */
async function forwardTransparent(
  client: Conn,
  src: ConnReader,
  head: RequestHead,
  ctx: FlowContext,
  flow: FlowState,
  kept: KeptUpstream | undefined,
  port: number,
): Promise<ForwardOutcome> {
  if (head.method === "CONNECT") {
    await answerError(client, src, flow, 405, "CONNECT is not accepted on a transparent listener");
    return { next: "stop" };
  }
  const hostField = head.form === "absolute" && head.url ? head.url.host : head.headers.get("host");
  const authority = hostField === undefined ? undefined : parseHostPort(hostField, port);
  if (!authority) {
    await answerError(client, src, flow, 400, "A transparent HTTP request needs a valid Host field", { method: head.method });
    return { next: "stop" };
  }
  const target = head.form === "absolute" ? (head.path ?? "/") : head.target;
  return forwardHttp(client, src, { ...head, authority: { host: authority.host, port }, path: target }, ctx, flow, kept, hostField);
}
