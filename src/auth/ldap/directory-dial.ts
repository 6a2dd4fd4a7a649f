/**
 * How the gateway reaches its LDAP directory: the URL's host resolved through the gateway's
 * own resolver, its addresses dialled in turn, and for `ldaps://` TLS validated against the
 * system roots plus `caFile` for the URL's host name.
 * @module
 */
import type { Runtime } from "../../core/runtime.ts";
import type { Resolver } from "../../dns/types.ts";
import { normalizeHost } from "../../core/host.ts";
import type { Host } from "../../policy/types.ts";
import type { DirectoryDial } from "./directory.ts";
import { connectVerified } from "../../core/verified-tls.ts";

/** An `ldap://` or `ldaps://` URL, split. */
export interface DirectoryAddress {
  readonly tls: boolean;
  /** As written (a name, or an IP address without brackets): the TLS name. */
  readonly host: string;
  /** The host, normalised. */
  readonly target: Host;
  readonly port: number;
}

/**
 * Splits `ldap[s]://host[:port]` (no path, user or query): port 389 or 636 by default.
 * @throws {TypeError} naming what is wrong
 */
export function parseDirectoryUrl(text: string): DirectoryAddress {
  const m = /^(ldaps?):\/\/(\[[0-9A-Fa-f:.]+\]|[^/:@?#\[\]]+)(?::(\d{1,5}))?\/?$/.exec(text);
  if (!m) throw new TypeError(`expected "ldaps://host[:port]" or "ldap://host[:port]", got ${JSON.stringify(text)}`);
  const tls = m[1] === "ldaps";
  const port = m[3] === undefined ? (tls ? 636 : 389) : Number(m[3]);
  if (port < 1 || port > 65535) throw new TypeError(`port ${port} is out of range`);
  const host = m[2]!.startsWith("[") ? m[2]!.slice(1, -1) : m[2]!;
  return { tls, host, port, target: normalizeHost(host) };
}

/** Dials `address` (resolved by `resolver`), with TLS for `ldaps://`. */
export function directoryDial(
  address: DirectoryAddress,
  deps: { readonly runtime: Pick<Runtime, "dial" | "tls">; readonly resolver: Resolver },
  extraCaPem: readonly string[],
): DirectoryDial {
  return async (signal) => {
    const t = address.target;
    const addresses = t.kind === "dns" ? (await deps.resolver.resolve(t.name, signal)).addresses : [t.address];
    let last: unknown;
    for (const ip of addresses) {
      try {
        if (!address.tls) return await deps.runtime.dial({ address: ip, port: address.port, signal });
        return await connectVerified(deps.runtime.tls, ip, address.port, address.host, extraCaPem, signal);
      } catch (e) {
        last = e;
        if (signal.aborted) break;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  };
}
