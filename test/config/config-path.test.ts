import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pathFromConfig } from "../../src/config/config-path.ts";

describe("pathFromConfig", () => {
  it("joins a relative path to the config file's directory and keeps an absolute one", () => {
    assert.equal(pathFromConfig("/etc/tollgate/gateway.json", "ca/ca.pem"), "/etc/tollgate/ca/ca.pem");
    assert.equal(pathFromConfig("conf/gateway.json", "block.html"), "conf/block.html");
    assert.equal(pathFromConfig("gateway.json", "ca/ca.pem"), "ca/ca.pem");
    assert.equal(pathFromConfig("/etc/tollgate/gateway.json", "/srv/ca.pem"), "/srv/ca.pem");
    assert.equal(pathFromConfig("/gateway.json", "ca.pem"), "/ca.pem");
  });
});
