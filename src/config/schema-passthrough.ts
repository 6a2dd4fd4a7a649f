/**
 * Config schema of `reverse.passthrough[]`: TLS connections routed by SNI to a pool without
 * being terminated. Its cross-checks (pool, listeners, `https://` backends, ids apart from
 * `reverse.routes`) are run by `reverseReferences` in `schema-reverse.ts`.
 * @module
 */
import * as v from "valibot";
import type { PassthroughRouteConfig } from "../reverse/config-types.ts";
import { routeHostError } from "../reverse/routes.ts";
import { checkedString, cidrList, expected, ID_RE, ID_WHAT, id, isPlainObject, object, ownString, unique } from "./schema-kit.ts";

const passthroughRouteSchema = object({
  id: v.optional(id),
  hosts: v.pipe(
    v.array(checkedString('a host name, "*.suffix" or "*"', routeHostError), expected("an array of host patterns")),
    v.check((h) => h.length > 0, 'expected at least one host pattern (use ["*"] for any server name)'),
  ),
  pool: checkedString(ID_WHAT, (t) => (ID_RE.test(t) ? undefined : `expected ${ID_WHAT}, got ${JSON.stringify(t)}`)),
  listeners: v.optional(v.array(v.string(expected("a listener name")), expected("an array of listener names"))),
  clients: v.optional(cidrList),
});

/** `reverse.passthrough`: an array of passthrough routes with unique ids. */
export const passthroughSchema = v.pipe(
  v.array(passthroughRouteSchema, expected("an array of passthrough routes")),
  unique("id", "passthrough route id", (item, index) => passthroughId(item, index)),
);

function passthroughId(item: Record<string, unknown>, index: number): string | undefined {
  return ownString(item, "id", `passthrough-${index + 1}`);
}

/** A problem found by {@link passthroughIssues}: a message and the path below `reverse`. */
export interface PassthroughIssue {
  readonly message: string;
  /** Keys and values from `passthrough` down. */
  readonly path: readonly [string | number, unknown][];
}

/**
 * Cross-checks of `reverse.passthrough` against the rest of the config: the pool exists and
 * all its backends are `https://` (they terminate the TLS); named listeners are reverse
 * listeners with TLS; no id is also a route's (logs name either by id); none applies to a
 * listener that requires client certificates (a connection passed through is not terminated,
 * so no certificate could be checked).
 */
export function passthroughIssues(config: Record<string, unknown>, reverse: Record<string, unknown>): PassthroughIssue[] {
  const list = reverse["passthrough"];
  if (!Array.isArray(list)) return [];
  const pools = isPlainObject(reverse["pools"]) ? reverse["pools"] : {};
  const routes = Array.isArray(reverse["routes"]) ? (reverse["routes"] as unknown[]) : [];
  const routeIds = new Set(routes.map((r, i) => (isPlainObject(r) ? ownString(r, "id", `route-${i + 1}`) : undefined)));
  const tlsListeners = new Map<string, boolean>();
  /** Reverse listeners whose clients must present a certificate. */
  const certified = new Set<string>();
  const listeners = Array.isArray(config["listeners"]) ? (config["listeners"] as unknown[]) : [];
  listeners.forEach((l, i) => {
    if (!isPlainObject(l) || l["mode"] !== "reverse") return;
    const name = ownString(l, "name", `listener-${i + 1}`);
    if (name === undefined) return;
    tlsListeners.set(name, l["tls"] !== false);
    const certs = isPlainObject(l["tls"]) ? l["tls"]["clientCertificates"] : undefined;
    if (isPlainObject(certs) && certs["required"] !== false) certified.add(name);
  });
  const unchecked = (name: string) =>
    `listener ${JSON.stringify(name)} requires client certificates, and a passed-through connection is not terminated, so none could be checked: leave it out of this route's "listeners"`;
  const issues: PassthroughIssue[] = [];
  list.forEach((r: unknown, i) => {
    if (!isPlainObject(r)) return;
    const at: [string | number, unknown][] = [["passthrough", list], [i, r]];
    const routeId = passthroughId(r, i);
    if (routeId !== undefined && routeIds.has(routeId)) {
      issues.push({ message: `${JSON.stringify(routeId)} is also the id of a route in reverse.routes; give each its own`, path: [...at, ["id", r["id"]]] });
    }
    const pool = r["pool"];
    if (typeof pool === "string") {
      const p = pools[pool];
      if (!Object.hasOwn(pools, pool)) issues.push({ message: `no pool named ${JSON.stringify(pool)}`, path: [...at, ["pool", pool]] });
      else if (isPlainObject(p) && Array.isArray(p["backends"])) {
        const plain = (p["backends"] as unknown[]).filter((b) => typeof b === "string" && !/^https:\/\//i.test(b));
        if (plain.length > 0) {
          issues.push({
            message: `pool ${JSON.stringify(pool)} has backends that do not speak TLS (${plain.map((b) => JSON.stringify(b)).join(", ")}): a passthrough route's backends terminate the TLS themselves, so they must be https:// URLs`,
            path: [...at, ["pool", pool]],
          });
        }
      }
    }
    const names = r["listeners"];
    if (Array.isArray(names)) {
      names.forEach((n: unknown, j) => {
        if (typeof n !== "string") return;
        const tls = tlsListeners.get(n);
        if (tls === undefined) issues.push({ message: `no reverse listener named ${JSON.stringify(n)}`, path: [...at, ["listeners", names], [j, n]] });
        else if (!tls) issues.push({ message: `listener ${JSON.stringify(n)} is plain HTTP ("tls": false): passthrough needs a TLS reverse listener`, path: [...at, ["listeners", names], [j, n]] });
        else if (certified.has(n)) issues.push({ message: unchecked(n), path: [...at, ["listeners", names], [j, n]] });
      });
    } else if (names === undefined && certified.size > 0) {
      const named = [...certified].map((n) => JSON.stringify(n)).join(", ");
      issues.push({
        message: `applies to every reverse listener (no "listeners"), among them ones that require client certificates (${named}), which a passed-through connection is not checked for (it is not terminated): name the listeners it applies to in "listeners"`,
        path: [...at, ["listeners", undefined]],
      });
    }
  });
  return issues;
}

type WirePassthrough = v.InferOutput<typeof passthroughSchema>;

/** The domain form of `reverse.passthrough`. */
export function toPassthrough(wire: WirePassthrough): PassthroughRouteConfig[] {
  return wire.map((r, i) => ({
    id: r.id ?? `passthrough-${i + 1}`,
    hosts: [...r.hosts],
    pool: r.pool,
    ...(r.listeners ? { listeners: [...r.listeners] } : {}),
    ...(r.clients ? { clients: [...r.clients] } : {}),
  }));
}
