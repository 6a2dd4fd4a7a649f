/**
 * The policy's host lists as Prometheus metrics, read at scrape time: how many entries each
 * list in force holds, and when its text was last read as new. A feed that an updater
 * stopped refreshing, or that came down empty, shows here before anyone misses a block.
 *
 * @module
 */
import type { HostList } from "../policy/host-list.ts";
import type { Registry } from "./registry.ts";

/** Names of the families registered by {@linkcode registerHostListMetrics}. */
export const HOST_LIST_METRIC_NAMES = ["tollgate_host_list_entries", "tollgate_host_list_parsed_timestamp_seconds"] as const;

/** A list in force and the file it was read from. */
export interface HostListFigures {
  readonly list: HostList;
  readonly file: string;
}

/**
 * Registers `tollgate_host_list_entries{list,file}` and
 * `tollgate_host_list_parsed_timestamp_seconds{list,file}` (a reload of an unchanged file
 * keeps the time: alert on `time() - …` for a feed that should change daily).
 *
 * @example
 * ```ts
 * registerHostListMetrics(registry, () => [...lists].map(([name, list]) => ({ list, file: sources[name].file })));
 * ```
 */
export function registerHostListMetrics(registry: Registry, source: () => readonly HostListFigures[]): void {
  registry.gauge({
    name: "tollgate_host_list_entries",
    help: "Entries in a policy host list in force (policy.hostLists).",
    labelNames: ["list", "file"],
    collect: (g) => {
      g.reset();
      for (const { list, file } of source()) g.labels(list.name, file).set(list.size);
    },
  });
  registry.gauge({
    name: "tollgate_host_list_parsed_timestamp_seconds",
    help: "When the text of a policy host list in force was read as new (a reload of an unchanged file keeps it), Unix seconds.",
    labelNames: ["list", "file"],
    collect: (g) => {
      g.reset();
      for (const { list, file } of source()) g.labels(list.name, file).set(Math.floor(list.parsedAt / 1000));
    },
  });
}
