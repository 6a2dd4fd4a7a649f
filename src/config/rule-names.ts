/**
 * Whole-config checks of the names a rule's scope refers to: `listeners` must name
 * listeners, `users` (of rules and url rules) must name `proxyAuth` users, `hostLists` must
 * name `policy.hostLists`. A rule naming something that does not
 * exist (a typo, a removed account) would silently never match, so it is a config error,
 * reported at the item (`policy.rules[1].users[0]`).
 * @module
 */
import * as v from "valibot";
import { isPlainObject, ownString, USER_NAME_RE } from "./schema-kit.ts";
import { DIRECTORY_NAME_RE } from "../auth/ldap/directory.ts";

/**
 * A check that every `policy.<section>[i].<field>[j]` string passes `judge(config)`: the
 * judge returns the problem with a name (undefined when it is fine), or is itself undefined
 * when the config cannot be judged yet (another issue is reported for it).
 */
function ruleNamesCheck<T>(
  sections: readonly ("rules" | "urlRules")[],
  field: string,
  judge: (config: Record<string, unknown>) => ((name: string) => string | undefined) | undefined,
) {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const config: unknown = dataset.value;
    if (!isPlainObject(config) || !isPlainObject(config["policy"])) return;
    const root = config;
    const policy = config["policy"];
    const problem = judge(config);
    if (!problem) return;
    const check = (section: string, rules: unknown[]): void => {
      rules.forEach((rule: unknown, i) => {
        if (!isPlainObject(rule) || !Array.isArray(rule[field])) return;
        const list: unknown[] = rule[field];
        list.forEach((name, j) => {
          const message = typeof name === "string" ? problem(name) : undefined;
          if (message === undefined) return;
          addIssue({
            message,
            path: [
              { type: "object", origin: "value", input: root, key: "policy", value: policy },
              { type: "object", origin: "value", input: policy, key: section, value: rules },
              { type: "array", origin: "value", input: rules, key: i, value: rule },
              { type: "object", origin: "value", input: rule, key: field, value: list },
              { type: "array", origin: "value", input: list, key: j, value: name },
            ],
          });
        });
      });
    };
    for (const section of sections) {
      const rules = policy[section];
      if (Array.isArray(rules)) check(section, rules);
    }
  });
}

/**
 * Report `policy.rules[i].listeners[j]` items that name no listener (given or generated
 * `listener-<n>` names). Runs on the whole config, after the default sections are in.
 */
export function ruleListenersExist<T>() {
  return ruleNamesCheck<T>(["rules"], "listeners", (config) => {
    const listeners = config["listeners"];
    if (!Array.isArray(listeners)) return undefined;
    const names = new Set<string>();
    listeners.forEach((listener: unknown, index) => {
      const name = isPlainObject(listener) ? ownString(listener, "name", `listener-${index + 1}`) : undefined;
      if (name !== undefined) names.add(name);
    });
    return (name) => (names.has(name) ? undefined : `no listener named ${JSON.stringify(name)}`);
  });
}

/**
 * Report `policy.rules[i].users[j]` and `policy.urlRules[i].users[j]` items that name no
 * `proxyAuth` user (or when there is no `proxyAuth`).
 */
export function ruleUsersExist<T>() {
  return ruleNamesCheck<T>(["rules", "urlRules"], "users", (config) => userNameProblem(config, "explicit"));
}

/**
 * What is wrong with a user name a rule or route gives, under `config`'s `proxyAuth`
 * (undefined: nothing). Without a directory it must be a local user; with one, any name the
 * directory is asked about, in lower case; with a listener of kind `signedInOn` (proxy rules:
 * `explicit`; reverse routes: `reverse`) taking client certificates, any user name — for a
 * reverse route, one of the listeners it applies to (`routeListeners`; absent: all).
 */
