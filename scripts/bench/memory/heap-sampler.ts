/**
 * Where does a Deno relay's old-generation garbage come from? V8's sampling heap profiler,
 * driven over the inspector protocol of a process started with `--inspect=127.0.0.1:PORT`,
 * keeping only samples of objects that outlived a minor collection (promoted to the old
 * generation, alive or freed later by a full collection). Garbage that dies young costs a
 * scavenge; garbage that is promoted grows the old generation until the next full
 * collection, which is what shows in RSS. Used by `floor.ts --heap-profile FILE`.
 *
 * It found `Deno.Conn.read`'s per-read `Set` table (see src/runtime/deno/conn-read.ts).
 *
 * @module
 */

/** One node of V8's sampling heap profile (HeapProfiler.SamplingHeapProfileNode). */
interface ProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children?: readonly ProfileNode[];
}

/** V8's sampling heap profile (HeapProfiler.SamplingHeapProfile). */
export interface SamplingProfile {
  readonly head: ProfileNode;
}

/** A running sampling session; `stop` ends it and returns the profile. */
export interface HeapSampler {
  stop(): Promise<SamplingProfile>;
}

/**
 * Starts sampling in the process whose inspector listens on 127.0.0.1:`port`, one sample per
 * `intervalBytes` allocated on average, dropping samples of objects a minor collection freed.
 */
export async function startHeapSampling(port: number, intervalBytes = 4096): Promise<HeapSampler> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error(`inspector on port ${port}: no connection`)), { once: true });
  });
  let next = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  ws.addEventListener("message", (ev) => {
    const m = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const p = m.id === undefined ? undefined : pending.get(m.id);
    if (!p) return;
    pending.delete(m.id!);
    if (m.error) p.reject(new Error(m.error.message));
    else p.resolve(m.result);
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("HeapProfiler.enable");
  await send("HeapProfiler.startSampling", { samplingInterval: intervalBytes, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false });
  return {
    stop: async () => {
      try {
        return ((await send("HeapProfiler.stopSampling")) as { profile: SamplingProfile }).profile;
      } finally {
        ws.close();
      }
    },
  };
}

/**
 * The `count` allocation sites with the most sampled bytes, each as its innermost `depth`
 * frames (`function file:line <- caller …`), with the total sampled.
 */
export function topSites(profile: SamplingProfile, depth = 3, count = 12): { total: number; sites: { bytes: number; site: string }[] } {
  const bytes = new Map<string, number>();
  let total = 0;
  const walk = (node: ProfileNode, callers: string[]) => {
    const f = node.callFrame;
    const frame = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(src|scripts|ext|node_modules)\//, "$1/")}:${f.lineNumber + 1}`;
    const stack = [frame, ...callers];
    if (node.selfSize > 0) {
      const site = stack.slice(0, depth).join("  <- ");
      bytes.set(site, (bytes.get(site) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const child of node.children ?? []) walk(child, stack);
  };
  walk(profile.head, []);
  const sites = [...bytes].sort((a, b) => b[1] - a[1]).slice(0, count).map(([site, b]) => ({ bytes: b, site }));
  return { total, sites };
}
