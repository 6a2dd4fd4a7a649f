import { raceSignal } from "./abort.ts";
import { DnsError } from "./error.ts";
import { normaliseName } from "./name.ts";
import type { LookupFunction, Resolution, Resolver } from "./types.ts";

const NOT_FOUND_CODES = new Set(["ENOTFOUND", "ENODATA", "EAI_NONAME", "EAI_NODATA", "EAI_FAIL"]);

/**
 * Resolves through the runtime's system resolver (`Runtime.lookup`), asked for the absolute
 * name (`example.com.`): a relative one would go through the resolver's search list, and
 * `CONNECT secret:443`, judged as `secret`, would dial `secret.corp.example`, which the
 * policy never saw. The hosts file's names (`hostsFile`, see `hosts-file.ts`), which
 * getaddrinfo does not match against an absolute name, are answered first. An empty answer
 * or a "no such name" failure becomes a `DnsError` of code "notfound", any other failure
 * code "error" (with the original as `cause`). The lookup itself cannot be cancelled; an
 * abort only stops waiting for it.
 *
 * @example
 * ```ts
 * const system = new SystemResolver((name) => runtime.lookup(name), parseHostsFile(text));
 * await system.resolve("example.com"); // looks up "example.com." → { addresses: [...], source: "system" }
 * ```
 */
export class SystemResolver implements Resolver {
  readonly #lookup: LookupFunction;
  readonly #hostsFile: ReadonlyMap<string, readonly string[]>;

  constructor(lookup: LookupFunction, hostsFile: Readonly<Record<string, readonly string[]>> = {}) {
    this.#lookup = lookup;
    this.#hostsFile = new Map(Object.entries(hostsFile).map(([name, addresses]) => [normaliseName(name), Object.freeze([...addresses])]));
  }

  async resolve(name: string, signal?: AbortSignal): Promise<Resolution> {
    signal?.throwIfAborted();
    const hostname = normaliseName(name);
    const listed = this.#hostsFile.get(hostname);
    if (listed !== undefined && listed.length > 0) return { addresses: listed, source: "system" };
    let addresses: string[];
    try {
      addresses = await raceSignal(this.#lookup(`${hostname}.`), signal);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      throw toDnsError(error, hostname);
    }
    if (addresses.length === 0) throw new DnsError("notfound", hostname);
    return { addresses: Object.freeze([...addresses]), source: "system" };
  }
}

function toDnsError(error: unknown, hostname: string): DnsError {
  if (error instanceof DnsError) return error;
  const code = error !== null && typeof error === "object" && "code" in error ? String(error.code) : "";
  const errorName = error instanceof Error ? error.name : "";
  if (NOT_FOUND_CODES.has(code) || errorName === "NotFound") {
    return new DnsError("notfound", hostname, undefined, { cause: error });
  }
  const detail = error instanceof Error ? `: ${error.message}` : "";
  return new DnsError("error", hostname, `Lookup of ${JSON.stringify(hostname)} failed${detail}`, { cause: error });
}
