/**
 * The passthrough table of the reverse proxy: which TLS connections are not terminated but
 * go whole to a backend, by the ClientHello's SNI and the listener.
 *
 * Precedence as for routes: the most specific host match (an exact name, then the longest
 * `*.suffix`, then `*`), then definition order. `*` also matches a ClientHello without SNI.
 *
 * @example
 * ```ts
 * const table = new PassthroughTable([{ id: "git", hosts: ["git.example.com"], pool: "git" }]);
 * table.match("git.example.com", "https"); // the compiled "git" route
 * table.match("www.example.com", "https"); // undefined: terminated as usual
 * ```
 * @module
 */
import type { Cidr } from "../core/ip.ts";
import { normalizeHost } from "../core/host.ts";
import { type HostPattern, parseClientCidr } from "../policy/host-pattern.ts";
import type { Host } from "../policy/types.ts";
import type { PassthroughRouteConfig } from "./config-types.ts";
import { hostScore, parseRouteHost } from "./routes.ts";

/** A passthrough route ready to match. */
export interface CompiledPassthrough {
  readonly id: string;
  readonly config: PassthroughRouteConfig;
  readonly hosts: readonly HostPattern[];
  readonly listeners: ReadonlySet<string> | undefined;
  /** Client allow list; undefined = everyone. */
  readonly clients: readonly Cidr[] | undefined;
}

/** The compiled `reverse.passthrough` routes. */
export class PassthroughTable {
  readonly routes: readonly CompiledPassthrough[];

  constructor(routes: readonly PassthroughRouteConfig[]) {
    this.routes = routes.map((r) => ({
      id: r.id,
      config: r,
      hosts: r.hosts.map(parseRouteHost),
      listeners: r.listeners ? new Set(r.listeners) : undefined,
      clients: r.clients ? r.clients.map(parseClientCidr) : undefined,
    }));
  }

  /** The route for a ClientHello with server name `sni` (undefined: none sent) on `listener`, if any. */
  match(sni: string | undefined, listener: string): CompiledPassthrough | undefined {
    if (this.routes.length === 0) return undefined;
    let host: Host | undefined;
    try {
      host = sni === undefined ? undefined : normalizeHost(sni);
    } catch {
      host = undefined; // a name that is no host matches only "*"
    }
    let best: CompiledPassthrough | undefined;
    let bestScore = -1;
    for (const r of this.routes) {
      if (r.listeners && !r.listeners.has(listener)) continue;
      let score = -1;
      for (const p of r.hosts) score = Math.max(score, hostScore(p, host, undefined));
      if (score > bestScore) {
        best = r;
        bestScore = score;
      }
    }
    return best;
  }
}
