/**
 * Client TLS contexts for `Bun.connect`, built once per trust configuration instead of once
 * per connection.
 *
 * Passing `ca` (the system roots plus the configured extra CAs) to every `Bun.connect` makes
 * Bun parse ~150 certificates into a new trust store for each upstream handshake: about
 * 230 µs of CPU per connection on the 2 vCPU test machine, a third of the client side of the
 * handshake (docs/performance.md). A context made once with `tls.createSecureContext` and
 * handed over as `tls.secureContext` costs nothing per connection and verifies the same way.
 *
 * Bun ignores the context-level options given next to a `secureContext` (checked with Bun
 * 1.4.5: `secureOptions` beside it let a TLS 1.2 server through a TLS 1.3 minimum), so the
 * minimum version, the trust anchors and the client certificate all go into the context;
 * `serverName`, ALPN and `rejectUnauthorized` stay per connection and are honoured.
 *
 * `Bun.connect` wants the native context that Bun's `node:tls` keeps in `.context` (it
 * refuses the `SecureContext` wrapper itself). Should a Bun version not have it, `undefined`
 * comes back and the caller passes the options per connection as before.
 *
 * @module
 */

import { createSecureContext } from "node:tls";
import type { TlsConnectOptions } from "../../core/tls.ts";
import { caList, secureOptionsFor } from "../node-tls/verify.ts";

/** Bun's native `SecureContext`, opaque here. */
export type NativeClientContext = object;

/** What a client context is made of. */
export type ClientContextOptions = Pick<TlsConnectOptions, "extraCaPem" | "minVersion" | "clientCertPem" | "clientKeyPem">;

/** Contexts kept per extra-CA list; more than this (distinct versions × client certificates) evicts the oldest. */
const MAX_PER_LIST = 16;

const NO_EXTRAS: readonly string[] = Object.freeze([]);

/**
 * Keyed by the extra-CA array itself: the config builds it once per load, so a reload's new
 * list gets new contexts and the old ones go with the old config.
 */
const byExtras = new WeakMap<readonly string[], Map<string, NativeClientContext>>();

function nativeContext(options: ClientContextOptions): NativeClientContext | undefined {
  const withCert = options.clientCertPem && options.clientKeyPem;
  const wrapper: unknown = createSecureContext({
    ca: caList(options.extraCaPem),
    secureOptions: secureOptionsFor(options.minVersion),
    ...(withCert ? { cert: options.clientCertPem, key: options.clientKeyPem } : {}),
  });
  const native = typeof wrapper === "object" && wrapper !== null && "context" in wrapper ? wrapper.context : undefined;
  return typeof native === "object" && native !== null ? native : undefined;
}

/**
 * The native client context for these options, made on first use and then reused; callers
 * should pass the same `extraCaPem` array each time (a new array builds a new context).
 * Throws what `createSecureContext` throws for a bad client certificate or key (nothing is
 * cached then). `undefined` when this Bun has no native context to hand over.
 *
 * @example
 * ```ts
 * const ctx = clientContext({ extraCaPem: config.extraCaPem, minVersion: "TLSv1.2" });
 * Bun.connect({ hostname, port, tls: ctx ? { secureContext: ctx, serverName } : { ca, secureOptions, serverName }, socket });
 * ```
 */
export function clientContext(options: ClientContextOptions): NativeClientContext | undefined {
  const list = options.extraCaPem && options.extraCaPem.length > 0 ? options.extraCaPem : NO_EXTRAS;
  const withCert = options.clientCertPem && options.clientKeyPem;
  const key = withCert ? `${options.minVersion}\0${options.clientCertPem}\0${options.clientKeyPem}` : options.minVersion;
  let contexts = byExtras.get(list);
  const cached = contexts?.get(key);
  if (cached) return cached;
  const made = nativeContext(options);
  if (!made) return undefined;
  if (!contexts) {
    contexts = new Map();
    byExtras.set(list, contexts);
  }
  if (contexts.size >= MAX_PER_LIST) contexts.delete(contexts.keys().next().value!);
  contexts.set(key, made);
  return made;
}
