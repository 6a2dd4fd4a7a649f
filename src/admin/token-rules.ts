/**
 * When the admin API may be bound, by its token: what `serve` enforces before it binds and
 * `config check` reports, from the same config and environment.
 *
 * @module
 */
import type { AdminConfig } from "../config/config.ts";
import { isLoopbackHost } from "../core/host.ts";

/** Shortest token taken from the environment (the schema asks the same of `admin.token`). */
export const MIN_ADMIN_TOKEN = 16;

/** The token the admin API asks for: `admin.token`, else `TOLLGATE_ADMIN_TOKEN` (empty is none). */
export function adminToken(admin: AdminConfig, envToken: string | undefined): string | undefined {
  return admin.token ?? (envToken || undefined);
}

/**
 * Why the admin API must not be bound with `admin` and the environment's token `envToken`:
 * a token too short to resist guessing, or a non-loopback address with no token at all.
 * Undefined when it may (or there is no admin API).
 */
export function adminTokenProblem(admin: AdminConfig | undefined, envToken: string | undefined): string | undefined {
  if (!admin) return undefined;
  const token = adminToken(admin, envToken);
  if (token !== undefined && token.length < MIN_ADMIN_TOKEN) {
    return `TOLLGATE_ADMIN_TOKEN has ${token.length} characters; at least ${MIN_ADMIN_TOKEN} are needed`;
  }
  if (!token && !isLoopbackHost(admin.hostname)) {
    return `refusing to bind the admin API to ${admin.hostname} without a token (admin.token or TOLLGATE_ADMIN_TOKEN)`;
  }
  return undefined;
}
