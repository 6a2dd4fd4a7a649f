/**
 * What a reload cannot change: the config sections (and listener settings) that only take
 * effect after a restart, so a reload can name them instead of pretending.
 * @module
 */
import type { Config, ListenerConfig } from "./config.ts";

/** Sections whose change only takes effect after a restart. */
export function restartNeeded(old: Config, next: Config): string[] {
  const out: string[] = [];
  for (const key of ["ca", "interception", "workers"] as const) {
    if (JSON.stringify(old[key]) !== JSON.stringify(next[key])) out.push(key);
  }
  if (JSON.stringify(old.listeners.map(fixedPart)) !== JSON.stringify(next.listeners.map(fixedPart))) out.unshift("listeners");
  return out;
}

/** A listener's settings that a reload cannot change (the reverse proxy reloads the rest). */
function fixedPart(l: ListenerConfig): unknown {
  switch (l.mode) {
    case "reverse": {
      const { tls: _tls, trustForwardedFrom: _trust, ...rest } = l;
      return rest;
    }
    case "redirect-https": {
      const { httpsPort: _port, ...rest } = l;
      return rest;
    }
    default:
      return l;
  }
}
