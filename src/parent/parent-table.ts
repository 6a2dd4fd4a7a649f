import type { Config } from "../config/config.ts";
import { readPasswordFile } from "../config/password-file.ts";
import { basicAuthorization, type ParentProxy } from "./tunnel.ts";

/**
 * The config's parent proxies as flows use them, with each password file read now (at start
 * and at every reload, so a rotated secret takes effect on reload). One trailing newline is
 * not part of the password. A parent `previous` had at the same address keeps its health
 * (a reload does not bring an unreachable parent back early), and one that did not change at
 * all is `previous`'s very object.
 */
export function parentTable(config: Config, readText: (path: string) => string, previous?: ReadonlyMap<string, ParentProxy>): Map<string, ParentProxy> {
  const table = new Map<string, ParentProxy>();
  for (const [name, p] of Object.entries(config.parents)) {
    let authorization: string | undefined;
    let credentials: { username: string; password: string } | undefined;
    if (p.username !== undefined && p.passwordFile !== undefined) {
      const password = readPasswordFile(readText, `parents.${name}.passwordFile`, p.passwordFile);
      if (p.protocol === "socks5" && new TextEncoder().encode(password).length > 255) {
        throw new Error(`parents.${name}.passwordFile "${p.passwordFile}": a SOCKS5 password is at most 255 bytes`);
      }
      if (p.protocol === "socks5") credentials = { username: p.username, password };
      else authorization = basicAuthorization(p.username, password);
    }
    const before = previous?.get(name);
    const health = before && before.authority === p.authority ? before.health : { downUntil: 0, lastError: null };
    const next: ParentProxy = {
      name,
      host: p.host,
      port: p.port,
      authority: p.authority,
      protocol: p.protocol,
      ...(authorization ? { authorization } : {}),
      ...(credentials ? { credentials } : {}),
      ...(p.fallback !== undefined ? { fallback: p.fallback } : {}),
      ejectMs: p.ejectMs,
      ...(p.forwardedFor ? { forwardedFor: true } : {}),
      health,
      ...(p.healthCheck ? { healthCheck: p.healthCheck } : {}),
    };
    // the same object while nothing of it changed: connections kept to a parent are used again
    // only while their parent is the one in force (`http-forward.ts`), and a reload that
    // leaves it alone must not end them
    table.set(name, before && settingsOf(before) === settingsOf(next) ? before : next);
  }
  return table;
}

/** Everything of a parent but its health, as text to compare. */
function settingsOf(p: ParentProxy): string {
  const { health: _, ...settings } = p;
  return JSON.stringify(settings);
}
