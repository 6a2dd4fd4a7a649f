/**
 * What a reload did to the proxy users, for the connections they have open: a user removed
 * from `proxyAuth.users`, or whose password changed, should not keep a tunnel (or a download)
 * opened with the old credentials — the usual reason to remove a user or change a password
 * is that the account or the password may be in the wrong hands. A user whose groups changed
 * goes too: their connections were decided with the old groups.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import { groupList } from "./proxy-auth.ts";

/** Why user `name`'s open connections may not go on (undefined: they may). */
export type UserRevocation = (name: string) => string | undefined;

/**
 * How `before`'s users fare under `after`: undefined when nothing is to be checked. Turning
 * authentication off (no `after`) closes nothing. Without a `proxyAuth` before, the only
 * users were those client certificates signed in, with no groups: they are checked against
 * the groups `after` gives them.
 */
export function userChanges(before: Config["proxyAuth"], after: Config["proxyAuth"]): UserRevocation | undefined {
  if (!after) return undefined;
  const was = new Map((before?.users ?? []).map((u) => [u.name, u]));
  const now = new Map(after.users.map((u) => [u.name, u]));
  const dirBefore = before?.ldap;
  // a user not in the old list signed in through the directory (a password, or a client
  // certificate whose groups it told): a change to it (another server, another part of the
  // tree) ends their connections; so does one that starts telling certificate users' groups
  const directoryChanged = JSON.stringify(dirBefore) !== JSON.stringify(after.ldap) && (dirBefore !== undefined || after.ldap?.certificateUsers !== undefined);
  // A new local user takes a name over. With a directory before, the name in any case: it
  // is asked of the directory no more (password users, and certificate users' groups).
  // Without one, the same name, when the local user gives a certificate user groups.
  const wasFolded = new Set([...was.keys()].map((n) => n.toLowerCase()));
  const newFolded = new Map([...now.keys()].filter((n) => !wasFolded.has(n.toLowerCase())).map((n) => [n.toLowerCase(), n]));
  const takenOver = (name: string): string | undefined => {
    if (was.has(name)) return undefined;
    if (dirBefore !== undefined) return newFolded.get(name.toLowerCase());
    return (now.get(name)?.groups?.length ?? 0) > 0 ? name : undefined;
  };
  const newLocal = dirBefore !== undefined ? newFolded.size > 0 : [...now.keys()].some((n) => takenOver(n) !== undefined);
  let changed = directoryChanged || newLocal;
  for (const [name, u] of was) if (changeOf(u, now.get(name)) !== undefined) changed = true;
  if (!changed) return undefined;
  return (name) => {
    if (!was.has(name)) {
      const local = takenOver(name);
      if (local !== undefined) return local === name ? `user ${JSON.stringify(name)} is now a local user` : `user ${JSON.stringify(name)} is now local user ${JSON.stringify(local)}'s name`;
      if (now.has(name)) return undefined;
      if (!directoryChanged) return undefined;
      if (dirBefore === undefined) return `the groups of user ${JSON.stringify(name)} are read from the directory now`;
      return after.ldap ? `user ${JSON.stringify(name)} signed in through the directory, whose settings changed` : `user ${JSON.stringify(name)} signed in through the directory, which is no longer used`;
    }
    const change = changeOf(was.get(name)!, now.get(name));
    if (change === undefined) return undefined;
    return change === "removed" ? `user ${JSON.stringify(name)} is no longer a proxy user` : `the ${change} of user ${JSON.stringify(name)} changed`;
  };
}

/**
 * Whose familiar sign-in addresses a reload from `before` to `after` must forget (names in
 * lower case, as sign-ins are counted): a local user removed, added (the name may have been
 * another's: a directory user's, a local user's in other case) or with a new password; and
 * the directory's users when the directory itself may be another (its `url`, `bindName` or
 * `caFile` changed, or it is gone). New groups or timeouts are no reason to doubt where a
 * user signed in from. Undefined: nobody's.
 */
export function familiarToForget(before: Config["proxyAuth"], after: Config["proxyAuth"]): ((name: string) => boolean) | undefined {
  if (!before || !after) return undefined;
  const was = new Map(before.users.map((u) => [u.name, u]));
  const now = new Map(after.users.map((u) => [u.name, u]));
  const changed = new Set<string>();
  for (const [name, u] of was) {
    const change = changeOf(u, now.get(name));
    if (change === "removed" || change === "password") changed.add(name.toLowerCase());
  }
  for (const name of now.keys()) if (!was.has(name)) changed.add(name.toLowerCase());
  const dir = before.ldap;
  const directoryMoved = dir !== undefined && (after.ldap === undefined || after.ldap.url !== dir.url || after.ldap.bindName !== dir.bindName || after.ldap.caFile !== dir.caFile);
  if (changed.size === 0 && !directoryMoved) return undefined;
  const local = new Set([...was.keys(), ...now.keys()].map((name) => name.toLowerCase()));
  return (name) => changed.has(name) || (directoryMoved && !local.has(name));
}

type LocalUser = NonNullable<Config["proxyAuth"]>["users"][number];

/** What changed of a local user: removed, or the password or groups (as rules compare them). */
function changeOf(before: LocalUser, after: LocalUser | undefined): "removed" | "password" | "groups" | undefined {
  if (after === undefined) return "removed";
  if (after.passwordHash !== before.passwordHash) return "password";
  return groupList(after.groups ?? []).join("\n") !== groupList(before.groups ?? []).join("\n") ? "groups" : undefined;
}
