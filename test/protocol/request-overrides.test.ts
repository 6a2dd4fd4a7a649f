import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HeaderList } from "../../src/protocol/http-headers.ts";
import { MAX_OVERRIDES, requestOverrides } from "../../src/protocol/request-overrides.ts";

const read = (fields: [string, string][], method = "POST", target = "/a") => requestOverrides(new HeaderList(fields), method, target);

describe("requestOverrides", () => {
  it("finds nothing in an ordinary request", () => {
    assert.deepEqual(read([["Host", "a.test"], ["Accept", "*/*"]]), { methods: [], paths: [] });
  });

  it("reads every method-override field, uppercased, each method once, a list item by item", () => {
    const o = read([["X-HTTP-Method-Override", "delete"], ["x-http-method", "DELETE, put"], ["X-Method-Override", "Put"]]);
    assert.deepEqual(o, { methods: [{ field: "X-HTTP-Method-Override", value: "DELETE" }, { field: "x-http-method", value: "PUT" }], paths: [] });
  });

  it("leaves out the request line's own method and values that are not methods", () => {
    assert.deepEqual(read([["X-HTTP-Method-Override", "post"], ["X-HTTP-Method", "DEL ETE"], ["X-Method-Override", ""]]).methods, []);
  });

  it("reads path fields whole, and their look-alikes with underscores", () => {
    const o = read([["X-Original-URL", "/admin?x=1"], ["X_Rewrite_URL", "/other"], ["X-Original-URL", "/a"]]);
    assert.deepEqual(o.paths, [{ field: "X-Original-URL", value: "/admin?x=1" }, { field: "X_Rewrite_URL", value: "/other" }]);
    assert.deepEqual(read([["x_http_method_override", "DELETE"]]).methods, [{ field: "x_http_method_override", value: "DELETE" }]);
  });

  it("says when a request names more methods or paths than are judged, and stops reading there", () => {
    const o = read([["X-HTTP-Method-Override", "A, B, C"], ["X-Original-URL", "/p"]]);
    assert.deepEqual(o, { methods: [{ field: "X-HTTP-Method-Override", value: "A" }, { field: "X-HTTP-Method-Override", value: "B" }], paths: [], tooMany: "methods" });
    const paths = Array.from({ length: MAX_OVERRIDES + 1 }, (_, i): [string, string] => ["X-Original-URL", `/p${i}`]);
    assert.equal(read(paths).tooMany, "paths");
    assert.equal(read(paths.slice(1)).tooMany, undefined);
    // the same method over and over is one method, however long the list
    assert.deepEqual(read([["X-HTTP-Method", Array(20_000).fill("DELETE").join(",")]]).methods, [{ field: "X-HTTP-Method", value: "DELETE" }]);
  });
});
