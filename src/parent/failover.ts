/**
 * Parent proxy failover. A parent with a `fallback` hands the flow to that parent when it
 * cannot be reached: its name does not resolve, every address refuses or fails, it does not
 * take the connection within the connect timeout, or (SOCKS5) it fails the greeting, before
 * it knows the destination. Never once it knew the destination: a `403` is its policy, a
 * `407` our credentials, a `502` its own trouble reaching the destination, and silence, a
 * close or a garbled answer are about that destination too (an HTTP parent answers CONNECT
 * only once it reached it). Trying another parent would second-guess it, and a client
 * naming a destination that never answers could put the parent out of service for
 * everyone. The chain follows `fallback` links (the config refuses loops).
 *
 * A parent that could not be reached is passed over for its `ejectMs`, so later flows do not
 * each wait for a parent that is down; when every parent of the chain is passed over, all
 * are tried again, in order. One that is reached is back in service at once.
 * @module
 */
import type { FlowContext } from "../flows/context.ts";
import { UpstreamError } from "../flows/upstream.ts";
import type { ParentProxy } from "./tunnel.ts";

/** `first` and the parents its `fallback` links lead to, in order (each once). */
export function parentChain(parents: ReadonlyMap<string, ParentProxy>, first: ParentProxy): ParentProxy[] {
  const chain = [first];
  const seen = new Set([first.name]);
  for (let next = first.fallback; next !== undefined && !seen.has(next);) {
    const p = parents.get(next);
    if (!p) break;
    chain.push(p);
    seen.add(next);
    next = p.fallback;
  }
  return chain;
}

/** True for a failure to reach a parent (as opposed to an answer from it, or our own refusal). */
function unreachable(e: unknown): e is UpstreamError {
  return e instanceof UpstreamError && (e.kind === "connect" || e.kind === "timeout" || e.kind === "dns" || e.kind === "dns-timeout");
}

/**
 * Runs `attempt` with `first`, and with its fallbacks in turn while a parent cannot be
 * reached (see the module doc); resolves with the value and the parent that gave it. Any
 * other error is rethrown at once. When every parent tried was unreachable: the only error,
 * or one naming each parent's failure (a timeout when all timed out).
 */
export async function throughParents<T>(
  ctx: Pick<FlowContext, "parents">,
  first: ParentProxy,
  attempt: (parent: ParentProxy) => Promise<T>,
  now: () => number = Date.now,
): Promise<{ readonly value: T; readonly parent: ParentProxy }> {
  const chain = first.fallback === undefined ? [first] : parentChain(ctx.parents?.() ?? new Map(), first);
  const at = now();
  const inService = chain.filter((p) => p.health.downUntil <= at);
  const errors: UpstreamError[] = [];
  for (const parent of inService.length > 0 ? inService : chain) {
    try {
      const value = await attempt(parent);
      parent.health.downUntil = 0;
      return { value, parent };
    } catch (e) {
      if (!unreachable(e)) throw e;
      parent.health.downUntil = now() + parent.ejectMs;
      parent.health.lastError = e.message;
      errors.push(e);
    }
  }
  if (errors.length === 1) throw errors[0];
  const timeouts = errors.every((e) => e.kind === "timeout" || e.kind === "dns-timeout");
  throw new UpstreamError(timeouts ? "timeout" : "connect", `No parent proxy could be reached: ${errors.map((e) => e.message).join("; ")}`, {
    cause: errors.at(-1),
    proxyStatus: timeouts ? "connection_timeout" : "destination_unavailable",
  });
}
