import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { GatewayAdminState } from "../../src/admin/gateway-state.ts";
import type { Config } from "../../src/config/config.ts";
import { parseConfig } from "../../src/config/parse.ts";
import type { Gateway, ReloadResult } from "../../src/gateway.ts";

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

  it("an invalid policy is refused and never reaches the gateway", async () => {
    const { gateway, pending } = slowGateway();
    const state = new GatewayAdminState(gateway, { listeners: LISTENERS_A, policy: POLICY_A });
    const r = await state.replacePolicy({ defaultAction: "maybe" });
    assert.equal(r.ok, false);
    assert.equal(pending(), 0);
    assert.deepEqual(state.policyJson(), POLICY_A);
  });
});
