/**
 * The client side of SOCKS5 (RFC 1928, RFC 1929), for parent proxies that speak it: on a
 * connection open to the parent, offer a method (username/password when credentials are
 * configured, else none), sign in, and ask for `host:port` by name (the parent resolves it).
 * @module
 */
import type { Conn } from "../core/conn.ts";
import { bareHost, hostText } from "../core/host.ts";
import type { ConnReader } from "../flows/conn-reader.ts";
import { UpstreamError } from "../flows/upstream.ts";
import type { Host } from "../policy/types.ts";
import {
  type Parsed,
  parseCredentialsAnswer,
  parseMethodChoice,
  parseReply,
  socksConnectRequest,
  socksCredentials,
  socksGreeting,
  SocksMessageReader,
  SocksMethod,
  SocksReply,
} from "../protocol/socks5.ts";

/** RFC 1928 §6 reply texts, for messages. */
const REPLY_TEXT: Readonly<Record<number, string>> = {
  [SocksReply.generalFailure]: "general SOCKS server failure",
  [SocksReply.notAllowed]: "connection not allowed by ruleset",
  [SocksReply.networkUnreachable]: "network unreachable",
  [SocksReply.hostUnreachable]: "host unreachable",
  [SocksReply.connectionRefused]: "connection refused",
  [SocksReply.ttlExpired]: "TTL expired",
  [SocksReply.commandNotSupported]: "command not supported",
  [SocksReply.addressTypeNotSupported]: "address type not supported",
};

/** A parent's refusal as the client is answered: the status and RFC 9209 type a CONNECT refusal would get. */
function refusal(code: number): { readonly status: 403 | 502 | 504; readonly proxyStatus: string } {
  switch (code) {
    case SocksReply.notAllowed:
      return { status: 403, proxyStatus: "http_request_denied" };
    case SocksReply.connectionRefused:
      return { status: 502, proxyStatus: "connection_refused" };
    case SocksReply.ttlExpired:
      return { status: 504, proxyStatus: "connection_timeout" };
    default:
      return { status: 502, proxyStatus: "destination_unavailable" };
  }
}

/** What the SOCKS exchange needs to know of the parent. */
export interface SocksParent {
  /** How messages name it, e.g. `parent proxy "edge" (10.0.0.5:1080)`. */
  readonly via: string;
  readonly credentials?: { readonly username: string; readonly password: string };
}

/**
 * Asks `parent` for a tunnel to `host:port` over `conn` (read through `reader`), every
 * answer due before `until` (epoch ms; else FlowTimeoutError from the reader). Resolves once
 * the parent answered success; the tunnel's bytes follow in `reader`. A refusal (no
 * acceptable method, credentials rejected, a reply other than 0) is an {@link UpstreamError}
 * of kind "parent" naming the parent and why; a closed connection or a malformed answer
 * throws as is (the caller names the parent). `progress.named` turns true once the request
 * naming the destination is sent.
 */
export async function askSocks(
  conn: Conn,
  reader: ConnReader,
  parent: SocksParent,
  host: Host,
  port: number,
  until: number,
  progress: { named: boolean } = { named: false },
): Promise<void> {
  const write = async (bytes: Uint8Array) => {
    const w = conn.writable.getWriter();
    try {
      await w.write(bytes);
    } finally {
      w.releaseLock();
    }
  };
  const read = async <T>(parse: (b: Uint8Array) => Parsed<T>): Promise<T> => {
    const message = new SocksMessageReader(parse);
    for (;;) {
      const chunk = await reader.read(Math.max(1, until - Date.now()));
      if (!chunk) throw new Error("closed the connection without answering");
      const value = message.push(chunk);
      if (value !== undefined) {
        reader.unread(message.rest());
        return value;
      }
    }
  };
  const dest = `${hostText(host)}:${port}`;
  const creds = parent.credentials;
  await write(socksGreeting(creds ? [SocksMethod.noAuth, SocksMethod.userPass] : [SocksMethod.noAuth]));
  const method = await read(parseMethodChoice);
  if (method === SocksMethod.userPass && creds) {
    await write(socksCredentials(creds.username, creds.password));
    if (!(await read(parseCredentialsAnswer))) {
      throw new UpstreamError("parent", `${parent.via} refused the sign-in of user ${JSON.stringify(creds.username)}`, { status: 502, proxyStatus: "proxy_configuration_error" });
    }
  } else if (method !== SocksMethod.noAuth) {
    const why = method === SocksMethod.noAcceptable
      ? `accepts none of the sign-in methods offered (${creds ? "none, username/password" : "none; configure username and passwordFile"})`
      : `chose sign-in method ${method}, which was not offered`;
    throw new UpstreamError("parent", `${parent.via} ${why}`, { status: 502, proxyStatus: "proxy_configuration_error" });
  }
  await write(socksConnectRequest(bareHost(host), port));
  progress.named = true;
  const answer = await read(parseReply);
  if (answer.reply !== SocksReply.succeeded) {
    const text = REPLY_TEXT[answer.reply] ?? `reply ${answer.reply}`;
    throw new UpstreamError("parent", `${parent.via} refused SOCKS5 CONNECT ${dest}: ${text} (${answer.reply})`, refusal(answer.reply));
  }
}
