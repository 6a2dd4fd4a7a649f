/**
 * How a decision sends a flow's upstream, in words: `direct`, or through a named parent proxy
 * at its address as configured now. Two decisions with the same name send a flow the same
 * way; the gateway closes an open flow whose name a reload or a schedule changed.
 * @module
 */
import type { Decision } from "../policy/types.ts";
import type { ParentProxy } from "./tunnel.ts";

/**
 * @example
 * ```ts
 * routeName(decision, parents); // 'through parent "corp" (proxy.corp.example:3128)', '… (socks5://socks.corp.example:1080)', or "direct"
 * ```
 */
export function routeName(decision: Pick<Decision, "parent">, parents: ReadonlyMap<string, ParentProxy>): string {
  if (decision.parent === undefined) return "direct";
  const parent = parents.get(decision.parent);
  // a SOCKS5 parent is named so: http://p:1080 becoming socks5://p:1080 is another route
  const where = parent ? (parent.protocol === "socks5" ? `socks5://${parent.authority}` : parent.authority) : undefined;
  return `through parent "${decision.parent}"${where ? ` (${where})` : " (not configured)"}`;
}
