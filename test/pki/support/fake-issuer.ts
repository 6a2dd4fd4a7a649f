/** A leaf source for cache tests whose mints the test holds open, releases or fails. */
import type { LeafSource } from "../../../src/pki/leaf_cache.ts";
import type { Leaf } from "../../../src/pki/leaf_issuer.ts";

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** A fake issuer: counts calls, records names, lets a test hold mints open or make them fail. */
export function fakeIssuer(clock: { t: number }, lifetimeMs = 7 * DAY) {
  const calls: string[][] = [];
  const held: Array<{ release: () => void; fail: (e: Error) => void }> = [];
  let hold = false;
  let failNext: Error | null = null;
  let serial = 0;
  const source: LeafSource = {
    issue(names: readonly string[]): Promise<Leaf> {
      calls.push([...names]);
      const leaf: Leaf = {
        certPem: `cert-${++serial}`,
        keyPem: "key",
        chainPem: `cert-${serial}`,
        notBefore: new Date(clock.t - HOUR),
        notAfter: new Date(clock.t + lifetimeMs),
        names: [...names],
        serialNumber: String(serial),
      };
      if (failNext !== null) {
        const error = failNext;
        failNext = null;
        return Promise.reject(error);
      }
      if (!hold) return Promise.resolve(leaf);
      return new Promise((resolve, reject) => held.push({ release: () => resolve(leaf), fail: reject }));
    },
  };
  return {
    source,
    calls,
    held,
    hold(on: boolean) {
      hold = on;
    },
    failNext(error: Error) {
      failNext = error;
    },
  };
}
