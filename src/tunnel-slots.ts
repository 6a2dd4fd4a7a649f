/**
 * The gateway's tunnel slots (`limits.maxTunnels`, this process's share): a blind tunnel
 * (CONNECT, SOCKS5, a transparent splice) takes one while it runs; the metrics show how many are taken, and count a refusal as a
 * `limit` error.
 * @module
 */
import type { FlowContext } from "./flows/context.ts";
import type { GatewayMetrics } from "./metrics/gateway-metrics.ts";

/** Slots under the limit `max()` gives now (a reload may change it); `acquire` is false when all are taken. */
export function tunnelSlots(max: () => number, metrics: GatewayMetrics): NonNullable<FlowContext["tunnels"]> {
  let taken = 0;
  return {
    acquire: () => {
      if (taken >= max()) {
        metrics.errors.labels("limit").inc();
        return false;
      }
      taken++;
      metrics.activeTunnels.labels("all").set(taken);
      return true;
    },
    release: () => {
      taken--;
      metrics.activeTunnels.labels("all").set(taken);
    },
  };
}
