/**
 * The system's hosts file (`/etc/hosts`), read by the gateway itself. The system lookup is
 * asked for absolute names only (`name.`, see `system.ts`), so that the resolver's search
 * list cannot turn the name the policy judged into another; getaddrinfo does not match an
 * absolute name against the hosts file, so its entries are looked up here.
 * @module
 */
import { formatIp, parseIp } from "../core/ip.ts";
import { hostNameError, normaliseName } from "./name.ts";

/** Largest hosts file read (bytes of text); the rest is ignored. */
export const MAX_HOSTS_FILE_CHARS = 4 * 1024 * 1024;

/**
 * The names of a hosts file and their addresses, in file order (a name on several lines has
 * the addresses of each, each once). Lines that are not `address name…` (a zone id such as
 * `fe80::1%lo0`, a bad name) are skipped: this is the system's file, not the gateway's config.
 *
 * @example
 * ```ts
 * parseHostsFile("127.0.0.1 localhost\n::1 localhost ip6-localhost # loopback\n");
 * // { localhost: ["127.0.0.1", "::1"], "ip6-localhost": ["::1"] }
 * ```
 */
export function parseHostsFile(text: string): Record<string, readonly string[]> {
  const out = new Map<string, string[]>();
  for (const raw of text.slice(0, MAX_HOSTS_FILE_CHARS).split("\n")) {
    const fields = raw.replace(/#.*/, "").trim().split(/\s+/);
    if (fields.length < 2) continue;
    const bytes = parseIp(fields[0]!);
    if (!bytes) continue;
    const address = formatIp(bytes);
    for (const field of fields.slice(1)) {
      const name = normaliseName(field);
      if (hostNameError(name) !== undefined) continue;
      const list = out.get(name) ?? [];
      if (!list.includes(address)) list.push(address);
      out.set(name, list);
    }
  }
  return Object.fromEntries(out);
}
