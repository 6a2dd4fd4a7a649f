import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { restartNeeded } from "../../src/config/restart-needed.ts";

const LISTENERS = [{ name: "p", mode: "explicit", listen: "127.0.0.1:3128" }];
const config = (extra: Record<string, unknown>) => parseConfig({ listeners: LISTENERS, ...extra });

describe("restartNeeded", () => {
  it("names workers, and the admin API's listener and token, which a reload cannot change; not its PAC settings", () => {
    const admin = { listen: "127.0.0.1:9090", token: "a-token-of-16-chars" };
    const base = config({ admin });
    assert.deepEqual(restartNeeded(base, config({ admin, workers: 2 })), ["workers"]);
    assert.deepEqual(restartNeeded(base, config({ admin: { ...admin, token: "another-token-16-chars" } })), ["admin.token"]);
    assert.deepEqual(restartNeeded(base, config({ admin: { ...admin, listen: "127.0.0.1:9091" } })), ["admin.listen"]);
    assert.deepEqual(restartNeeded(base, config({})), ["admin"]);
    assert.deepEqual(restartNeeded(base, config({ admin: { ...admin, openBootstrap: true } })), ["admin.openBootstrap"]);
    assert.deepEqual(restartNeeded(base, config({ admin: { ...admin, pacBypass: [".corp.test"], pacProxy: "proxy.corp.test:3128" } })), []);
    assert.deepEqual(restartNeeded(base, config({ admin })), []);
  });
});
