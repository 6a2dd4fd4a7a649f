import type { Runtime } from "./core/runtime.ts";
import type { Config, ListenerConfig } from "./config/config.ts";
import { createResolver } from "./dns/resolver.ts";
import { ResolverInForce } from "./dns/resolver-in-force.ts";
import { dnsOverTls } from "./dns/tls-dial.ts";
import type { FlowContext } from "./flows/context.ts";
import { compileUrlRules } from "./policy/url-rules.ts";
import { gatewayUsers } from "./auth/gateway-users.ts";
import { userChanges } from "./auth/user-changes.ts";
import { type AddressGuard, createAddressGuard } from "./policy/address-guard.ts";
import { listenerFlow } from "./flows/listener-flow.ts";
import { type FlowLog, formatAddress, teeFlowLog } from "./log/flow-record.ts";
import { gatewayOpeners, LogOutputs } from "./log/log-outputs.ts";
import { createSyslogMetrics } from "./metrics/syslog-metrics.ts";
import { compilePolicy } from "./policy/compile.ts";
import { loadHostLists } from "./policy/load-host-lists.ts";
import { Registry } from "./metrics/registry.ts";
import { createGatewayMetrics } from "./metrics/gateway-metrics.ts";
import { metricsFlowLog, observeConfigReload } from "./metrics/observe.ts";
import { Drain } from "./flows/drain.ts";
import { registerProcessMetrics } from "./metrics/process-metrics.ts";
import { registerHostListMetrics } from "./metrics/host-list-metrics.ts";
import { measuredResolver } from "./metrics/measured-resolver.ts";
import { FlowFeed } from "./admin/flow-feed.ts";
import { startReverse } from "./reverse/service.ts";
import { forwardedTrust } from "./forwarded-trust.ts";
import { shareOfLimits } from "./workers/share.ts";
import { parentTable } from "./parent/parent-table.ts";
import { routeName } from "./parent/route-name.ts";
import { parentReport } from "./parent/report.ts";
import { connectProbe, ParentChecker } from "./parent/health-check.ts";
import { startInterception } from "./interception.ts";
import { readCaBundle } from "./config/setting-file.ts";
import { Admission } from "./admission.ts";
import { restartNeeded } from "./config/restart-needed.ts";
import { blockPageFromConfig } from "./block/from-config.ts";
import { LiveFlows, untilNextMinute } from "./flows/live-flows.ts";
import { type Accept, ListenerSet } from "./listener-set.ts";
import type { Gateway, LiveState, ReloadOptions, ReloadResult, StartOptions } from "./gateway-api.ts";
import { tunnelSlots } from "./tunnel-slots.ts";
import { upstreamCaPems } from "./upstream-trust.ts";
import { parseHostsFile } from "./dns/hosts-file.ts";
import { clientTrustExpiry, loadClientTrusts } from "./reverse/client-trusts.ts";

export type { Gateway, LiveState, ReloadOptions, ReloadResult, StartOptions } from "./gateway-api.ts";

