import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { FlowRecord, RequestRecord } from "../../src/log/flow-record.ts";
import { FLOW_ERROR_KINDS } from "../../src/metrics/flow-error-kind.ts";
import { type CertificateExpiry, createGatewayMetrics } from "../../src/metrics/gateway-metrics.ts";
import { metricsFlowLog, observeConfigReload, observeFlow, observeRecord, statusClass } from "../../src/metrics/observe.ts";
import { Registry } from "../../src/metrics/registry.ts";
import { parsePrometheusText } from "./_prom-text.ts";
import { flowRecord, requestRecord } from "./_record.ts";

const NAMES = [
  "tollgate_active_connections",
  "tollgate_active_tunnels",
  "tollgate_backend_idle_connections",
  "tollgate_backend_reused_total",
  "tollgate_backend_up",
  "tollgate_bytes_total",
  "tollgate_cert_cache_hits_total",
  "tollgate_cert_cache_misses_total",
  "tollgate_cert_cache_size",
  "tollgate_cert_mint_seconds",
  "tollgate_certificate_not_after_timestamp_seconds",
  "tollgate_client_crl_next_update_timestamp_seconds",
  "tollgate_config_generation",
  "tollgate_config_last_reload_success",
  "tollgate_config_last_reload_timestamp_seconds",
  "tollgate_connections_revoked_total",
  "tollgate_connections_total",
  "tollgate_dns_lookup_seconds",
  "tollgate_dns_lookups_total",
  "tollgate_dns_server_exchanges_total",
  "tollgate_errors_total",
  "tollgate_http_request_duration_seconds",
  "tollgate_http_requests_total",
  "tollgate_http_upstream_header_seconds",
  "tollgate_parent_up",
  "tollgate_process_start_time_seconds",
  "tollgate_upstream_idle_connections",
  "tollgate_upstream_reused_total",
];

