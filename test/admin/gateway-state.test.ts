import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { GatewayAdminState, type Peers } from "../../src/admin/gateway-state.ts";
import { parseConnectionQuery, selectOpen } from "../../src/admin/open-connections.ts";
import type { OpenFlow } from "../../src/flows/live-flows.ts";
import { openFlow } from "./_fake-state.ts";
import type { Config } from "../../src/config/config.ts";
import { parseConfig } from "../../src/config/parse.ts";
import type { Gateway, ReloadResult } from "../../src/gateway.ts";
import { createGatewayMetrics } from "../../src/metrics/gateway-metrics.ts";
import { Registry } from "../../src/metrics/registry.ts";

const LISTENERS_A = [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:3128" }];
const LISTENERS_B = [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:3128" }, { name: "second", mode: "explicit", listen: "127.0.0.1:3129" }];
const POLICY_A = { defaultAction: "deny", rules: [{ id: "web", ports: [80, 443], action: "allow" }] };
const POLICY_B = { defaultAction: "allow", rules: [{ id: "no-ads", hosts: [".ads.example"], action: "deny" }] };

/**
 * A gateway whose reloads finish only when the test lets them (`finish()`), recording the
 * configs in the order it applied them. Only what `GatewayAdminState` reaches of a gateway.
 */
function slowGateway() {
  const applied: Config[] = [];
  const waiting: (() => void)[] = [];
  let generation = 1;
  const gateway = {
    addresses: new Map(),
    reload: async (config: Config): Promise<ReloadResult> => {
      await new Promise<void>((go) => waiting.push(go));
      if (config.policy.rules.some((r) => r.id === "refused")) throw new Error("a file the policy names cannot be read");
      applied.push(config);
      return { generation: ++generation, restartNeeded: [], listening: new Map(), closed: [] };
    },
  };
  const finish = async () => {
    // let queued changes reach the gateway, then let the oldest one finish
    for (let i = 0; i < 10 && waiting.length === 0; i++) await new Promise((r) => setTimeout(r, 1));
    waiting.shift()?.();
  };
  return { gateway: gateway as unknown as Gateway, applied, finish, pending: () => waiting.length };
}

describe("GatewayAdminState: what the policy endpoints may read and show", () => {
  it("PUT /policy uses only the host lists the config file names, with their files: it never makes the gateway read another file", async () => {
    const { gateway, applied, finish } = slowGateway();
    const hostLists = { ads: { file: "lists/ads.txt", format: "domains" } };
    const state = new GatewayAdminState(gateway, { listeners: LISTENERS_A, policy: { ...POLICY_A, hostLists } });
    const using = (lists: Record<string, unknown>) => ({ defaultAction: "deny", hostLists: lists, rules: [{ id: "r", hostLists: Object.keys(lists), action: "deny" }] });
    for (const lists of [{ ads: { file: "/etc/passwd", format: "domains" } }, { other: { file: "lists/ads.txt" } }]) {
      const r = await state.replacePolicy(using(lists));
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.issues.length === 1 && /is named in the config file only.*\("ads"\)/.test(r.issues[0]!.message), JSON.stringify(r));
      assert.deepEqual(state.validatePolicy(using(lists)).map((i) => i.path), [`policy.hostLists.${Object.keys(lists)[0]}.file`]);
    }
    assert.equal(applied.length, 0, "nothing was read or applied");
    const same = state.replacePolicy(using({ ads: { file: "lists/ads.txt", format: "patterns" } }));
    await finish();
    assert.equal((await same).ok, true, "a list of the config, in another format");
  });

  it("GET /policy hides the credentials a URL rule's header edits set, as GET /config does", () => {
    const { gateway } = slowGateway();
    const urlRules = [{ id: "api", hosts: ["api.test"], action: "allow", requestHeaders: { set: { Authorization: "Bearer SECRET", "X-Team": "web" } } }];
    const state = new GatewayAdminState(gateway, { listeners: LISTENERS_A, policy: { ...POLICY_A, urlRules } });
    const shown = JSON.stringify(state.policyJson());
    assert.ok(!shown.includes("SECRET"), shown);
    assert.match(shown, /"X-Team":"web"/);
  });

  it("a policy read with GET /policy and put back as it is, [redacted] and all, is refused: the secret is not replaced by the placeholder", async () => {
    const { gateway, applied } = slowGateway();
    const urlRules = [{ id: "api", hosts: ["api.test"], action: "allow", requestHeaders: { set: { Authorization: "Bearer SECRET" } } }];
    const state = new GatewayAdminState(gateway, { listeners: LISTENERS_A, policy: { ...POLICY_A, urlRules } });
    const readBack = JSON.parse(JSON.stringify(state.policyJson()));
    const r = await state.replacePolicy(readBack);
    assert.equal(r.ok, false);
    assert.deepEqual(!r.ok && r.issues.map((i) => i.path), ["policy.urlRules[0].requestHeaders.set.Authorization"]);
    assert.deepEqual(state.validatePolicy(readBack).map((i) => i.path), ["policy.urlRules[0].requestHeaders.set.Authorization"]);
    assert.equal(applied.length, 0);
  });
});

describe("GatewayAdminState: config changes one at a time", () => {
  it("a PUT /policy asked while a file reload is under way builds on the reloaded config", async () => {
    const { gateway, applied, finish } = slowGateway();
    const state = new GatewayAdminState(gateway, { listeners: LISTENERS_A, policy: POLICY_A });
    const fileRaw = { listeners: LISTENERS_B, policy: POLICY_A };
    const fromFile = state.reloadConfig(fileRaw, parseConfig(fileRaw));
    const put = state.replacePolicy(POLICY_B);
    await finish();
    await fromFile;
    await finish();
    const r = await put;
    assert.equal(r.ok, true);
    assert.equal(applied.length, 2);
    // the new policy, with the listener the file added (not the config from before the file changed)
    assert.deepEqual(applied[1]!.listeners.map((l) => l.name), ["explicit", "second"]);
    assert.deepEqual(applied[1]!.policy.rules.map((r) => r.id), ["no-ads"]);
    assert.deepEqual(state.rawConfig, { listeners: LISTENERS_B, policy: POLICY_B });
    assert.deepEqual(state.policyJson(), POLICY_B);
  });

  it("changes reach the gateway one at a time, in the order asked", async () => {
    const { gateway, applied, finish, pending } = slowGateway();
    const state = new GatewayAdminState(gateway, { listeners: LISTENERS_A, policy: POLICY_A });
    const first = state.replacePolicy(POLICY_B);
    const second = state.replacePolicy(POLICY_A);
    await finish();
    await first;
    assert.equal(pending(), 0, "the second waits until the first has finished");
    await finish();
    await second;
    assert.deepEqual(applied.map((c) => c.policy.rules[0]!.id), ["no-ads", "web"]);
    assert.deepEqual(state.policyJson(), POLICY_A);
  });

  it("a refused change leaves the config in force, and the next change goes ahead", async () => {
    const { gateway, applied, finish } = slowGateway();
    const state = new GatewayAdminState(gateway, { listeners: LISTENERS_A, policy: POLICY_A });
    const refused = state.replacePolicy({ defaultAction: "deny", rules: [{ id: "refused", action: "allow" }] });
    const next = state.replacePolicy(POLICY_B);
    await finish();
    const r = await refused;
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.issues[0]!.message : "", /cannot be read/);
    await finish();
    assert.equal((await next).ok, true);
    assert.equal(applied.length, 1);
    assert.deepEqual(state.rawConfig, { listeners: LISTENERS_A, policy: POLICY_B });
  });

  it("a reload from the file is one turn, its refusal recorded in it: the status left is the latest attempt's", async () => {
    const { gateway, finish, pending } = slowGateway();
    const live = { lastReload: { at: "", ok: true, generation: 1 }, generation: 1, metrics: { configLastReloadSuccess: { set() {} }, configLastReloadTimestamp: { set() {} } } };
    Object.assign(gateway, { live });
    const state = new GatewayAdminState(gateway, { listeners: LISTENERS_A, policy: POLICY_A });
    const refusedRaw = { listeners: LISTENERS_A, policy: { defaultAction: "deny", rules: [{ id: "refused", action: "allow" }] } };
    const goodRaw = { listeners: LISTENERS_A, policy: POLICY_B };
    const order: string[] = [];
    // the refused one explains itself slowly (serve re-reads every file the config names)
    const first = state.reloadFromFile(async (apply) => {
      try {
        await apply(refusedRaw, parseConfig(refusedRaw));
      } catch (e) {
        await new Promise((r) => setTimeout(r, 50));
        state.reloadFailed((e as Error).message);
        order.push("refused");
      }
    });
    const second = state.reloadFromFile(async (apply) => {
      const r = await apply(goodRaw, parseConfig(goodRaw));
      live.lastReload = { at: "", ok: true, generation: r.generation };
      order.push("reloaded");
    });
    await finish();
    await new Promise((r) => setTimeout(r, 10)); // the refused one is explaining itself
    if (pending() > 0) await finish(); // the second was let in meanwhile
    await first;
    await finish();
    await second;
    assert.deepEqual(order, ["refused", "reloaded"]);
    assert.equal(live.lastReload.ok, true);
    assert.deepEqual(state.policyJson(), POLICY_B);
  });

  it("an invalid policy is refused and never reaches the gateway", async () => {
    const { gateway, pending } = slowGateway();
    const state = new GatewayAdminState(gateway, { listeners: LISTENERS_A, policy: POLICY_A });
    const r = await state.replacePolicy({ defaultAction: "maybe" });
    assert.equal(r.ok, false);
    assert.equal(pending(), 0);
    assert.deepEqual(state.policyJson(), POLICY_A);
  });
});

