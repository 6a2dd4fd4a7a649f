/**
 * The flow that serves a listener's connections, by the listener's mode.
 * @module
 */
import type { Config, ListenerConfig } from "../config/config.ts";
import type { Conn } from "../core/conn.ts";
import type { ReverseService } from "../reverse/service.ts";
import type { FlowContext } from "./context.ts";
import { handleExplicit, handleTransparentHttp } from "./explicit.ts";
import { handleHttpsProxy } from "./https-proxy.ts";
import { handleSocks5 } from "./socks5.ts";
import { handleTransparent, type TransparentSettings } from "./transparent.ts";

/**
 * The flow for listener `l`, serving with `ctx`; `limits` are those in force (a transparent
 * listener reads its ClientHello limits per connection).
 */
export function listenerFlow(l: ListenerConfig, ctx: FlowContext, limits: () => Config["limits"], reverse: ReverseService): (conn: Conn) => Promise<void> {
  switch (l.mode) {
    case "reverse":
    case "redirect-https":
      return reverse.handler(l, ctx);
    case "explicit":
      if (l.tls) return (conn) => handleHttpsProxy(conn, ctx, () => reverse.proxyTls(l.name));
      return (conn) => handleExplicit(conn, ctx);
    case "socks5":
      return (conn) => handleSocks5(conn, ctx);
    case "transparent-http":
      return (conn) => handleTransparentHttp(conn, ctx, l.upstreamPort);
    case "transparent": {
      const settings: Omit<TransparentSettings, "maxClientHelloBytes" | "maxClientHelloRecords"> = {
        upstreamPort: l.upstreamPort,
        noSni: l.noSni === "deny" ? "deny" : { action: "allow", upstream: { host: l.noSni.hostname, port: l.noSni.port } },
        ech: l.ech,
      };
      return (conn) => {
        const { maxClientHelloBytes, maxClientHelloRecords } = limits(); // as in force when the connection came
        const withLimits: TransparentSettings = { ...settings, maxClientHelloBytes, maxClientHelloRecords };
        return handleTransparent(conn, ctx, withLimits);
      };
    }
  }
}
