import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createAdminApp, DEFAULT_FLOWS_LIMIT, MAX_FLOWS_LIMIT, MAX_LIVE_STREAMS } from "../../src/admin/app.ts";
import { pemFingerprint } from "../../src/admin/ca-page.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../../src/metrics/registry.ts";
import { fakeState, flowRecord, openFlow, TEST_CA_PEM } from "./_fake-state.ts";

const TOKEN = "test-token-0123456789";
const auth = { authorization: `Bearer ${TOKEN}` };

function appWith(overrides: Parameters<typeof fakeState>[0] = {}, options: { token?: string } = { token: TOKEN }) {
  const state = fakeState(overrides);
  return { state, app: createAdminApp(state, options) };
}

async function json(res: Response): Promise<Record<string, unknown>> {
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return (await res.json()) as Record<string, unknown>;
}

const PROTECTED = ["/readyz", "/metrics", "/config", "/policy", "/flows", "/connections", "/backends", "/parents", "/ca.pem", "/ca", "/proxy.pac", "/openapi.json"];

describe("admin app: bearer token", () => {
  const { app } = appWith();

  for (const path of PROTECTED) {
    it(`refuses GET ${path} without a token (401, WWW-Authenticate: Bearer)`, async () => {
      const res = await app.request(path);
      assert.equal(res.status, 401);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="tollgate-admin"$/);
      assert.equal((await json(res))["error"], "missing bearer token");
    });
  }

  it("refuses a wrong token with error=invalid_token", async () => {
    const res = await app.request("/config", { headers: { authorization: `Bearer ${TOKEN}x` } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
    assert.equal((await json(res))["error"], "invalid bearer token");
  });

  it("refuses a token of another scheme or a malformed header", async () => {
    for (const header of [`Basic ${btoa("a:" + TOKEN)}`, TOKEN, "Bearer", `Bearer ${TOKEN} extra`]) {
      const res = await app.request("/config", { headers: { authorization: header } });
      assert.equal(res.status, 401, header);
      assert.match(res.headers.get("www-authenticate") ?? "", /invalid_request/, header);
    }
  });

  it("refuses a token differing only in case or by a prefix", async () => {
    for (const t of [TOKEN.toUpperCase(), TOKEN.slice(0, -1), TOKEN + TOKEN]) {
      assert.equal((await app.request("/config", { headers: { authorization: `Bearer ${t}` } })).status, 401, t);
    }
  });

  it("accepts the right token on every endpoint, with the scheme in any case", async () => {
    for (const path of PROTECTED) {
      const res = await app.request(path, { headers: auth });
      assert.equal(res.status, 200, path);
    }
    assert.equal((await app.request("/config", { headers: { authorization: `bearer ${TOKEN}` } })).status, 200);
  });

  it("refuses unauthenticated writes before reading the body", async () => {
    const state = fakeState();
    const res = await createAdminApp(state, { token: TOKEN }).request("/policy", { method: "PUT", body: "{}" });
    assert.equal(res.status, 401);
    assert.deepEqual(state.calls, []);
  });

  it("serves /healthz, /ui and / without a token", async () => {
    assert.equal((await app.request("/healthz")).status, 200);
    assert.equal((await app.request("/ui")).status, 200);
    const root = await app.request("/");
    assert.equal(root.status, 302);
    assert.equal(root.headers.get("location"), "/ui");
  });

  it("opens /ca, /ca.pem and /proxy.pac (only those) with openBootstrap", async () => {
    const open = createAdminApp(fakeState(), { token: TOKEN, openBootstrap: true });
    for (const path of ["/ca", "/ca.pem", "/proxy.pac"]) assert.equal((await open.request(path)).status, 200, path);
    for (const path of ["/config", "/policy", "/flows"]) assert.equal((await open.request(path)).status, 401, path);
  });

  it("rejects an empty token instead of running open", () => {
    assert.throws(() => createAdminApp(fakeState(), { token: "" }), TypeError);
  });
});

describe("admin app: without a token (loopback)", () => {
  const { app } = appWith({}, {});

  it("serves requests naming an IP address or localhost", async () => {
    for (const host of ["127.0.0.1:9090", "[::1]:9090", "localhost:9090", "LOCALHOST"]) {
      assert.equal((await app.request("/config", { headers: { host } })).status, 200, host);
    }
    assert.equal((await app.request("http://127.0.0.1:9090/config")).status, 200);
  });

  it("refuses a write a page on another site sent (no CORS preflight needed for a simple POST): 403, nothing done", async () => {
    const { app, state } = appWith({}, {});
    const post = (headers: Record<string, string>) => app.request("http://127.0.0.1:9090/policy/validate", { method: "POST", headers: { host: "127.0.0.1:9090", "content-type": "text/plain", ...headers }, body: "{}" });
    const foreign: Record<string, string>[] = [{ origin: "https://evil.example" }, { "sec-fetch-site": "cross-site" }, { "sec-fetch-site": "same-site" }, { origin: "null" }];
    for (const headers of foreign) {
      const res = await post(headers);
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.match(String((await json(res))["error"]), /from another site/);
    }
    assert.deepEqual(state.calls, [], "nothing reached the state");
    // the dashboard's own requests, and tools that send neither field
    const own: Record<string, string>[] = [
      { origin: "http://127.0.0.1:9090", "sec-fetch-site": "same-origin" },
      { origin: "https://admin.corp.example", "sec-fetch-site": "same-origin" }, // behind a proxy that rewrites Host
      {},
    ];
    for (const headers of own) {
      assert.notEqual((await post(headers)).status, 403, JSON.stringify(headers));
    }
    assert.equal((await app.request("/config", { headers: { host: "127.0.0.1:9090", origin: "https://evil.example" } })).status, 200, "reads are not affected");
  });

  it("refuses other Host names (DNS rebinding) with 403, except /healthz", async () => {
    const res = await app.request("/config", { headers: { host: "attacker.example:9090" } });
    assert.equal(res.status, 403);
    assert.match(String((await json(res))["error"]), /attacker\.example/);
    assert.equal((await app.request("http://rebind.example:9090/policy", { method: "PUT", body: "{}" })).status, 403);
    assert.equal((await app.request("/healthz", { headers: { host: "attacker.example" } })).status, 200);
  });

  it("accepts configured extra host names", async () => {
    const extra = createAdminApp(fakeState(), { allowedHosts: ["gw.lan"] });
    assert.equal((await extra.request("/config", { headers: { host: "GW.lan:9090" } })).status, 200);
  });
});

describe("admin app: health, readiness, metrics, config", () => {
  it("GET /healthz reports start time and uptime", async () => {
    const { app, state } = appWith();
    const body = await json(await app.request("/healthz"));
    assert.equal(body["status"], "ok");
    assert.equal(body["startedAt"], state.startedAt.toISOString());
    assert.ok(typeof body["uptimeSeconds"] === "number" && body["uptimeSeconds"] >= 4);
  });

  it("GET /readyz is 200 when ready and 503 with the details and last reload error when not", async () => {
    const { app, state } = appWith();
    const ok = await app.request("/readyz", { headers: auth });
    assert.equal(ok.status, 200);
    assert.equal((await json(ok))["ready"], true);
    state.ready = false;
    const bad = await app.request("/readyz", { headers: auth });
    assert.equal(bad.status, 503);
    const body = await json(bad);
    assert.equal(body["ready"], false);
    assert.deepEqual(body["lastReload"], { at: "2026-01-01T00:00:00.000Z", ok: false, error: "Invalid config (1 problem)", generation: 1 });
    assert.equal((body["checks"] as Record<string, { detail?: string }>)["listeners"]?.detail, 'listener "explicit" not bound');
  });

  it("GET /metrics serves the exposition with the Prometheus content type", async () => {
    const { app, state } = appWith();
    const res = await app.request("/metrics", { headers: auth });
    assert.equal(res.headers.get("content-type"), PROMETHEUS_CONTENT_TYPE);
    assert.equal(await res.text(), state.metrics);
  });

  it("GET /config and GET /policy return the state's JSON", async () => {
    const { app, state } = appWith();
    assert.deepEqual(await json(await app.request("/config", { headers: auth })), JSON.parse(JSON.stringify(state.redactedConfig())));
    const policy = await json(await app.request("/policy", { headers: auth }));
    assert.equal(policy["defaultAction"], "deny");
    assert.deepEqual((policy["rules"] as { id: string }[]).map((r) => r.id), ["block-ads", "corp", "web"]);
  });

  it("answers unknown paths with a JSON 404", async () => {
    const res = await appWith().app.request("/nope", { headers: auth });
    assert.equal(res.status, 404);
    assert.match(String((await json(res))["error"]), /GET \/nope/);
  });

  it("answers a state that throws with a JSON 500", async () => {
    const { app } = appWith({ redactedConfig: () => { throw new Error("boom"); } });
    const res = await app.request("/config", { headers: auth });
    assert.equal(res.status, 500);
    assert.equal((await json(res))["error"], "internal error: boom");
  });
});

describe("admin app: policy", () => {
  const put = (app: ReturnType<typeof appWith>["app"], body: string, headers: Record<string, string> = {}) =>
    app.request("/policy", { method: "PUT", body, headers: { ...auth, "content-type": "application/json", ...headers } });

  it("PUT /policy with a valid policy swaps it and returns the new generation", async () => {
    const { app, state } = appWith();
    const res = await put(app, JSON.stringify({ defaultAction: "allow", rules: [{ id: "only", hosts: ["a.example"], action: "deny" }] }));
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { ok: true, generation: 2 });
    assert.equal(state.generation, 2);
    const now = await json(await app.request("/policy", { headers: auth }));
    assert.equal(now["defaultAction"], "allow");
    assert.deepEqual((now["rules"] as { id: string }[]).map((r) => r.id), ["only"]);
  });

  it("PUT /policy with an invalid policy is 400 with every issue and its path; nothing changes", async () => {
    const { app, state } = appWith();
    const res = await put(app, JSON.stringify({ rules: [{ hosts: ["exa mple.com"], action: "allow" }, { action: "maybe", listeners: ["nope"] }] }));
    assert.equal(res.status, 400);
    const body = await json(res);
    assert.equal(body["error"], "invalid policy");
    const issues = body["issues"] as { path: string; message: string }[];
    const paths = issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ["rules[0].hosts[0]", "rules[1].action", "rules[1].listeners[0]"]);
    assert.match(issues.find((i) => i.path === "rules[1].listeners[0]")?.message ?? "", /no listener named "nope"/);
    assert.equal(state.generation, 1);
  });

  it("PUT /policy refuses malformed JSON, an empty body and duplicate keys with 400", async () => {
    const { app, state } = appWith();
    for (const body of ['{"rules": [', "", '{"defaultAction": "allow", "defaultAction": "deny"}']) {
      const res = await put(app, body);
      assert.equal(res.status, 400, body);
      assert.match(String((await json(res))["error"]), /JSON|empty/, body);
    }
    assert.deepEqual(state.calls, []);
  });

  it("refuses bodies over 1 MiB with 413, announced or streamed", async () => {
    const { app, state } = appWith();
    const big = JSON.stringify({ rules: [], pad: "x".repeat(1024 * 1024) });
    const announced = await put(app, big);
    assert.equal(announced.status, 413);
    const chunks = [new TextEncoder().encode('{"rules": ['), new Uint8Array(600 * 1024).fill(32), new Uint8Array(600 * 1024).fill(32)];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const streamed = await app.request("/policy/validate", { method: "POST", body: stream, headers: auth, duplex: "half" } as RequestInit);
    assert.equal(streamed.status, 413);
    assert.match(String((await json(streamed))["error"]), /larger than 1048576 bytes/);
    assert.deepEqual(state.calls, []);
  });

  it("POST /policy/validate: 200 for a valid policy, 400 with issues otherwise, never swapping", async () => {
    const { app, state } = appWith();
    const ok = await app.request("/policy/validate", { method: "POST", headers: auth, body: JSON.stringify({ rules: [{ action: "allow" }] }) });
    assert.equal(ok.status, 200);
    assert.deepEqual(await json(ok), { valid: true, issues: [] });
    const bad = await app.request("/policy/validate", { method: "POST", headers: auth, body: JSON.stringify({ rules: [{ action: "allow", colour: 1 }] }) });
    assert.equal(bad.status, 400);
    const body = await json(bad);
    assert.equal(body["valid"], false);
    assert.deepEqual((body["issues"] as { path: string }[]).map((i) => i.path), ["rules[0].colour"]);
    assert.equal(state.generation, 1);
    assert.deepEqual(state.calls, ["validatePolicy", "validatePolicy"]);
  });
});

