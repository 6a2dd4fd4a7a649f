/**
 * Human-readable reasons: the text of a decision's reason, and the linear per-rule
 * explanation behind `Policy.explain`. The linear evaluation is independent of the host
 * index, which makes it the reference the index is tested against.
 * @module
 */

import { cidrContains, formatCidr, formatIp } from "../core/ip.ts";
import { hostText } from "../core/host.ts";
import type { HostList } from "./host-list.ts";
import { hostPatternMatches, hostPatternText, parseHostPattern } from "./host-pattern.ts";
import { compileHostRegex } from "./host-regex.ts";
import { portsMatch, type CompiledRule } from "./rule.ts";
import { localText, scheduleMatches, scheduleText } from "./schedule.ts";
import { scopeFailures, scopeText, type Who } from "./scope.ts";
import type { PolicyQuery, RuleDefinition, RuleExplanation } from "./types.ts";

function _rangesText(ports: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ports.length; i += 2) {
    const lo = ports[i];
    const hi = ports[i + 1];
    parts.push(lo === hi ? `${lo}` : `${lo}-${hi}`);
  }
  return `[${parts.join(", ")}]`;
}

/**
 * The port, client and scope parts of a reason for a rule whose conditions passed: "" or
 * ` and port 443` / ` and client 10.1.2.3 in 10.0.0.0/8` / ` on listener "tproxy"` /
 * ` in mode "transparent"` / ` for user "alice"` (` in group "eng"`), in that order.
 */
export function conditionsText(
  rule: CompiledRule,
  port: number,
  client: Uint8Array | undefined,
  listener?: string,
  mode?: string,
  who: Who = {},
  now?: number,
): string {
  let s = "";
  if (rule.ports !== undefined) s += ` and port ${port}`;
  if (rule.clients !== undefined && client !== undefined) {
    const hit = rule.clients.find((c) => cidrContains(c, client));
    s += ` and client ${formatIp(client)}`;
    if (hit !== undefined) s += ` in ${formatCidr(hit)}`;
  }
  s += scopeText(rule.scope, listener, mode, who);
  if (rule.schedule !== undefined && now !== undefined) s += ` during ${scheduleText(rule.schedule)} (now ${localText(rule.schedule, now)})`;
  return s;
}

/**
 * Evaluate one rule against a query without the index and say why it did or did not match.
 * `def` must be the (validated, unmodified) definition `rule` was compiled from, `lists` the
 * host lists it was compiled with.
 */
export function explainRule(
  def: RuleDefinition,
  rule: CompiledRule,
  index: number,
  query: PolicyQuery,
  hostIp: Uint8Array | undefined,
  client: Uint8Array | undefined,
  lists: ReadonlyMap<string, HostList> = new Map(),
): RuleExplanation {
  const { host, port, clientIp: clientText, listener, mode } = query;
  const now = query.now ?? Date.now();
  let hostPart: string | undefined;
  if (rule.anyHost) hostPart = "any host";
  for (const p of def.hosts ?? []) {
    if (hostPart !== undefined) break;
    const pattern = parseHostPattern(p);
    if (host.kind !== "dns" && hostIp === undefined && pattern.kind !== "any") continue;
    if (hostPatternMatches(pattern, host, hostIp)) hostPart = `host pattern ${JSON.stringify(hostPatternText(pattern))}`;
  }
  for (const source of def.hostRegex ?? []) {
    if (hostPart !== undefined || host.kind !== "dns") break;
    if (compileHostRegex(source).test(host.name)) hostPart = `host regex ${JSON.stringify(source)}`;
  }
  for (const name of def.hostLists ?? []) {
    if (hostPart !== undefined) break;
    const list = lists.get(name);
    if (list?.matches(host, hostIp)) hostPart = `host pattern ${JSON.stringify(list.matchText)} in host list ${JSON.stringify(name)}`;
  }
  const failures = scopeFailures(rule.scope, listener, mode, query);
  if (hostPart === undefined) {
    const n = (def.hosts?.length ?? 0) + (def.hostRegex?.length ?? 0);
    const names = def.hostLists ?? [];
    const parts = n === 0 && names.length > 0 ? [] : [`none of ${n} host condition${n === 1 ? "" : "s"}`];
    if (names.length > 0) parts.push(`no pattern of host list${names.length === 1 ? "" : "s"} ${names.map((l) => JSON.stringify(l)).join(", ")}`);
    failures.push(`host ${JSON.stringify(hostText(host))} matched ${parts.join(" and ")}`);
  }
  if (!portsMatch(rule.ports, port)) failures.push(`port ${port} not in ${_rangesText(rule.ports ?? [])}`);
  if (rule.clients !== undefined) {
    if (client === undefined) failures.push(`client ${JSON.stringify(clientText)} is not an IP address`);
    else if (!rule.clients.some((c) => cidrContains(c, client))) {
      failures.push(`client ${formatIp(client)} not in [${rule.clients.map(formatCidr).join(", ")}]`);
    }
  }
  if (rule.schedule !== undefined && !scheduleMatches(rule.schedule, now)) {
    failures.push(`${localText(rule.schedule, now)} is outside its schedule (${scheduleText(rule.schedule)})`);
  }
  if (failures.length > 0 || hostPart === undefined) {
    return { index, ruleId: rule.id, matched: false, reason: failures.join("; ") };
  }
  return { index, ruleId: rule.id, matched: true, reason: `matched ${hostPart}${conditionsText(rule, port, client, listener, mode, query, now)}` };
}
