/**
 * A sign-in judged by the users in force when its check ends. A password check takes tens of
 * milliseconds (longer queued behind others, or with a directory); a reload that removes the
 * user or changes their password while it runs finds nothing signed in yet to revoke, so the
 * users that reload put in force must decide, not the ones the check began with.
 * @module
 */

/**
 * `check(users)`, repeated with the users in force (`inForce()`) for as long as a reload
 * replaced them while it ran and it said yes. When `inForce()` gives none (sign-in turned
 * off), the yes stands: the listener takes anyone now.
 *
 * @example
 * ```ts
 * const auth = await checkedInForce(proxyAuth, () => ctx.proxyAuth?.(), (a) => a.check(header, clientIp));
 * ```
 */
export async function checkedInForce<T, R extends { readonly ok: boolean }>(users: T, inForce: () => T | undefined, check: (users: T) => Promise<R>): Promise<R> {
  let judged = users;
  let result = await check(judged);
  for (let now = inForce(); result.ok && now !== undefined && now !== judged; now = inForce()) {
    judged = now;
    result = await check(judged);
  }
  return result;
}