describe("createGatewayMetrics", () => {
  it("registers the documented families with their types", () => {
    const m = createGatewayMetrics(new Registry(), { startTimeMs: 1_700_000_000_500 });
    const families = parsePrometheusText(m.registry.expose());
    assert.deepEqual([...families.keys()], NAMES);
    const type = (n: string) => families.get(n)?.type;
    assert.equal(type("tollgate_connections_total"), "counter");
    assert.equal(type("tollgate_active_connections"), "gauge");
    assert.equal(type("tollgate_cert_mint_seconds"), "histogram");
    assert.equal(type("tollgate_dns_lookup_seconds"), "histogram");
    assert.equal(families.get("tollgate_process_start_time_seconds")?.samples[0]?.value, 1_700_000_000);
    for (const n of NAMES) assert.ok(families.get(n)?.help, n);
  });

  it("declares the documented label names", () => {
    const m = createGatewayMetrics(new Registry());
    assert.deepEqual(m.connections.labelNames, ["listener", "mode", "decision"]);
    assert.deepEqual(m.activeConnections.labelNames, ["listener"]);
    assert.deepEqual(m.activeTunnels.labelNames, ["listener"]);
    assert.deepEqual(m.bytes.labelNames, ["listener", "direction"]);
    assert.deepEqual(m.httpRequests.labelNames, ["listener", "mode", "status"]);
    assert.deepEqual(m.dnsLookups.labelNames, ["source", "result"]);
    assert.deepEqual(m.connectionsRevoked.labelNames, ["listener", "mode"]);
    assert.deepEqual(m.dnsServerExchanges.labelNames, ["server", "transport", "result"]);
    assert.deepEqual(m.errors.labelNames, ["kind"]);
    assert.deepEqual(m.certMintSeconds.labelNames, []);
  });

  it("cert mint buckets span 0.05 ms to 50 ms", () => {
    const m = createGatewayMetrics(new Registry());
    assert.equal(m.certMintSeconds.buckets[0], 0.00005);
    assert.equal(m.certMintSeconds.buckets.at(-1), 0.05);
    m.certMintSeconds.observe(0.002);
    assert.deepEqual(m.certMintSeconds.snapshot()!.buckets.slice(4, 7), [0, 1, 1]); // 1 ms, 2.5 ms, 5 ms
  });

  it("shows every error kind at 0 from the start", () => {
    const m = createGatewayMetrics(new Registry());
    const errors = parsePrometheusText(m.registry.expose()).get("tollgate_errors_total")!;
    assert.deepEqual(errors.samples.map((s) => s.labels.kind).sort(), [...FLOW_ERROR_KINDS].sort());
    assert.ok(errors.samples.every((s) => s.value === 0));
  });

  it("reads the certificate cache source at scrape time, counters never going down", () => {
    let stats = { hits: 5, misses: 2, size: 2 };
    const m = createGatewayMetrics(new Registry(), { certCache: () => stats });
    const sample = (name: string) => parsePrometheusText(m.registry.expose()).get(name)!.samples[0]!.value;
    assert.equal(sample("tollgate_cert_cache_size"), 2);
    stats = { hits: 9, misses: 3, size: 3 };
    const text = m.registry.expose();
    assert.match(text, /^tollgate_cert_cache_hits_total 9$/m);
    assert.match(text, /^tollgate_cert_cache_misses_total 3$/m);
    assert.match(text, /^tollgate_cert_cache_size 3$/m);
    stats = { hits: 0, misses: 0, size: 0 }; // the cache was replaced
    assert.match(m.registry.expose(), /^tollgate_cert_cache_hits_total 9$/m);
    m.setCertCacheSource(undefined);
    stats = { hits: 100, misses: 100, size: 100 };
    assert.match(m.registry.expose(), /^tollgate_cert_cache_size 0$/m);
  });

  it("reads the upstream pool at scrape time", () => {
    const m = createGatewayMetrics(new Registry());
    let stats = { idle: 3, reused: 7 };
    m.setUpstreamPoolSource(() => stats);
    assert.match(m.registry.expose(), /^tollgate_upstream_idle_connections 3$/m);
    stats = { idle: 1, reused: 9 };
    const text = m.registry.expose();
    assert.match(text, /^tollgate_upstream_idle_connections 1$/m);
    assert.match(text, /^tollgate_upstream_reused_total 9$/m);
  });

  it("reads the reverse proxy's idle backend connections by pool at scrape time", () => {
    const m = createGatewayMetrics(new Registry());
    const up = (url: string, isUp: boolean) => ({ url, up: isUp });
    let pools = new Map([["api", { idle: 2, reused: 5, backends: [up("http://10.0.0.1:80", true), up("http://10.0.0.2:80", false)] }], ["site", { idle: 0, reused: 0, backends: [] }]]);
    m.setBackendPoolSource(() => pools);
    let text = m.registry.expose();
    assert.match(text, /^tollgate_backend_idle_connections\{pool="api"\} 2$/m);
    assert.match(text, /^tollgate_backend_reused_total\{pool="api"\} 5$/m);
    assert.match(text, /^tollgate_backend_reused_total\{pool="site"\} 0$/m);
    assert.match(text, /^tollgate_backend_up\{pool="api",backend="http:\/\/10\.0\.0\.1:80"\} 1$/m);
    assert.match(text, /^tollgate_backend_up\{pool="api",backend="http:\/\/10\.0\.0\.2:80"\} 0$/m);
    // a reload dropped 10.0.0.2: its series goes
    pools = new Map([["api", { idle: 1, reused: 8, backends: [up("http://10.0.0.1:80", false)] }], ["site", { idle: 3, reused: 1, backends: [] }]]);
    text = m.registry.expose();
    assert.match(text, /^tollgate_backend_idle_connections\{pool="api"\} 1$/m);
    assert.match(text, /^tollgate_backend_reused_total\{pool="api"\} 8$/m);
    assert.match(text, /^tollgate_backend_idle_connections\{pool="site"\} 3$/m);
    assert.match(text, /^tollgate_backend_reused_total\{pool="site"\} 1$/m);
    assert.match(text, /^tollgate_backend_up\{pool="api",backend="http:\/\/10\.0\.0\.1:80"\} 0$/m);
    assert.doesNotMatch(text, /10\.0\.0\.2/);
  });

  it("takes a certificate cache source set later", () => {
    const m = createGatewayMetrics(new Registry());
    m.setCertCacheSource(() => ({ hits: 1, misses: 1, size: 1 }));
    assert.match(m.registry.expose(), /^tollgate_cert_cache_size 1$/m);
  });
});