describe("admin app: explain", () => {
  const explain = (app: ReturnType<typeof appWith>["app"], body: unknown) =>
    app.request("/policy/explain", { method: "POST", headers: auth, body: JSON.stringify(body) });

  it("explains a URL: decision, matching rule and every rule's verdict", async () => {
    const { app } = appWith();
    const res = await explain(app, { url: "https://www.example.com/x" });
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body["host"], "www.example.com");
    assert.equal(body["port"], 443);
    assert.deepEqual(body["decision"], { action: "allow", ruleId: "web", reason: 'rule "web" matched any host and port 443', decryption: "exception" });
    const rules = body["rules"] as { ruleId: string; matched: boolean; reason: string }[];
    assert.deepEqual(rules.map((r) => [r.ruleId, r.matched]), [["block-ads", false], ["corp", false], ["web", true]]);
    assert.match(rules[0]?.reason ?? "", /matched none of 1 host condition/);
    assert.equal(body["clientIp"], "127.0.0.1");
    assert.equal(body["listener"], "explicit");
  });

  it("explains a host with client, port and mode", async () => {
    const { app } = appWith();
    const corp = await json(await explain(app, { host: "git.corp.example", port: 443, clientIp: "10.1.2.3" }));
    assert.equal((corp["decision"] as { ruleId: string }).ruleId, "corp");
    const outside = await json(await explain(app, { host: "git.corp.example", port: 443, clientIp: "192.0.2.9" }));
    assert.equal((outside["decision"] as { ruleId: string }).ruleId, "web");
    const ads = await json(await explain(app, { host: "x.ads.example", port: 22, mode: "transparent" }));
    assert.equal((ads["decision"] as { action: string }).action, "deny");
    assert.equal(ads["listener"], "tproxy");
    const ssh = await json(await explain(app, { host: "example.com", port: 22 }));
    assert.deepEqual(ssh["decision"], { action: "deny", ruleId: "default", reason: "no rule matched; default deny", decryption: "exception" });
  });

  it("answers bad queries with 400 and a reason", async () => {
    const { app } = appWith();
    const cases: [unknown, RegExp][] = [
      [{}, /"url" or "host"/],
      [[], /JSON object/],
      [{ host: "a.example", port: 0 }, /port/i],
      [{ host: "a.example", port: "443" }, /"port" must be a number/],
      [{ host: "a.example", colour: "red" }, /Unknown field "colour"/],
      [{ url: "not a url" }, /Invalid URL/],
      [{ url: "ftp://a.example/" }, /scheme/],
      [{ url: "https://a.example/", host: "b.example" }, /not both/],
      [{ host: "exa mple.com" }, /whitespace/],
      [{ host: "a.example", clientIp: "nobody" }, /client address/],
      [{ host: "a.example", mode: "sideways" }, /Invalid mode/],
      [{ host: "a.example", listener: "nope" }, /No listener named "nope"/],
      [{ host: "a.example", method: "GE T" }, /method/],
    ];
    for (const [body, pattern] of cases) {
      const res = await explain(app, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(String((await json(res))["error"]), pattern, JSON.stringify(body));
    }
  });
});

