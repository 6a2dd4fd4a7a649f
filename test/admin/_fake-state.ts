/**
 * A small in-memory AdminState for the admin app tests: a parsed config, a real FlowFeed,
 * real policy validation and explanation, and counters of what the app called.
 */
import { parseConfig } from "../../src/config/parse.ts";
import type { ParentReport } from "../../src/parent/report.ts";
import type { PoolReport } from "../../src/reverse/report.ts";
import type { Config } from "../../src/config/config.ts";
import { explainConfig } from "../../src/admin/explain.ts";
import { FlowFeed } from "../../src/admin/flow-feed.ts";
import { checkPolicy } from "../../src/admin/policy-check.ts";
import { selectOpen } from "../../src/admin/open-connections.ts";
import type { OpenFlow } from "../../src/flows/live-flows.ts";
import type { AdminState, PacData, Readiness } from "../../src/admin/state.ts";
import type { FlowRecord } from "../../src/log/flow-record.ts";
import { encodePem } from "../../src/pki/pem.ts";

/** DER bytes standing in for a CA certificate (the app never parses it). */
export const TEST_CA_DER = new Uint8Array(Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff));
export const TEST_CA_PEM = encodePem(TEST_CA_DER, "CERTIFICATE");

export const TEST_CONFIG = {
  listeners: [
    { name: "explicit", mode: "explicit", listen: "127.0.0.1:3128" },
    { name: "tproxy", mode: "transparent", listen: "127.0.0.1:8443" },
  ],
  policy: {
    defaultAction: "deny",
    rules: [
      { id: "block-ads", hosts: ["*.ads.example"], action: "deny" },
      { id: "corp", hosts: [".corp.example"], ports: [443], clients: ["10.0.0.0/8"], action: "allow" },
      { id: "web", ports: [80, 443], action: "allow" },
    ],
  },
};

/** An open flow (as `GET /connections` lists it) with the given fields over plausible defaults. */
export function openFlow(id: string, fields: Partial<OpenFlow> = {}): OpenFlow {
  return { ...flowRecord({ end: null, status: 200 }), id, since: new Date(Date.now() - 60_000).toISOString(), ...fields };
}

/** A flow record with the given fields over plausible defaults. */
export function flowRecord(fields: Partial<FlowRecord> = {}): FlowRecord {
  return {
    type: "flow",
    time: new Date().toISOString(),
    client: "127.0.0.1:50000",
    peer: null,
    listener: "explicit",
    user: null,
    userAgent: null,
    mode: "explicit",
    kind: "connect",
    host: "example.com",
    port: 443,
    resolved: "192.0.2.1",
    dnsSource: "static",
    parent: null,
    decision: "allow",
    rule: "web",
    reason: 'rule "web" matched any host and port 443',
    decryption: "exception",
    ech: null,
    alpn: null,
    status: 200,
    bytesUp: 1200,
    bytesDown: 34000,
    requests: 0,
    durationMs: 42,
    headerMs: null,
    end: "eof",
    error: null,
    ...fields,
  };
}

export interface FakeState extends AdminState {
  config: Config;
  generation: number;
  ready: boolean;
  caPem: string | undefined;
  pacData: PacData;
  /** The host the last PAC request came to. */
  pacHost?: string | undefined;
  pools: PoolReport[];
  parentList: ParentReport[];
  metrics: string;
  calls: string[];
  /** The open connections `connections()` selects from and `closeConnection()` removes. */
  open: OpenFlow[];
  /** Workers `connections()` reports as not answering; ids whose close gets no answer. */
  unanswered: number[];
  silent: string[];
}

/** A fake AdminState; `overrides` replace fields after construction. */
export function fakeState(overrides: Partial<FakeState> = {}): FakeState {
  const state: FakeState = {
    startedAt: new Date(Date.now() - 5000),
    config: parseConfig(TEST_CONFIG),
    generation: 1,
    ready: true,
    caPem: TEST_CA_PEM,
    pacData: { proxy: "127.0.0.1:3128", bypass: ["intranet.example", "*.svc.example", ".corp.example", "192.0.2.7", "198.51.100.0/24"] },
    pools: [],
    parentList: [],
    metrics: '# HELP tollgate_connections_total Connections.\n# TYPE tollgate_connections_total counter\ntollgate_connections_total{listener="explicit"} 3\n',
    calls: [],
    open: [],
    unanswered: [],
    silent: [],
    flows: new FlowFeed({ capacity: 2000 }),
    connections(query) {
      this.calls.push("connections");
      return Promise.resolve({ ...selectOpen(this.open, query), unanswered: this.unanswered });
    },
    closeConnection(id, reason) {
      this.calls.push(`closeConnection ${id}${reason === undefined ? "" : `: ${reason}`}`);
      if (this.silent.includes(id)) return Promise.resolve("no-answer" as const);
      const i = this.open.findIndex((f) => f.id === id);
      if (i < 0) return Promise.resolve("not-found" as const);
      this.open.splice(i, 1);
      return Promise.resolve("closed" as const);
    },
    closeConnections(ids, reason) {
      return Promise.all(ids.map((id) => this.closeConnection(id, reason)));
    },
    readiness(): Readiness {
      this.calls.push("readiness");
      return {
        ready: this.ready,
        checks: { listeners: { ok: this.ready, ...(this.ready ? {} : { detail: "listener \"explicit\" not bound" }) }, config: { ok: true } },
        lastReload: this.ready
          ? { at: "2026-01-01T00:00:00.000Z", ok: true, generation: this.generation }
          : { at: "2026-01-01T00:00:00.000Z", ok: false, error: "Invalid config (1 problem)", generation: this.generation },
      };
    },
    metricsText() {
      return this.metrics;
    },
    redactedConfig() {
      return { listeners: this.config.listeners, ca: { cert: "ca.pem", key: "[redacted]" } };
    },
    policyJson() {
      return this.config.policy;
    },
    validatePolicy(policy) {
      this.calls.push("validatePolicy");
      const r = checkPolicy(policy, { listeners: this.config.listeners.map((l) => l.name) });
      return r.ok ? [] : r.issues;
    },
    replacePolicy(policy) {
      this.calls.push("replacePolicy");
      const r = checkPolicy(policy, { listeners: this.config.listeners.map((l) => l.name) });
      if (!r.ok) return Promise.resolve({ ok: false, issues: r.issues });
      this.config = { ...this.config, policy: r.policy };
      this.generation++;
      return Promise.resolve({ ok: true, generation: this.generation });
    },
    explain(query) {
      this.calls.push("explain");
      return explainConfig(this.config, query);
    },
    caCertificatePem() {
      return this.caPem;
    },
    pac(requestHost) {
      this.pacHost = requestHost;
      return this.pacData;
    },
    backends() {
      return this.pools;
    },
    parents() {
      return this.parentList;
    },
  };
  return Object.assign(state, overrides);
}
