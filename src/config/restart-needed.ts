/**
 * What a reload cannot change: the config sections that only take
 * effect after a restart, so a reload can name them instead of pretending.
 * @module
 */
import type { Config } from "./config.ts";

/**
 * Settings whose change only takes effect after a restart: `workers`, and the admin API's
 * listener, token and `openBootstrap` (it is bound and its app built once; its PAC settings
 * are read live).
 * A token rotated in the file, say after a leak, must not look revoked while the old one
 * still works.
 */
export function restartNeeded(old: Config, next: Config): string[] {
  const out: string[] = [];
  if (JSON.stringify(old.workers) !== JSON.stringify(next.workers)) out.push("workers");
  const [a, b] = [old.admin, next.admin];
  if ((a === undefined) !== (b === undefined)) out.push("admin");
  else if (a && b) {
    if (a.hostname !== b.hostname || a.port !== b.port) out.push("admin.listen");
    if (a.token !== b.token) out.push("admin.token");
    if (a.openBootstrap !== b.openBootstrap) out.push("admin.openBootstrap");
  }
  return out;
}