describe("admin app: flows", () => {
  it("GET /flows returns the newest records, default 100, limit 1..1000", async () => {
    const { app, state } = appWith();
    for (let i = 0; i < 1500; i++) state.flows.write(flowRecord({ port: i + 1 }));
    const ports = async (query: string) => {
      const res = await app.request(`/flows${query}`, { headers: auth });
      assert.equal(res.status, 200, query);
      return ((await json(res))["flows"] as { port: number }[]).map((r) => r.port);
    };
    const byDefault = await ports("");
    assert.equal(byDefault.length, DEFAULT_FLOWS_LIMIT);
    assert.equal(byDefault.at(-1), 1500);
    assert.equal(byDefault[0], 1401);
    assert.deepEqual(await ports("?limit=1"), [1500]);
    assert.equal((await ports(`?limit=${MAX_FLOWS_LIMIT}`)).length, 1000);
    for (const bad of ["0", "1001", "-1", "abc", "1.5", "", "99999999999"]) {
      const res = await app.request(`/flows?limit=${bad}`, { headers: auth });
      assert.equal(res.status, 400, bad);
      assert.match(String((await json(res))["error"]), /"limit" must be an integer 1-1000/);
    }
  });

  it("GET /flows/stream sends SSE frames of records written after it started, and ends on abort", async () => {
    const { app, state } = appWith();
    state.flows.write(flowRecord({ host: "before.example" }));
    const abort = new AbortController();
    const res = await app.request("/flows/stream?replay=1", { headers: auth, signal: abort.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.equal(res.headers.get("cache-control"), "no-cache");
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const readFrames = async (n: number) => {
      while (text.split("\n\n").length - 1 < n) {
        const { done, value } = await reader.read();
        assert.equal(done, false, "stream ended early");
        text += decoder.decode(value, { stream: true });
      }
    };
    state.flows.write(flowRecord({ host: "live-1.example", decision: "deny", rule: "block-ads" }));
    state.flows.write(flowRecord({ host: "live-2.example" }));
    await readFrames(4);
    assert.ok(text.startsWith(": connected\n\n"), "the stream opens with a comment so the head is sent at once");
    const frames = text.split("\n\n").filter((f) => f !== "" && !f.startsWith(":"));
    const records = frames.map((f) => {
      const [event, data] = f.split("\n");
      assert.equal(event, "event: flow");
      return JSON.parse(data!.slice("data: ".length)) as { host: string; decision: string };
    });
    assert.deepEqual(records.map((r) => r.host), ["before.example", "live-1.example", "live-2.example"]);
    assert.equal(records[1]?.decision, "deny");
    assert.equal(state.flows.stats().subscribers, 1);
    abort.abort();
    const end = await Promise.race([
      (async () => {
        for (;;) if ((await reader.read()).done) return "ended";
      })(),
      new Promise((resolve) => setTimeout(() => resolve("timeout"), 2000)),
    ]);
    assert.equal(end, "ended");
    assert.equal(state.flows.stats().subscribers, 0);
  });

  it("GET /flows/stream: at most 64 live streams at once, then 503 with Retry-After until one closes", async () => {
    const { app, state } = appWith();
    const aborts = Array.from({ length: MAX_LIVE_STREAMS }, () => new AbortController());
    const open = await Promise.all(aborts.map((a) => app.request("/flows/stream", { headers: auth, signal: a.signal })));
    assert.deepEqual(new Set(open.map((r) => r.status)), new Set([200]));
    assert.equal(state.flows.stats().subscribers, MAX_LIVE_STREAMS);
    const refused = await app.request("/flows/stream", { headers: auth });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "5");
    assert.match(((await refused.json()) as { error: string }).error, /64 live flow streams are open already/);
    assert.equal(state.flows.stats().subscribers, MAX_LIVE_STREAMS);
    aborts[0]!.abort();
    await open[0]!.body!.cancel().catch(() => {});
    for (let i = 0; i < 100 && state.flows.stats().subscribers >= MAX_LIVE_STREAMS; i++) await new Promise((r) => setTimeout(r, 10));
    const again = new AbortController();
    const next = await app.request("/flows/stream", { headers: auth, signal: again.signal });
    assert.equal(next.status, 200);
    for (const a of [...aborts, again]) a.abort();
    await Promise.all([...open.slice(1), next].map((r) => r.body!.cancel().catch(() => {})));
  });

  it("HEAD /flows/stream answers the headers and leaves no subscriber behind (a monitoring probe's HEAD)", async () => {
    const state = fakeState();
    const app = createAdminApp(state, { token: TOKEN });
    for (let i = 0; i < 10; i++) {
      const res = await app.request("/flows/stream", { method: "HEAD", headers: auth });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
      assert.equal(res.body, null);
    }
    state.flows.write(flowRecord());
    assert.equal(state.flows.stats().subscribers, 0);
  });

  it("GET /flows and /flows/stream narrow by the filter parameters; a bad one is a 400", async () => {
    const { app, state } = appWith();
    for (let i = 0; i < 300; i++) {
      state.flows.write(flowRecord({ port: i, user: i % 3 === 0 ? "alice" : "bob", decision: i % 2 === 0 ? "deny" : "allow", host: `h${i}.example.com` }));
    }
    const ports = async (query: string) => {
      const res = await app.request(`/flows${query}`, { headers: auth });
      assert.equal(res.status, 200, query);
      return ((await json(res))["flows"] as { port: number }[]).map((r) => r.port);
    };
    const aliceDenied = await ports("?user=alice&decision=deny&limit=3");
    assert.deepEqual(aliceDenied, [282, 288, 294], "the newest 3 that match, oldest first");
    assert.deepEqual(await ports("?host=h7.example.com"), [7]);
    assert.equal((await ports("?host=*.example.com&limit=1000")).length, 300);
    assert.deepEqual(await ports("?user=carol"), []);
    for (const [query, message] of [["?decision=maybe", /"decision"/], ["?client=nope", /"client"/], ["?status=abc", /"status"/]] as const) {
      const res = await app.request(`/flows${query}`, { headers: auth });
      assert.equal(res.status, 400, query);
      assert.match(String((await json(res))["error"]), message);
      assert.equal((await app.request(`/flows/stream${query}`, { headers: auth })).status, 400, `stream ${query}`);
    }
    const abort = new AbortController();
    const res = await app.request("/flows/stream?replay=1000&user=alice&decision=deny", { headers: auth, signal: abort.signal });
    assert.equal(res.status, 200);
    state.flows.write(flowRecord({ port: 1000, user: "bob", decision: "deny" }));
    state.flows.write(flowRecord({ port: 1001, user: "alice", decision: "deny" }));
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes('"port": 1001') && !text.includes('"port":1001')) {
      const { done, value } = await reader.read();
      assert.equal(done, false, "stream ended early");
      text += decoder.decode(value, { stream: true });
    }
    abort.abort();
    const streamed = text.split("\n\n").filter((f) => f.startsWith("event: flow")).map((f) => (JSON.parse(f.split("\ndata: ")[1]!) as { port: number }).port);
    assert.equal(streamed.length, 51, "50 replayed (every 6th of 300) and the one live match");
    assert.ok(streamed.every((p) => p % 6 === 0 || p === 1001), String(streamed));
    assert.equal(streamed.at(-1), 1001);
  });

  it("GET /flows/stream refuses a bad replay count", async () => {
    const res = await appWith().app.request("/flows/stream?replay=5000", { headers: auth });
    assert.equal(res.status, 400);
  });
});