describe("observeFlow", () => {
  it("counts a tunnel: connection, bytes both ways, no request, no error", () => {
    const m = createGatewayMetrics(new Registry());
    observeFlow(m, flowRecord({ bytesUp: 100, bytesDown: 2000, requests: 3 }));
    observeFlow(m, flowRecord({ bytesUp: 1, bytesDown: 0 }));
    assert.equal(m.connections.value("main", "explicit", "allow"), 2);
    assert.equal(m.bytes.value("main", "up"), 101);
    assert.equal(m.bytes.value("main", "down"), 2000);
    assert.equal(m.httpRequests.seriesCount, 0, "a tunnel's decrypted requests come from their own records");
    assert.ok(FLOW_ERROR_KINDS.every((k) => m.errors.value(k) === 0));
  });

  it("counts a denial and an invalid request under their decisions", () => {
    const m = createGatewayMetrics(new Registry());
    observeFlow(m, flowRecord({ decision: "deny", status: 403, end: "denied" }));
    observeFlow(m, flowRecord({ kind: "invalid", decision: null, host: null, status: 400, error: "Invalid request line" }));
    assert.equal(m.connections.value("main", "explicit", "deny"), 1);
    assert.equal(m.connections.value("main", "explicit", "none"), 1);
    assert.equal(m.errors.value("parse"), 1);
  });

  it("counts a flow the policy revoked while open, under its listener and mode, and as no error", () => {
    const m = createGatewayMetrics(new Registry());
    observeFlow(m, flowRecord({ decision: "allow", end: "revoked", error: 'the policy denies it now: rule "after-hours"' }));
    observeFlow(m, flowRecord({ decision: "allow", end: "eof" }));
    assert.equal(m.connectionsRevoked.value("main", "explicit"), 1);
    assert.equal(m.connections.value("main", "explicit", "allow"), 2);
    for (const kind of FLOW_ERROR_KINDS) assert.equal(m.errors.value(kind), 0, kind);
  });

  it("counts proxied HTTP requests by status class", () => {
    const m = createGatewayMetrics(new Registry());
    observeFlow(m, flowRecord({ kind: "http", listener: "l2", mode: "transparent-http", status: 204, requests: 1 }));
    observeFlow(m, flowRecord({ kind: "http", listener: "l2", mode: "transparent-http", status: 502, requests: 1, error: "Connect to x:80 () failed: ECONNREFUSED" }));
    observeFlow(m, flowRecord({ kind: "http", listener: "l2", mode: "transparent-http", status: 403, decision: "deny", requests: 0 }));
    assert.equal(m.httpRequests.value("l2", "transparent-http", "2xx"), 1);
    assert.equal(m.httpRequests.value("l2", "transparent-http", "5xx"), 1);
    assert.equal(m.httpRequests.value("l2", "transparent-http", "4xx"), 0, "a denied request was never proxied");
    assert.equal(m.errors.value("connect"), 1);
  });

  it("request records count decrypted requests", () => {
    const m = createGatewayMetrics(new Registry());
    const records: (FlowRecord | RequestRecord)[] = [
      requestRecord({ status: 200 }),
      requestRecord({ status: 421, decision: "deny" }),
      requestRecord({ status: null, error: "x" }),
      flowRecord({ decryption: "decrypt", requests: 3 }),
    ];
    for (const r of records) observeRecord(m, r);
    assert.equal(m.httpRequests.value("main", "explicit", "2xx"), 1);
    assert.equal(m.httpRequests.value("main", "explicit", "4xx"), 1);
    assert.equal(m.httpRequests.value("main", "explicit", "none"), 1);
    assert.equal(m.connections.value("main", "explicit", "allow"), 1);
  });
});