describe("GatewayAdminState: open connections of every process", () => {
  const query = parseConnectionQuery(() => undefined);
  const at = (minute: number) => `2026-11-23T10:0${minute}:00.000Z`;

  /** A gateway with open flows `own`, recording what it was asked to close. */
  function gatewayWith(own: OpenFlow[]) {
    const closed: string[] = [];
    const gateway = {
      connections: () => own,
      closeConnection: (id: string, reason: string) => {
        closed.push(`${id}: ${reason}`);
        return own.some((f) => f.id === id);
      },
    };
    return { gateway: gateway as unknown as Gateway, closed };
  }

  /** Workers 1 and 2: 1 answers with its flows, 2 never answers; both record the closes asked. */
  function peers(worker1: OpenFlow[]): { peers: Peers; asked: string[] } {
    const asked: string[] = [];
    return {
      asked,
      peers: {
        config: () => {},
        rotateLeafKey: () => {},
        metricsTexts: () => [],
        status: () => ({ total: 2, ready: 2, pids: [101, 102] }),
        connections: (q) => Promise.resolve([{ index: 1, selection: selectOpen(worker1, q) }, { index: 2, selection: undefined }]),
        closeConnections: (index, ids, reason) => {
          asked.push(`${index} ${ids.join(",")}: ${reason}`);
          return Promise.resolve(index === 2 ? undefined : ids.filter((id) => worker1.some((f) => f.id === id)));
        },
      },
    };
  }

  it("lists its own, merged with the workers' in order; a worker that did not answer is named", async () => {
    const { gateway } = gatewayWith([openFlow("0-1", { since: at(2) })]);
    const alone = new GatewayAdminState(gateway, {});
    const own = await alone.connections(query);
    assert.deepEqual([own.connections.map((f) => f.id), own.total, own.unanswered], [["0-1"], 1, []]);
    const { peers: p } = peers([openFlow("1-4", { since: at(1) }), openFlow("1-5", { since: at(3) })]);
    const state = new GatewayAdminState(gateway, {}, p);
    const list = await state.connections(query);
    assert.deepEqual(list.connections.map((f) => f.id), ["1-4", "0-1", "1-5"]);
    assert.equal(list.total, 3);
    assert.deepEqual(list.unanswered, [2]);
  });

  it("closes a connection in the process its id names, with a reason naming the request", async () => {
    const { gateway, closed } = gatewayWith([openFlow("0-1")]);
    const { peers: p, asked } = peers([openFlow("1-4")]);
    const state = new GatewayAdminState(gateway, {}, p);
    assert.equal(await state.closeConnection("0-1"), "closed");
    assert.deepEqual(closed, ["0-1: closed by an administrator (DELETE /connections/0-1)"]);
    assert.equal(await state.closeConnection("0-9"), "not-found");
    assert.equal(await state.closeConnection("1-4"), "closed");
    assert.equal(await state.closeConnection("1-5"), "not-found");
    assert.equal(await state.closeConnection("2-1"), "no-answer");
    assert.equal(await state.closeConnection("3-1"), "not-found", "no such worker");
    assert.equal(await state.closeConnection("nonsense"), "not-found");
    assert.deepEqual(asked, [
      "1 1-4: closed by an administrator (DELETE /connections/1-4)",
      "1 1-5: closed by an administrator (DELETE /connections/1-5)",
      "2 2-1: closed by an administrator (DELETE /connections/2-1)",
    ]);
    const alone = new GatewayAdminState(gateway, {});
    assert.equal(await alone.closeConnection("1-4"), "not-found", "no workers: only the primary's ids");
    assert.equal(await state.closeConnection("1-4", "closed by an administrator (DELETE /connections?user=alice)"), "closed");
    assert.equal(asked.at(-1), "1 1-4: closed by an administrator (DELETE /connections?user=alice)", "a given reason reaches the worker");
  });

  it("closes many with one message to each worker that runs some of them", async () => {
    const { gateway, closed } = gatewayWith([openFlow("0-1"), openFlow("0-2")]);
    const { peers: p, asked } = peers([openFlow("1-4"), openFlow("1-6")]);
    const state = new GatewayAdminState(gateway, {}, p);
    const ids = ["1-4", "0-1", "2-1", "1-5", "0-9", "3-1", "nonsense", "1-6", "2-2"];
    const outcomes = await state.closeConnections(ids, "closed by an administrator (DELETE /connections?user=bob)");
    assert.deepEqual(
      ids.map((id, i) => `${id} ${outcomes[i]}`),
      ["1-4 closed", "0-1 closed", "2-1 no-answer", "1-5 not-found", "0-9 not-found", "3-1 not-found", "nonsense not-found", "1-6 closed", "2-2 no-answer"],
    );
    assert.deepEqual(asked.sort(), [
      "1 1-4,1-5,1-6: closed by an administrator (DELETE /connections?user=bob)",
      "2 2-1,2-2: closed by an administrator (DELETE /connections?user=bob)",
    ]);
    assert.deepEqual(closed, ["0-1: closed by an administrator (DELETE /connections?user=bob)", "0-9: closed by an administrator (DELETE /connections?user=bob)"]);
    assert.deepEqual(await state.closeConnections([], "r"), []);
    assert.equal(asked.length, 2, "nothing to close: no worker asked");
  });
});