describe("admin app: open connections", () => {
  const open = () => [
    openFlow("0-1", { host: "a.example.com", since: "2026-11-23T10:00:00.000Z", bytesUp: 1, bytesDown: 1, user: "alice" }),
    openFlow("1-7", { host: "b.example.com", since: "2026-11-23T10:01:00.000Z", bytesUp: 0, bytesDown: 9000 }),
    openFlow("0-2", { host: "other.test", since: "2026-11-23T10:02:00.000Z", bytesUp: 10, bytesDown: 0 }),
  ];

  it("GET /connections lists them, the longest open first, with the total and the workers that did not answer", async () => {
    const { app } = appWith({ open: open(), unanswered: [2] });
    const res = await app.request("/connections", { headers: auth });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const body = await json(res);
    assert.deepEqual((body["connections"] as { id: string }[]).map((c) => c.id), ["0-1", "1-7", "0-2"]);
    assert.equal(body["total"], 3);
    assert.deepEqual(body["unanswered"], [2]);
  });

  it("GET /connections takes the flow filters, sort and limit; bad values are 400s naming the parameter", async () => {
    const { app } = appWith({ open: open() });
    const ids = async (q: string) => ((await json(await app.request(`/connections?${q}`, { headers: auth })))["connections"] as { id: string }[]).map((c) => c.id);
    assert.deepEqual(await ids("host=*.example.com"), ["0-1", "1-7"]);
    assert.deepEqual(await ids("user=alice"), ["0-1"]);
    assert.deepEqual(await ids("sort=bytes&limit=2"), ["1-7", "0-2"]);
    for (const [q, name] of [["sort=big", "sort"], ["limit=0", "limit"], ["client=x", "client"], ["minDurationMs=-1", "minDurationMs"]] as const) {
      const res = await app.request(`/connections?${q}`, { headers: auth });
      assert.equal(res.status, 400, q);
      assert.match(String((await json(res))["error"]), new RegExp(`query parameter "${name}"`), q);
    }
  });

  it("DELETE /connections/{id} closes one: 200, then 404; a malformed id is a 400; a silent worker a 504", async () => {
    const { app, state } = appWith({ open: open(), silent: ["1-9"] });
    const res = await app.request("/connections/1-7", { method: "DELETE", headers: auth });
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { closed: true, id: "1-7" });
    assert.deepEqual(state.open.map((c) => c.id), ["0-1", "0-2"]);
    const again = await app.request("/connections/1-7", { method: "DELETE", headers: auth });
    assert.equal(again.status, 404);
    assert.match(String((await json(again))["error"]), /no open connection 1-7/);
    const bad = await app.request("/connections/abc", { method: "DELETE", headers: auth });
    assert.equal(bad.status, 400);
    assert.match(String((await json(bad))["error"]), /not a connection id: "abc"/);
    assert.equal((await app.request("/connections/1-9", { method: "DELETE", headers: auth })).status, 504);
    assert.equal((await app.request("/connections/0-1", { method: "DELETE" })).status, 401, "the token is needed");
    assert.equal(state.open.length, 2, "nothing closed without the token");
    assert.deepEqual(state.calls.filter((c) => c.startsWith("closeConnection")), ["closeConnection 1-7", "closeConnection 1-7", "closeConnection 1-9"]);
  });

  it("DELETE /connections?filter closes every match, naming the filter in their lines; no filter is a 400", async () => {
    const { app, state } = appWith({ open: open(), unanswered: [3] });
    const none = await app.request("/connections", { method: "DELETE", headers: auth });
    assert.equal(none.status, 400);
    assert.match(String((await json(none))["error"]), /at least one filter/);
    assert.equal((await app.request("/connections?client=x", { method: "DELETE", headers: auth })).status, 400);
    assert.equal((await app.request("/connections?host=*.example.com", { method: "DELETE" })).status, 401, "the token is needed");
    assert.equal(state.open.length, 3, "nothing closed by the refused requests");
    const res = await app.request("/connections?host=*.example.com", { method: "DELETE", headers: auth });
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { closed: ["0-1", "1-7"], ended: 0, remaining: 0, unanswered: [3] });
    assert.deepEqual(state.open.map((c) => c.id), ["0-2"]);
    assert.deepEqual(state.calls.filter((c) => c.startsWith("closeConnection")), [
      "closeConnection 0-1: closed by an administrator (DELETE /connections?host=*.example.com)",
      "closeConnection 1-7: closed by an administrator (DELETE /connections?host=*.example.com)",
    ]);
  });

  it("DELETE /connections?filter&limit closes at most limit (the oldest first) and says how many remain", async () => {
    const { app, state } = appWith({ open: open(), silent: ["0-2"] });
    const res = await app.request("/connections?minDurationMs=0&limit=1", { method: "DELETE", headers: auth });
    assert.deepEqual(await json(res), { closed: ["0-1"], ended: 0, remaining: 2, unanswered: [] });
    const rest = await app.request("/connections?minDurationMs=0", { method: "DELETE", headers: auth });
    assert.deepEqual(await json(rest), { closed: ["1-7"], ended: 0, remaining: 0, unanswered: [0] }, "the silent process is named");
    assert.deepEqual(state.open.map((c) => c.id), ["0-2"]);
  });
});

