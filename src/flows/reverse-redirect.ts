/**
 * One connection on a `redirect-https` listener: every request is answered
 * `308 Permanent Redirect` to the same host, path and query on https (RFC 9110 §15.4.9:
 * the method and body are kept by the client). Keep-alive is honoured for requests without
 * a body. One request line per request and one flow line per connection (mode "reverse").
 * @module
 */
import { encodeLatin1 } from "../core/bytes.ts";
import type { Conn } from "../core/conn.ts";
import { hostText, tryNormalizeHost } from "../core/host.ts";
import type { RequestRecord } from "../log/flow-record.ts";
import { requestBodyFraming } from "../protocol/body-framing.ts";
import { parseHostPort } from "../protocol/http-authority.ts";
import { keepAlive } from "../protocol/hop-by-hop.ts";
import type { RequestHead } from "../protocol/http-request-head.ts";
import { serializeResponseHead } from "../protocol/http-serialize.ts";
import { answerAndClose, lingerClose } from "./answers.ts";
import { ConnReader, FlowTimeoutError } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { clientFailure, errorText, FlowState } from "./flow-state.ts";
import { answerable } from "./next-request.ts";
import { readRequest } from "./read-head.ts";
import { requestRecord } from "./request-record.ts";

/** The `Location` for a request: https, the request's host, `httpsPort` unless 443, the target. */
export function httpsLocation(head: RequestHead, httpsPort: number): string | undefined {
  const hostField = head.form === "absolute" && head.url ? head.url.host : head.headers.get("host");
  if (!hostField) return undefined;
  const authority = parseHostPort(hostField, 80);
  const host = authority ? tryNormalizeHost(authority.host) : undefined;
  if (!host) return undefined;
  const target = head.form === "origin" ? head.target : head.form === "absolute" ? (head.path ?? "/") : "/";
  return `https://${hostText(host)}${httpsPort === 443 ? "" : `:${httpsPort}`}${target}`;
}

/** Serves one client connection of a redirect-https listener. */
export async function handleRedirectHttps(client: Conn, ctx: FlowContext, httpsPort: number): Promise<void> {
  const rctx: FlowContext = ctx.mode === "reverse" ? ctx : { ...ctx, mode: "reverse" };
  const flow = new FlowState(rctx, client, "reverse");
  const r = flow.record;
  r.kind = "http";
  r.port = client.local.port;
  r.decision = "allow";
  r.rule = "redirect-https";
  r.reason = `redirect to https port ${httpsPort}`;
  const src = new ConnReader(client);
  let first = true;
  for (;;) {
    let head: RequestHead;
    try {
      const next = await readRequest(src, ctx.limits, first, ctx.drain);
      if (!next) {
        client.close();
        return flow.finish("eof");
      }
      head = next;
    } catch (e) {
      if (e instanceof FlowTimeoutError && !first) {
        client.close();
        return flow.finish("idle");
      }
      if (!answerable(e)) {
        client.close();
        return flow.finish(clientFailure(e), errorText(e));
      }
      const status = e instanceof FlowTimeoutError ? 408 : e.status;
      r.status = status;
      await answerAndClose(client, src, status, errorText(e));
      return flow.finish("error", errorText(e));
    }
    first = false;
    r.requests += 1;
    const started = Date.now();
    const location = httpsLocation(head, httpsPort);
    const host = head.headers.get("host") ?? "";
    const req: RequestRecord = {
      ...requestRecord(r, head, host, client.local.port, `http://${host}${head.form === "origin" ? head.target : (head.path ?? "")}`),
      mode: "reverse",
      rule: "redirect-https",
      reason: location ? `redirect to ${location}` : "no valid Host",
    };
    const write = () => {
      req.time = new Date().toISOString();
      req.durationMs = Date.now() - started;
      rctx.flowLog.write(req);
    };
    r.host ??= req.host;
    if (!location || head.method === "CONNECT") {
      req.status = r.status = 400;
      req.error = location ? "CONNECT is not accepted here" : "A request needs a valid Host to be redirected";
      write();
      await answerAndClose(client, src, 400, req.error, { method: head.method });
      return flow.finish("error", req.error);
    }
    let hasBody = true;
    try {
      hasBody = requestBodyFraming(head).kind !== "none";
    } catch {
      // a malformed body framing: answer, then close
    }
    const keep = !hasBody && keepAlive(head.version, head.headers) && !ctx.drain?.draining;
    const body = encodeLatin1(`Redirecting to ${location}\n`);
    const out = serializeResponseHead({
      version: "HTTP/1.1",
      status: 308,
      reason: "Permanent Redirect",
      headers: [
        ["Location", location],
        ["Content-Type", "text/plain; charset=utf-8"],
        ["Content-Length", String(body.byteLength)],
        ...(keep ? [] : [["Connection", "close"] as const]),
      ],
    });
    req.status = r.status = 308;
    const w = client.writable.getWriter();
    try {
      await w.write(out);
      // a HEAD gets the head alone (RFC 9110 §9.3.2): on a kept connection a body would be
      // read as the start of the next response
      const sent = head.method === "HEAD" ? 0 : body.byteLength;
      if (sent > 0) await w.write(body);
      req.bytesDown = out.byteLength + sent;
      r.bytesDown += req.bytesDown;
      if (!keep) await w.close();
    } catch (e) {
      w.releaseLock();
      client.close();
      req.error = errorText(e);
      write();
      return flow.finish("client-closed", errorText(e));
    }
    w.releaseLock();
    write();
    if (!keep) {
      await lingerClose(client, src);
      return flow.finish("eof");
    }
  }
}