describe("GatewayAdminState: the config it shows", () => {
  it("redacts the admin token, key paths, proxy users' password hashes and credential headers a rule sets", () => {
    const hash = `pbkdf2-sha256$100000$${btoa("0123456789abcdef")}$${btoa("0123456789abcdef0123456789abcdef")}`;
    const config = parseConfig({
      listeners: [...LISTENERS_A, { name: "web", mode: "reverse", listen: "127.0.0.1:8443", tls: { certificates: [{ cert: "app.pem", key: "/etc/tg/app-key.pem" }] } }],
      admin: { listen: "127.0.0.1:9090", token: "t0ken-secret-value" },
      proxyAuth: { users: [{ name: "alice", passwordHash: hash, groups: ["ops"] }] },
      reverse: {
        pools: { app: { backends: ["http://127.0.0.1:8080"] } },
        routes: [{ id: "app", hosts: ["app.test"], pool: "app", requestHeaders: { set: { Authorization: "Bearer s3cr3t-bearer", "X-Env": "prod", "Ocp-Apim-Subscription-Key": "s3cr3t-azure", "X-Auth-Key": "s3cr3t-cf", "X-API_KEY": "s3cr3t-underscore" } } }],
      },
    });
    const state = new GatewayAdminState({ live: { config } } as unknown as Gateway, {});
    const shown = JSON.stringify(state.redactedConfig());
    assert.ok(!shown.includes(hash), "no hash");
    assert.ok(!shown.includes("t0ken-secret-value"), "no token");
    assert.ok(!shown.includes("app-key.pem"), "no key path");
    for (const secret of ["s3cr3t-bearer", "s3cr3t-azure", "s3cr3t-cf", "s3cr3t-underscore"]) assert.ok(!shown.includes(secret), `no credential a route sets: ${secret}`);
    assert.ok(shown.includes('["X-Env","prod"]'), "other headers are shown");
    assert.ok(shown.includes("app.pem"), "certificate paths are shown");
    const users = (state.redactedConfig() as { proxyAuth: { users: { name: string; passwordHash: string; groups: string[] }[] } }).proxyAuth.users;
    assert.deepEqual(users, [{ name: "alice", passwordHash: "[redacted]", groups: ["ops"] }]);
    assert.equal(config.proxyAuth?.users[0]?.passwordHash, hash, "the config in force is untouched");
  });
});