describe("admin app: CA, PAC, OpenAPI, UI", () => {
  it("GET /ca.pem serves the certificate as application/x-pem-file, 404 without a CA", async () => {
    const { app, state } = appWith();
    const res = await app.request("/ca.pem", { headers: auth });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/x-pem-file");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.match(res.headers.get("content-disposition") ?? "", /filename="tollgate-ca.pem"/);
    assert.equal(await res.text(), TEST_CA_PEM);
    state.caPem = undefined;
    const none = await app.request("/ca.pem", { headers: auth });
    assert.equal(none.status, 404);
    assert.match(String((await json(none))["error"]), /no interception CA/);
  });

  it("GET /ca is an HTML page with the fingerprint and the README's trust commands", async () => {
    const { app, state } = appWith();
    const res = await app.request("http://127.0.0.1:9090/ca", { headers: auth });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    const html = await res.text();
    const fingerprint = await pemFingerprint(TEST_CA_PEM);
    assert.match(fingerprint ?? "", /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.ok(html.includes(fingerprint!));
    for (const needle of ["update-ca-certificates", "certutil -d sql:$HOME/.pki/nssdb", "NODE_EXTRA_CA_CERTS=", "DENO_CERT=", "--cacert", "http://127.0.0.1:9090/ca.pem", "Authorization: Bearer"]) {
      assert.ok(html.includes(needle), needle);
    }
    assert.ok(!html.includes("PRIVATE KEY"));
    state.caPem = undefined;
    const none = await app.request("/ca", { headers: auth });
    assert.equal(none.status, 404);
    assert.match(await none.text(), /No interception CA is configured/);
  });

  it("GET /proxy.pac is served as application/x-ns-proxy-autoconfig, 404 without an explicit listener", async () => {
    const { app, state } = appWith();
    const res = await app.request("/proxy.pac", { headers: auth });
    assert.equal(res.headers.get("content-type"), "application/x-ns-proxy-autoconfig");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", "no other page may run it as a script");
    assert.equal(res.headers.get("vary"), "host", "the proxy named may be the host asked");
    await app.request("http://gw.corp.example:9090/proxy.pac", { headers: auth });
    assert.equal(state.pacHost, "gw.corp.example");
    const pac = await res.text();
    assert.match(pac, /function FindProxyForURL\(url, host\)/);
    assert.ok(pac.includes('"PROXY 127.0.0.1:3128"'));
    state.pacData = { proxy: undefined, bypass: [] };
    assert.equal((await app.request("/proxy.pac", { headers: auth })).status, 404);
  });

  it("GET /backends lists the reverse proxy's pools as the gateway reports them", async () => {
    const pools = [{
      name: "api",
      healthChecks: true,
      idleConnections: 2,
      reusedConnections: 7,
      backends: [{ url: "http://10.0.0.1:8080", available: false, healthy: false, ejectedUntil: null, consecutiveFailures: 0, lastError: "Health check answered 503", inFlight: 0 }],
    }];
    const { app } = appWith({ pools });
    const res = await app.request("/backends", { headers: auth });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { pools });
    assert.equal((await app.request("/backends")).status, 401);
  });

  it("GET /parents lists the parent proxies as the gateway reports them", async () => {
    const parentList = [
      { name: "corp", address: "proxy.corp:3128", fallback: "backup", credentials: true, inService: false, downUntil: "2026-11-23T05:00:30.000Z", lastError: "Connect to proxy.corp:3128 (10.0.0.9) failed: ECONNREFUSED" },
      { name: "backup", address: "10.0.0.10:3128", fallback: null, credentials: false, inService: true, downUntil: null, lastError: null },
    ];
    const { app } = appWith({ parentList });
    const res = await app.request("/parents", { headers: auth });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { parents: parentList });
    assert.equal((await app.request("/parents")).status, 401);
  });

  it("GET /openapi.json is OpenAPI 3.1 listing every path", async () => {
    const doc = await json(await appWith().app.request("/openapi.json", { headers: auth }));
    assert.equal(doc["openapi"], "3.1.0");
    const paths = doc["paths"] as Record<string, Record<string, unknown>>;
    // every route the app serves, with its method, and nothing it does not serve
    const app = appWith().app;
    const served = app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    const documented = Object.entries(paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
    assert.deepEqual([...new Set(documented)].sort(), [...new Set(served)].sort());
    assert.ok(served.includes("post /pki/rotate-leaf-key") && served.length > 18, served.join(", "));
    assert.ok(paths["/connections/{id}"]?.["delete"]);
    assert.ok(paths["/policy"]?.["put"] && paths["/policy"]?.["get"]);
    assert.ok(paths["/policy/explain"]?.["post"]);
    assert.deepEqual(doc["security"], [{ bearer: [] }]);
  });

  it("GET /ui is the dashboard with a nonce-based CSP matching its inline script and style", async () => {
    const res = await appWith().app.request("/ui");
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce, csp);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'self'/);
    const html = await res.text();
    assert.ok(html.includes(`<script nonce="${nonce}">`));
    assert.ok(html.includes(`<style nonce="${nonce}">`));
    const other = (await appWith().app.request("/ui")).headers.get("content-security-policy");
    assert.notEqual(other, csp, "a fresh nonce per response");
    assert.equal(res.headers.get("referrer-policy"), "no-referrer");
  });
});
