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

  it("reads the _method query parameter, decoded, as a method the request names", () => {
    assert.deepEqual(read([], "POST", "/items/1?_method=delete"), { methods: [{ field: "?_method", value: "DELETE" }], paths: [] });
    assert.deepEqual(read([], "POST", "/a?x=1&%5Fmethod=%44ELETE#f").methods, [{ field: "?%5Fmethod", value: "DELETE" }]);
    assert.deepEqual(read([], "POST", "/a?x=1;_method=PUT").methods, [{ field: "?_method", value: "PUT" }]);
    // whatever the request line's method: some frameworks can be told to read it from any
    assert.deepEqual(read([], "GET", "/a?_method=DELETE").methods, [{ field: "?_method", value: "DELETE" }]);
  });

  it("reads _method keys as PHP and qs read them: arrays, leading spaces, dots and spaces for underscores", () => {
    for (const key of ["_method[]", "_method%5B0%5D", "%20_method", ".method", "+.method", "[method"]) {
      assert.deepEqual(read([], "POST", `/a?${key}=DELETE`).methods, [{ field: `?${key}`, value: "DELETE" }], key);
    }
    for (const key of ["method", "+method", "_methods", "x_method", "_Method", "_method]"]) {
      assert.deepEqual(read([], "POST", `/a?${key}=DELETE`).methods, [], key);
    }
  });

  it("leaves out _method values that are not methods, the request's own, a fragment's and a path's", () => {
    assert.deepEqual(read([], "POST", "/a?_method=DEL+ETE&_method=post&_method=&_method=%FF").methods, []);
    assert.deepEqual(read([], "POST", "/a#?_method=DELETE").methods, []);
    assert.deepEqual(read([], "POST", "/_method=DELETE").methods, []);
    // a malformed escape stays as sent: another method, not DELETE
    assert.deepEqual(read([], "POST", "/a?_method=DEL%zzETE").methods, [{ field: "?_method", value: "DEL%ZZETE" }]);
  });

  it("counts _method parameters with the fields towards the most methods judged", () => {
    const o = read([["X-HTTP-Method-Override", "PUT"]], "POST", "/a?_method=DELETE&_method=PATCH");
    assert.equal(o.tooMany, "methods");
    assert.deepEqual(o.methods, [{ field: "?_method", value: "DELETE" }, { field: "?_method", value: "PATCH" }]);
    assert.deepEqual(read([["X-HTTP-Method-Override", "DELETE"]], "POST", "/a?_method=delete").methods, [{ field: "?_method", value: "DELETE" }]);
  });
});
