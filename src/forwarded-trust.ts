import type { Config } from "./config/config.ts";
import { TrustList } from "./reverse/forwarded.ts";

/** One list per config array: built once, not per request. */
const trustLists = new WeakMap<readonly string[], TrustList>();

/** The `trustForwardedFrom` of explicit listener `name` in `config` (a reload's, for connections opened before it). */
export function forwardedTrust(config: Config, name: string): TrustList | undefined {
  const l = config.listeners.find((x) => x.name === name);
  if (l?.mode !== "explicit" || !l.trustForwardedFrom) return undefined;
  let list = trustLists.get(l.trustForwardedFrom);
  if (!list) trustLists.set(l.trustForwardedFrom, list = new TrustList(l.trustForwardedFrom));
  return list;
}
