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
 * How `before`'s users fare under `after`: undefined when nothing is to be checked (no
 * proxy authentication before, so no connection has a user; or none after, so there is no
 * list to check against: turning authentication off closes nothing).
 */
export function userChanges(before: Config["proxyAuth"], after: Config["proxyAuth"]): UserRevocation | undefined {
  if (!before || !after) return undefined;
  const was = new Map(before.users.map((u) => [u.name, u]));
  const now = new Map(after.users.map((u) => [u.name, u]));
  // a user not in the old list signed in through the directory: a change to it (another
  // server, another part of the tree) or a local user of that name now ends their connections
  const directoryChanged = before.ldap !== undefined && JSON.stringify(before.ldap) !== JSON.stringify(after.ldap);
  const newLocal = before.ldap !== undefined && [...now.keys()].some((name) => !was.has(name));
  let changed = directoryChanged || newLocal;
  for (const [name, u] of was) if (changeOf(u, now.get(name)) !== undefined) changed = true;
  if (!changed) return undefined;
  return (name) => {
    if (!was.has(name)) {
      if (before.ldap && now.has(name)) return `user ${JSON.stringify(name)} is now a local user`;
      if (!directoryChanged) return undefined;
      return after.ldap ? `user ${JSON.stringify(name)} signed in through the directory, whose settings changed` : `user ${JSON.stringify(name)} signed in through the directory, which is no longer used`;
    }
    const change = changeOf(was.get(name)!, now.get(name));
    if (change === undefined) return undefined;
    return change === "removed" ? `user ${JSON.stringify(name)} is no longer a proxy user` : `the ${change} of user ${JSON.stringify(name)} changed`;
  };
}

/**
 * Whose familiar sign-in addresses a reload from `before` to `after` must forget (names in
 * lower case, as sign-ins are counted): a local user removed, added (one may take a name
 * from the directory) or with a new password, or, when the directory changed, its users.
 * The others keep theirs. Undefined: nobody's.
 */
export function familiarToForget(before: Config["proxyAuth"], after: Config["proxyAuth"]): ((name: string) => boolean) | undefined {
  const revoked = userChanges(before, after);
  if (!revoked || !before || !after) return undefined;
  const was = new Map(before.users.map((u) => [u.name, u]));
  const now = new Map(after.users.map((u) => [u.name, u]));
  const local = new Map<string, string[]>(); // lower case → the names in either list
  for (const name of new Set([...was.keys(), ...now.keys()])) local.set(name.toLowerCase(), [...(local.get(name.toLowerCase()) ?? []), name]);
  return (name) => {
    const names = local.get(name);
    if (!names) return revoked(name) !== undefined; // the directory's user: its settings changed
    // new groups are no reason to doubt where a user signed in from
    return names.some((n) => {
      const before = was.get(n);
      if (!before) return true;
      const change = changeOf(before, now.get(n));
      return change === "removed" || change === "password";
    });
  };
}

type LocalUser = NonNullable<Config["proxyAuth"]>["users"][number];

/** What changed of a local user: removed, or the password or groups (as rules compare them). */
function changeOf(before: LocalUser, after: LocalUser | undefined): "removed" | "password" | "groups" | undefined {
  if (after === undefined) return "removed";
  if (after.passwordHash !== before.passwordHash) return "password";
  return groupList(after.groups ?? []).join("\n") !== groupList(before.groups ?? []).join("\n") ? "groups" : undefined;
}