export function userNameProblem(config: Record<string, unknown>, signedInOn: "explicit" | "reverse", routeListeners?: unknown): (name: string) => string | undefined {
  const auth = config["proxyAuth"];
  const names = new Set<string>();
  if (isPlainObject(auth) && Array.isArray(auth["users"])) {
    for (const u of auth["users"]) if (isPlainObject(u) && typeof u["name"] === "string") names.add(u["name"]);
  }
  // with a directory, any other name may sign in, named in lower case (see proxy-auth.ts)
  const directory = isPlainObject(auth) && auth["ldap"] !== undefined;
  // so may any name a client certificate carries, on a listener of that kind that takes them
  const applies = (l: Record<string, unknown>) => !Array.isArray(routeListeners) || routeListeners.includes(l["name"]);
  const certificates = Array.isArray(config["listeners"]) && config["listeners"].some((l: unknown) =>
    isPlainObject(l) && l["mode"] === signedInOn && isPlainObject(l["tls"]) && l["tls"]["clientCertificates"] !== undefined && applies(l)
  );
  const folded = new Set([...names].map((n) => n.toLowerCase()));
  return (name) => {
    if (names.has(name)) return undefined;
    if (!USER_NAME_RE.test(name)) return `${JSON.stringify(name)} cannot be a proxyAuth user name (1-64 characters, no colon or control characters)`;
    if (certificates) return undefined;
    if (!isPlainObject(auth)) {
      return signedInOn === "reverse"
        ? `names user ${JSON.stringify(name)}, but there is no proxyAuth, and no listener of the route takes client certificates: no request of it has a user`
        : `names user ${JSON.stringify(name)}, but there is no proxyAuth: no flow has a user`;
    }
    if (!directory || folded.has(name.toLowerCase())) return `no proxyAuth user named ${JSON.stringify(name)}`;
    if (!DIRECTORY_NAME_RE.test(name)) return `${JSON.stringify(name)} is not a local user, nor a name the directory is asked about (letters, digits and ._@- only)`;
    if (name !== name.toLowerCase()) return `${JSON.stringify(name)} is not a local user, and directory users are named in lower case: write ${JSON.stringify(name.toLowerCase())}`;
    return undefined;
  };
}

/**
 * Report `policy.rules[i].groups[j]` and `policy.urlRules[i].groups[j]` items no user can be
 * in: without `proxyAuth`, or a group no local user has while the directory's groups are not
 * read (`proxyAuth.ldap.groups`). Compared in lower case, as sign-ins compare them.
 */
export function ruleGroupsExist<T>() {
  return ruleNamesCheck<T>(["rules", "urlRules"], "groups", groupNameProblem);
}

/**
 * What is wrong with a group name a rule or route gives, under `config`'s `proxyAuth`
 * (undefined: nothing): some local user must be in it, unless the directory's groups are read.
 */
export function groupNameProblem(config: Record<string, unknown>): (name: string) => string | undefined {
  const auth = config["proxyAuth"];
  const known = new Set<string>();
  if (isPlainObject(auth) && Array.isArray(auth["users"])) {
    for (const u of auth["users"]) {
      if (isPlainObject(u) && Array.isArray(u["groups"])) for (const g of u["groups"]) if (typeof g === "string") known.add(g.toLowerCase());
    }
  }
  const ldap = isPlainObject(auth) ? auth["ldap"] : undefined;
  const directoryGroups = isPlainObject(ldap) && ldap["groups"] !== undefined;
  return (name) => {
    if (!isPlainObject(auth)) return `names group ${JSON.stringify(name)}, but there is no proxyAuth: no flow has a user`;
    if (directoryGroups || known.has(name.toLowerCase())) return undefined;
    const local = known.size === 0 ? "no local user has groups" : `local users' groups: ${[...known].sort().map((g) => JSON.stringify(g)).join(", ")}`;
    const hint = ldap === undefined ? "" : "; the directory's groups are read only with proxyAuth.ldap.groups";
    return `no proxyAuth user is in group ${JSON.stringify(name)} (${local}${hint})`;
  };
}

/** Report `policy.rules[i].hostLists[j]` and `policy.urlRules[i].hostLists[j]` items that name no `policy.hostLists` entry. */
export function ruleHostListsExist<T>() {
  return ruleNamesCheck<T>(["rules", "urlRules"], "hostLists", (config) => {
    const policy = config["policy"];
    const lists = isPlainObject(policy) && isPlainObject(policy["hostLists"]) ? policy["hostLists"] : {};
    const names = Object.keys(lists);
    const known = names.length === 0 ? "the policy has no hostLists" : `the policy has ${names.map((n) => JSON.stringify(n)).join(", ")}`;
    return (name) => (Object.hasOwn(lists, name) ? undefined : `no host list named ${JSON.stringify(name)} (${known})`);
  });
}