describe("GatewayAdminState: the PAC file's proxy", () => {
  const stateFor = (address: string, pacProxy?: string) => {
    const config = parseConfig({ listeners: [{ name: "explicit", mode: "explicit", listen: `${address.includes(":") ? `[${address}]` : address}:3128` }], admin: { listen: "127.0.0.1:9090", ...(pacProxy ? { pacProxy } : {}) } });
    const gateway = { live: { config }, addresses: new Map([["explicit", { address, port: 3128 }]]) } as unknown as Gateway;
    return new GatewayAdminState(gateway, {});
  };

  it("is the explicit listener's address; on every address (0.0.0.0, ::), the host the PAC was fetched from", () => {
    assert.equal(stateFor("10.1.0.9").pac("gw.corp.example").proxy, "10.1.0.9:3128");
    assert.equal(stateFor("::1").pac("gw.corp.example").proxy, "[::1]:3128");
    assert.equal(stateFor("0.0.0.0").pac("gw.corp.example").proxy, "gw.corp.example:3128", "never PROXY 0.0.0.0, which no client can use");
    assert.equal(stateFor("::").pac("[fd00::9]").proxy, "[fd00::9]:3128");
    assert.equal(stateFor("0.0.0.0").pac().proxy, undefined, "no host to name: none (the API answers 404)");
    assert.equal(stateFor("0.0.0.0", "proxy.corp.example:8080").pac("gw.corp.example").proxy, "proxy.corp.example:8080", "admin.pacProxy wins");
  });
});

