import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { backendTarget } from "../../src/reverse/backend-path.ts";

describe("backendTarget", () => {
  it("replaces the route's prefix and keeps the query", () => {
    assert.equal(backendTarget("/api/users", "/api", "/", "/api/users?page=2&q=a%20b"), "/users?page=2&q=a%20b");
    assert.equal(backendTarget("/api/users/", "/api", "/", "/api/users/"), "/users/");
    assert.equal(backendTarget("/api/users", "/api", "/v2/api", "/api/users"), "/v2/api/users");
    assert.equal(backendTarget("/old/page", "/old", "/new", "/old/page?x"), "/new/page?x");
  });

  it("the prefix itself: the root, or the new prefix as it is", () => {
    assert.equal(backendTarget("/api", "/api", "/", "/api"), "/");
    assert.equal(backendTarget("/api/", "/api", "/", "/api/?a=1"), "/?a=1");
    assert.equal(backendTarget("/api", "/api", "/v2", "/api"), "/v2");
  });

  it("a route at the root puts the new prefix in front", () => {
    assert.equal(backendTarget("/x/y", "/", "/app", "/x/y"), "/app/x/y");
    assert.equal(backendTarget("/", "/", "/app", "/?q"), "/app/?q");
    assert.equal(backendTarget("/x", "/", "/", "/x"), "/x");
  });

  it("builds on the normalised path the route was chosen by, not the raw one", () => {
    // what the route table gives for "/api/../api/%75sers/%2Fetc": dot-segments resolved,
    // %75 ("u", unreserved) decoded, %2F kept
    assert.equal(backendTarget("/api/users/%2Fetc", "/api", "/", "/api/../api/%75sers/%2Fetc?x"), "/users/%2Fetc?x");
  });
});