describe("tollgate_parent_up", () => {
  it("reads the parents at scrape time: 1 in service, 0 passed over; a removed parent's series goes", () => {
    const m = createGatewayMetrics(new Registry());
    let parents = [{ name: "corp", inService: false }, { name: "backup", inService: true }];
    m.setParentSource(() => parents);
    const text = m.registry.expose();
    assert.match(text, /^tollgate_parent_up\{parent="corp"\} 0$/m);
    assert.match(text, /^tollgate_parent_up\{parent="backup"\} 1$/m);
    parents = [{ name: "backup", inService: true }];
    assert.doesNotMatch(m.registry.expose(), /parent="corp"/);
  });

  it("reads the certificates at scrape time: when each expires, in Unix seconds; a certificate no longer served goes", () => {
    const m = createGatewayMetrics(new Registry());
    let certificates: CertificateExpiry[] = [
      { use: "ca", listener: "", file: "ca/ca.pem", notAfter: new Date("2036-01-01T00:00:00.999Z") },
      { use: "reverse", listener: "web", file: "certs/www.pem", notAfter: new Date("2027-02-01T12:00:00Z") },
    ];
    m.setCertificateSource(() => certificates);
    const text = m.registry.expose();
    assert.match(text, /^tollgate_certificate_not_after_timestamp_seconds\{use="ca",listener="",file="ca\/ca\.pem"\} 2082758400$/m);
    assert.match(text, /^tollgate_certificate_not_after_timestamp_seconds\{use="reverse",listener="web",file="certs\/www\.pem"\} 1801483200$/m);
    certificates = certificates.slice(0, 1);
    assert.doesNotMatch(m.registry.expose(), /certs\/www\.pem/);
  });

  it("shows when each listener's client-certificate CRLs must be replaced, read at scrape time", () => {
    const m = createGatewayMetrics(new Registry());
    let crls = [{ listener: "secure", file: "clients.crl", nextUpdate: new Date("2026-12-01T00:00:00Z") }];
    m.setClientCrlSource(() => crls);
    assert.match(m.registry.expose(), /^tollgate_client_crl_next_update_timestamp_seconds\{listener="secure",file="clients\.crl"\} 1796083200$/m);
    crls = [];
    assert.doesNotMatch(m.registry.expose(), /clients\.crl/);
  });
});

describe("request times", () => {
  it("request records and proxied HTTP flows feed both histograms, in seconds", () => {
    const m = createGatewayMetrics(new Registry());
    observeRecord(m, requestRecord({ durationMs: 40, headerMs: 30 }));
    observeRecord(m, requestRecord({ status: 403, decision: "deny", durationMs: 2, headerMs: null }));
    observeRecord(m, flowRecord({ kind: "http", requests: 1, status: 200, durationMs: 7000, headerMs: 3000 }));
    const total = m.httpRequestSeconds.snapshot("main", "explicit");
    assert.ok(total);
    assert.equal(total.count, 3, "a refusal took time too");
    assert.equal(total.sum, 0.04 + 0.002 + 7);
    // cumulative: ≤ 2.5 ms one (the refusal), ≤ 50 ms two, ≤ 10 s all three
    const bounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    assert.equal(total.buckets[bounds.indexOf(0.0025)], 1);
    assert.equal(total.buckets[bounds.indexOf(0.025)], 1);
    assert.equal(total.buckets[bounds.indexOf(0.05)], 2);
    assert.equal(total.buckets[bounds.indexOf(5)], 2);
    assert.equal(total.buckets[bounds.indexOf(10)], 3);
    const header = m.httpUpstreamHeaderSeconds.snapshot("main", "explicit");
    assert.ok(header);
    assert.equal(header.count, 2, "a request no upstream answered has no header time");
    assert.equal(header.sum, 0.03 + 3);
  });

  it("tunnels, refused plain-HTTP flows and connection lines (decrypted, reverse) are no requests", () => {
    const m = createGatewayMetrics(new Registry());
    observeRecord(m, flowRecord({ kind: "connect", durationMs: 9000 }));
    observeRecord(m, flowRecord({ kind: "http", requests: 0, status: 403, decision: "deny" }));
    observeRecord(m, flowRecord({ decryption: "decrypt", requests: 3, durationMs: 500 }));
    // a reverse connection's line: its requests have request lines of their own
    observeRecord(m, flowRecord({ kind: "http", mode: "reverse", requests: 2, status: 200, durationMs: 500 }));
    assert.equal(m.httpRequests.seriesCount, 0);
    assert.equal(m.httpRequestSeconds.seriesCount, 0);
    assert.equal(m.httpUpstreamHeaderSeconds.seriesCount, 0);
  });

  it("the exposition shows them per listener and mode", () => {
    const m = createGatewayMetrics(new Registry());
    observeRecord(m, requestRecord({ listener: "rev", mode: "reverse", durationMs: 12, headerMs: 11 }));
    const families = parsePrometheusText(m.registry.expose());
    const f = families.get("tollgate_http_upstream_header_seconds");
    assert.equal(f?.type, "histogram");
    const count = f?.samples.find((x) => x.name === "tollgate_http_upstream_header_seconds_count");
    assert.deepEqual(count?.labels, { listener: "rev", mode: "reverse" });
    assert.equal(count?.value, 1);
  });
});