describe("GatewayAdminState: /metrics of every process", () => {
  /** A process's metrics text with parent "corp" in service or passed over, and backend "a" up or not. */
  const processWith = (parentUp: boolean, backendUp: boolean) => {
    const registry = new Registry();
    const metrics = createGatewayMetrics(registry);
    metrics.setParentSource(() => [{ name: "corp", inService: parentUp }]);
    metrics.setBackendPoolSource(() => new Map([["app", { idle: 0, reused: 0, backends: [{ url: "http://a", up: backendUp }] }]]));
    return registry;
  };
  const stateWith = (primary: Registry, workers: Registry[]) => {
    const peers: Peers = {
      config: () => {},
      rotateLeafKey: () => {},
      metricsTexts: () => workers.map((w) => w.expose()),
      connections: () => Promise.resolve([]),
      closeConnections: () => Promise.resolve(undefined),
      status: () => ({ total: workers.length, ready: workers.length, pids: workers.map((_, i) => i + 2) }),
    };
    return new GatewayAdminState({ live: { metrics: { registry: primary } } } as unknown as Gateway, {}, peers);
  };
  const line = (text: string, name: string) => text.split("\n").find((l) => l.startsWith(`${name}{`));

  it("parent_up and backend_up stay 1 or 0: 1 when every process has it in service, 0 when one passes it over", () => {
    const all = stateWith(processWith(true, true), [processWith(true, true), processWith(true, true)]).metricsText();
    assert.equal(line(all, "tollgate_parent_up"), 'tollgate_parent_up{parent="corp"} 1');
    assert.match(line(all, "tollgate_backend_up") ?? "", / 1$/);
    const one = stateWith(processWith(true, true), [processWith(false, false), processWith(true, true)]).metricsText();
    assert.equal(line(one, "tollgate_parent_up"), 'tollgate_parent_up{parent="corp"} 0');
    assert.match(line(one, "tollgate_backend_up") ?? "", / 0$/);
  });
});