/** Starts every listener of `config` on `runtime`. */
export async function startGateway(config: Config, runtime: Runtime, options: StartOptions): Promise<Gateway> {
  const processCount = options.processes?.count ?? 1;
  // this process's share of the limits, swapped by a reload (read when a connection, request or wait starts)
  let limits = shareOfLimits(config.limits, processCount);
  const registry = new Registry();
  const metrics = createGatewayMetrics(registry);
  if (runtime.process) registerProcessMetrics(registry, runtime.process);
  const feed = new FlowFeed();
  /** The system's hosts file, read at start and by each reload (none, or unreadable: empty). */
  const systemHostsText = () => {
    if (options.hostsFile === null) return "";
    try {
      return options.readText(options.hostsFile ?? "/etc/hosts");
    } catch {
      return "";
    }
  };
  const dnsResolver = (dns: Config["dns"]) =>
    createResolver(dns, (name) => runtime.lookup(name), {
      ...(dns.servers.length === 0 ? { hostsFile: parseHostsFile(systemHostsText()) } : {}),
      dial: dns.transport === "tls" ? dnsOverTls(runtime, dns.caFile ? [readCaBundle(options.readText, "dns.caFile", dns.caFile)] : []) : (server, signal) => runtime.dial({ address: server.address, port: server.port, signal }),
      ...(runtime.openDatagram ? { openDatagram: runtime.openDatagram } : {}),
      onExchange: (server, transport, result) => metrics.dnsServerExchanges.labels(formatAddress(server.address, server.port), transport, result).inc(),
    });
  // swapped whole by a reload that changes `dns` (a new cache too); lookups under way finish with the old one
  const resolverInForce = new ResolverInForce(dnsResolver, config.dns);
  // the settings and the CA file's contents: a renewed CA at the same path is a change too
  const dnsKey = (dns: Config["dns"]) => JSON.stringify([dns, dns.transport === "tls" && dns.caFile ? readCaBundle(options.readText, "dns.caFile", dns.caFile) : null, dns.servers.length === 0 ? systemHostsText() : null]);
  let dnsInForce = dnsKey(config.dns);
  const resolver = measuredResolver(resolverInForce, metrics);
  const directoryDeps = { runtime, resolver, readText: options.readText, ...(options.signIns ? { signIns: options.signIns } : {}) };
  const observer: FlowLog = metricsFlowLog(metrics, feed);
  // the flow log's outputs, swapped part by part by a reload that changes `log` (an old file is closed)
  const output = options.flowSink ? undefined : new LogOutputs(config.log, gatewayOpeners(options, {
    runtime,
    resolve: async (host, signal) => (host.kind === "dns" ? (await resolver.resolve(host.name, signal)).addresses : [host.address]),
    readText: options.readText,
    hostname: options.identity?.hostname ?? "-",
    pid: options.identity?.pid ?? 0,
    say: (line) => options.write("stderr", `tollgate: ${line}\n`),
    metrics: createSyslogMetrics(registry),
  }));
  const flowLog = teeFlowLog(options.flowSink ? [observer, options.flowSink] : [observer], { write: (record) => output?.write(record) });
  // the interception side in force (a reload that changes `ca`, `interception` or their files replaces it)
  let ic = config.ca ? await startInterception(config, config.ca, options.readText, metrics, processCount) : undefined;
  ic?.commit();
  // read again by each reload; a list whose file did not change is used as it is
  let hostLists = await loadHostLists(config.policy.hostLists, options.readText);
  const live: LiveState = {
    config,
    parents: parentTable(config, options.readText),
    users: gatewayUsers(config, directoryDeps),
    blockPage: blockPageFromConfig(config.blockPage, options.readText),
    policy: compilePolicy(config.policy, { hostLists }),
    urlPolicy: compileUrlRules(config.policy.urlRules, { hostLists }),
    generation: 1,
    lastReload: { at: new Date().toISOString(), ok: true, generation: 1 },
    metrics,
    feed,
    active: new Map(),
    caCertPem: ic?.caCertPem,
    rotateLeafKey: ic?.rotateLeafKey,
  };
  observeConfigReload(metrics, true, 1);
  // before anything dials upstream TLS (the reverse proxy's health checks start below)
  // every extra CA the config names into the runtime's default trust: connections given
  // exactly these use it, any other set (one of several, a reload's) is given in full
  await runtime.tls.prepareTrust?.(upstreamCaPems(config, ic?.context.extraCaPem ?? [], options.readText));
  runtime.tls.preferOwnTls?.(config.deno.ownTls);
  let clientTrusts = await loadClientTrusts(config, options.readText);
  const reverse = startReverse(config, {
    runtime,
    resolver,
    readText: options.readText,
    log: (line) => options.write("stderr", `tollgate: ${line}\n`),
    credentials: () => live.users?.credentials,
  }, clientTrusts);
  metrics.setBackendPoolSource(() => reverse.backendPools());
  metrics.setParentSource(() => parentReport(live.parents));
  registerHostListMetrics(registry, () =>
    [...hostLists].map(([name, list]) => ({ list, file: live.config.policy.hostLists?.[name]?.file ?? "" }))
  );
  metrics.setCertificateSource(() => [
    ...(ic && live.config.ca ? [{ use: "ca" as const, listener: "", file: live.config.ca.cert, notAfter: ic.caNotAfter }] : []),
    ...reverse.certificates(),
    ...clientTrustExpiry(live.config, clientTrusts).cas,
  ]);
  metrics.setClientCrlSource(() => clientTrustExpiry(live.config, clientTrusts).crls);
  const drain = new Drain();
  const listeners = new ListenerSet(runtime, processCount > 1, drain);
  const addresses = listeners.addresses;
  const admission = new Admission({ limits, metrics, active: live.active });
  const tunnels = tunnelSlots(() => limits.maxTunnels, metrics);
  let guard: AddressGuard | undefined;
  /** Grace periods of the listeners a reload dropped: what is open after one is closed. */
  const graceTimers = new Set<ReturnType<typeof setTimeout>>();
  const closeAfterGrace = (dropped: readonly Drain[]) => {
    for (const d of dropped) {
      if (d.open === 0) continue;
      const timer = setTimeout(() => {
        graceTimers.delete(timer);
        d.closeOpen();
      }, limits.drainTimeoutMs);
      graceTimers.add(timer);
    }
  };
  // open flows re-decided each minute (schedules start and end on minutes) and after a reload
  const liveFlows = new LiveFlows((d) => routeName(d, live.parents), options.processes?.index ?? 0);
  let recheckTimer: ReturnType<typeof setTimeout> | undefined;
  const recheckEachMinute = () => {
    if (live.config.policy.recheckOpenConnections) {
      liveFlows.recheck(live.policy);
      void liveFlows.recheckHolders(); // a client certificate that expired keeps nothing open
    }
    recheckTimer = setTimeout(recheckEachMinute, untilNextMinute(Date.now()));
  };
  /** How listener `l` serves a connection (made again by each reload: mode, clients…); `listenerDrain` is its socket's. */
  const acceptFor = (l: ListenerConfig, listenerDrain: Drain): Accept => {
    const ctx: FlowContext = {
      runtime,
      policy: () => live.policy,
      resolver,
      get limits() {
        return limits;
      },
      flowLog,
      listenerName: l.name,
      mode: l.mode,
      ...(l.mode === "explicit" && l.tls ? { tlsFirst: true } : {}),
      ...(l.mode === "explicit" ? { forwardedFrom: () => forwardedTrust(live.config, l.name) } : {}),
      viaName: "tollgate",
      addressGuard: () => guard,
      parents: () => live.parents,
      blockPage: () => live.blockPage,
      urlPolicy: () => live.urlPolicy,
      tunnels,
      drain: listenerDrain,
      liveFlows,
      ...(l.mode === "explicit" || l.mode === "socks5" ? { proxyAuth: () => live.users?.proxyAuth } : {}),
      // for a client certificate's user; for any HTTPS proxy or reverse listener, since a reload may add them
      ...(l.mode === "explicit" || l.mode === "reverse" ? { userGroups: (user: string) => live.users?.certificateGroups(user) ?? [] } : {}),
      ...(ic ? { interception: ic.context } : {}),
    };
    return admission.acceptor(l, ctx, listenerFlow(l, ctx, () => live.config.limits, reverse));
  };
  try {
    (await listeners.prepare(config.listeners, options.processes?.ports)).commit(acceptFor);
  } catch (e) {
    reverse.close();
    throw e;
  }
  // The guard knows the bound listeners, so the proxy can never be pointed at itself.
  const guardFor = (c: Config["addressGuard"]) =>
    createAddressGuard({
      allow: c.allow,
      deny: c.deny,
      allowClasses: c.allowClasses,
      self: [...addresses.values(), ...(options.alsoSelf ?? [])],
      localAddresses: options.localAddresses ?? [],
    });
  guard = guardFor(config.addressGuard);
  const probeCtx = {
    resolver,
    runtime,
    get limits() {
      return limits;
    },
    addressGuard: () => guard,
  };
  const parentChecks = new ParentChecker(() => live.parents, connectProbe(probeCtx), {
    onChange: (p, inService, detail) =>
      options.write("stderr", `tollgate: parent "${p.name}" (${p.authority}) ${inService ? "is back in service" : p.fallback ? `is passed over for "${p.fallback}"` : "is down"}: ${detail}\n`),
  });
  parentChecks.sync();
  recheckTimer = setTimeout(recheckEachMinute, untilNextMinute(Date.now()));
  /** One reload at a time: each starts from what the last one left in force. */
  let reloading: Promise<unknown> = Promise.resolve();
  let closing = false;
  const reload = async (next: Config, reloadOptions: ReloadOptions): Promise<ReloadResult> => {
    const nextHostLists = await loadHostLists(next.policy.hostLists, options.readText, hostLists);
    const policy = compilePolicy(next.policy, { hostLists: nextHostLists });
    const urlPolicy = compileUrlRules(next.policy.urlRules, { hostLists: nextHostLists });
    const parents = parentTable(next, options.readText, live.parents);
    const users = gatewayUsers(next, directoryDeps, { config: live.config, users: live.users });
    const blockPage = blockPageFromConfig(next.blockPage, options.readText);
    const nextClientTrusts = await loadClientTrusts(next, options.readText, clientTrusts);
    const commitReverse = reverse.prepare(next, nextClientTrusts); // reads the certificate files again
    const same = <K extends keyof Config>(key: K) => JSON.stringify(live.config[key]) === JSON.stringify(next[key]);
    const nextDns = dnsKey(next.dns);
    const nextResolver = nextDns === dnsInForce ? undefined : resolverInForce.prepare(next.dns);
    const nextLimits = same("limits") ? limits : shareOfLimits(next.limits, processCount);
    // the CA and upstream trust files read again; unchanged parts carry over (nothing in force yet)
    const nextIc = next.ca ? await startInterception(next, next.ca, options.readText, metrics, processCount, ic) : undefined;
    // binds new and moved listeners; a bind that fails refuses the reload (throws)
    const change = await listeners.prepare(next.listeners, reloadOptions.ports);
    let nextOutput: { commit(): void } | undefined;
    try {
      if (closing) throw new Error("the gateway is shutting down");
      nextOutput = output?.prepare(next.log); // opens a new file last
    } catch (e) {
      await change.abort();
      throw e;
    }
    const generation = live.generation + 1;
    const usersChanged = userChanges(live.config.proxyAuth, next.proxyAuth);
    // one synchronous swap: a connection sees either the old or the new policy, never a mix
    live.config = next;
    live.parents = parents;
    live.users = users;
    live.blockPage = blockPage;
    live.policy = policy;
    hostLists = nextHostLists;
    live.urlPolicy = urlPolicy;
    nextResolver?.commit();
    dnsInForce = nextDns;
    nextOutput?.commit();
    limits = nextLimits;
    admission.update(limits);
    if (ic && !nextIc) ic.close();
    ic = nextIc;
    ic?.commit();
    live.caCertPem = ic?.caCertPem;
    live.rotateLeafKey = ic?.rotateLeafKey;
    runtime.tls.preferOwnTls?.(next.deno.ownTls); // for the handshakes from now on
    commitReverse(); // before the listeners: a new reverse listener's handler needs its state
    clientTrusts = nextClientTrusts;
    closeAfterGrace(change.commit(acceptFor)); // a dropped listener's connections drain
    guard = guardFor(next.addressGuard); // the listeners it keeps the proxy from may have moved
    parentChecks.sync();
    live.generation = generation;
    live.lastReload = { at: new Date().toISOString(), ok: true, generation };
    observeConfigReload(metrics, true, generation);
    if (next.policy.recheckOpenConnections) {
      liveFlows.recheck(policy);
      // a removed user, or one whose password changed, keeps nothing opened with the old credentials
      if (usersChanged) liveFlows.revokeUsers(usersChanged);
      // a certificate the new CRL revokes keeps no tunnel open (checked in the background)
      void liveFlows.recheckHolders();
    }
    return { generation, restartNeeded: restartNeeded(config, next), listening: change.bound, closed: change.closed };
  };
  return {
    addresses,
    live,
    reload(next, reloadOptions = {}) {
      const result = reloading.then(() => reload(next, reloadOptions));
      reloading = result.catch(() => {});
      return result;
    },
    connections: () => liveFlows.list(),
    closeConnection: (id, reason) => liveFlows.close(id, reason),
    backends: () => reverse.report(),
    parents: () => parentReport(live.parents),
    ingest(record, quiet) {
      feed.write(record);
      if (!quiet) output?.write(record);
    },
    async close(graceMs = 10_000, others) {
      closing = true;
      admission.stop();
      parentChecks.stop();
      clearTimeout(recheckTimer);
      for (const timer of graceTimers) clearTimeout(timer); // all that is open is closed below
      drain.start(); // idle keep-alive connections close now, the rest after their response
      ic?.close();
      reverse.close();
      await listeners.close();
      const until = Date.now() + graceMs;
      while (admission.open.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      for (const c of admission.open) c.close();
      resolverInForce.close();
      // the connections just closed write their flow lines as their handlers end: a moment for them
      const lines = Date.now() + 1000;
      while (admission.open.size > 0 && Date.now() < lines) await new Promise((r) => setTimeout(r, 20));
      // the last bytes of responses that ended in order, still on their way (at least 1 s)
      await runtime.settle?.(Math.max(until, Date.now() + 1000));
      await others?.catch(() => {});
      await output?.close();
    },
  };
}