describe("statusClass", () => {
  it("maps codes to classes", () => {
    assert.equal(statusClass(null), "none");
    assert.equal(statusClass(101), "1xx");
    assert.equal(statusClass(200), "2xx");
    assert.equal(statusClass(399), "3xx");
    assert.equal(statusClass(599), "5xx");
    assert.equal(statusClass(600), "other");
    assert.equal(statusClass(99), "other");
    assert.equal(statusClass(200.5), "other");
  });
});

describe("observeConfigReload", () => {
  it("sets success, time and generation", () => {
    const m = createGatewayMetrics(new Registry());
    observeConfigReload(m, true, 1, 1_000_000);
    assert.equal(m.configGeneration.value(), 1);
    assert.equal(m.configLastReloadSuccess.value(), 1);
    assert.equal(m.configLastReloadTimestamp.value(), 1000);
    observeConfigReload(m, false, 2, 2_000_000);
    assert.equal(m.configGeneration.value(), 1, "a failed reload keeps the generation in force");
    assert.equal(m.configLastReloadSuccess.value(), 0);
    assert.equal(m.configLastReloadTimestamp.value(), 2000);
  });
});

describe("metricsFlowLog", () => {
  it("observes every record and passes it on", () => {
    const m = createGatewayMetrics(new Registry());
    const seen: string[] = [];
    const log = metricsFlowLog(m, { write: (r) => seen.push(r.type) });
    log.write(flowRecord({ bytesUp: 7 }));
    log.write(requestRecord());
    assert.deepEqual(seen, ["flow", "request"]);
    assert.equal(m.bytes.value("main", "up"), 7);
    assert.equal(m.httpRequests.value("main", "explicit", "2xx"), 1);
  });

  it("still logs when a metric refuses the record", () => {
    const m = createGatewayMetrics(new Registry());
    const seen: unknown[] = [];
    const log = metricsFlowLog(m, { write: (r) => seen.push(r) });
    const broken = flowRecord({ listener: undefined as unknown as string });
    log.write(broken);
    assert.deepEqual(seen, [broken]);
  });
});

describe("gateway exposition", () => {
  it("is valid text format after traffic", () => {
    const m = createGatewayMetrics(new Registry(), { certCache: () => ({ hits: 1, misses: 2, size: 2 }) });
    m.activeConnections.labels("main").inc();
    m.activeTunnels.labels("main").inc();
    m.dnsLookups.labels("system", "ok").inc();
    m.dnsLookupSeconds.observe(0.003);
    m.certMintSeconds.observe(0.0021);
    observeFlow(m, flowRecord({ listener: 'we"ird\\name', bytesUp: 1, bytesDown: 2, error: "idle" }));
    observeConfigReload(m, true, 3);
    const families = parsePrometheusText(m.registry.expose());
    assert.equal(families.get("tollgate_bytes_total")?.samples[0]?.labels.listener, 'we"ird\\name');
    assert.equal(families.get("tollgate_config_generation")?.samples[0]?.value, 3);
  });
});
