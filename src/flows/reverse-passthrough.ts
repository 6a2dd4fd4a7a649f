/**
 * A reverse listener's TLS connection that a passthrough route takes: not terminated; the
 * very same ClientHello bytes, after a PROXY header when the pool sends those, go to a
 * backend of the route's pool (balanced, with fail-over and passive ejection as for
 * requests), and the bytes are relayed both ways until either side ends. The backend holds
 * the certificate; the gateway never sees the plaintext.
 * @module
 */
import { concatBytes } from "../core/bytes.ts";
import type { Conn } from "../core/conn.ts";
import { clientRateKey } from "../policy/rate-limiter.ts";
import { TlsAlert } from "../protocol/tls-alert.ts";
import { backendName, dialBackend } from "../reverse/dial.ts";
import type { ReverseListenerState } from "../reverse/listener-state.ts";
import type { CompiledPassthrough } from "../reverse/passthrough.ts";
import { clientAllowed } from "../reverse/routes.ts";
import type { ConnReader } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { errorText, type FlowState } from "./flow-state.ts";
import { proxyHeaderFor } from "./reverse-forward.ts";
import { splice } from "./splice.ts";
import { trackFlow } from "./live-flows.ts";
import { refuseTls } from "./tls-hello.ts";
import { UpstreamError } from "./upstream.ts";

/**
 * Relays `client` (whose ClientHello `raw` was read through `src`) to a backend of `route`'s
 * pool, and writes the flow line. A client not in the route's `clients` gets an
 * `access_denied` alert; when no backend can be reached, an `internal_error` alert.
 */
export async function passThrough(
  client: Conn,
  src: ConnReader,
  raw: Uint8Array,
  sni: string | undefined,
  route: CompiledPassthrough,
  state: ReverseListenerState,
  ctx: FlowContext,
  flow: FlowState,
): Promise<void> {
  const r = flow.record;
  r.rule = route.id;
  r.decryption = "passthrough";
  if (route.clients && !clientAllowed(route.clients, client.remote.address)) {
    r.decision = "deny";
    r.reason = `client ${client.remote.address} is not in the clients of passthrough route "${route.id}"`;
    await refuseTls(client, TlsAlert.accessDenied, src);
    return flow.finish("denied");
  }
  const pool = state.pools.get(route.config.pool);
  if (!pool) {
    await refuseTls(client, TlsAlert.internalError, src);
    return flow.finish("error", `Passthrough route "${route.id}": no pool "${route.config.pool}"`);
  }
  r.decision = "allow";
  r.reason = `passthrough route "${route.id}" to pool "${pool.pool.id}"`;
  const preamble = pool.proxyProtocol ? proxyHeaderFor(pool.proxyProtocol, client, sni) : undefined;
  const errors: string[] = [];
  let timeouts = 0;
  const candidates = pool.pool.candidates(pool.pool.balance === "client-hash" ? clientRateKey(client.remote.address) : undefined);
  for (const b of candidates) {
    let up;
    try {
      up = await dialBackend(ctx, b, pool.tls, pool.connectTimeoutMs, undefined, { tcpOnly: true, ...(preamble ? { preamble } : {}) });
    } catch (e) {
      const message = errorText(e);
      if (e instanceof UpstreamError && (e.kind === "timeout" || e.kind === "dns-timeout")) timeouts++;
      errors.push(message);
      if (pool.pool.connectFailed(b, message)) {
        state.log(`backend ${backendName(b)} of pool "${pool.pool.id}" ejected for ${pool.pool.ejectMs / 1000} s: ${message}`);
      }
      continue;
    }
    pool.pool.connected(b);
    const name = backendName(b);
    r.resolved = up.address;
    r.reason = `passthrough route "${route.id}" to pool "${pool.pool.id}" (backend ${name})`;
    const rest = src.release();
    pool.pool.began(b); // a passthrough connection counts as a request in flight until it ends
    const progress = flow.relaying();
    trackFlow(ctx, flow, client);
    flow.watch?.also(up.conn);
    try {
      const result = await splice(ctx.runtime, client, up.conn, {
        headA: rest ? concatBytes([raw, rest]) : raw,
        idleTimeoutMs: pool.timeoutMs,
        names: ["client", "backend"],
        progress,
      });
      r.bytesUp = result.bytesAtoB;
      r.bytesDown = result.bytesBtoA;
      return flow.finish(result.end, result.error);
    } finally {
      pool.pool.ended(b);
    }
  }
  await refuseTls(client, TlsAlert.internalError, src);
  const timedOut = timeouts === candidates.length ? " (every attempt timed out)" : "";
  flow.finish("error", `No backend of pool "${pool.pool.id}" could be reached${timedOut}: ${errors.join("; ")}`);
}
