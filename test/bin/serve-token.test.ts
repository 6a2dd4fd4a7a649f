import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { serve } from "../../src/bin/serve.ts";
import type { Runtime } from "../../src/core/runtime.ts";

/** A runtime that fails to bind anything: serve() gets no further than the admin listener. */
const unbindable = {
  serveHttp: () => Promise.reject(new Error("no binding in this test")),
} as unknown as Runtime;

describe("serve: the admin token from TOLLGATE_ADMIN_TOKEN", () => {
  it("is held to the 16 characters admin.token is: a shorter one refuses to start (78) before anything is bound", async () => {
    const before = process.env["TOLLGATE_ADMIN_TOKEN"];
    try {
      process.env["TOLLGATE_ADMIN_TOKEN"] = "short";
      assert.equal(await serve(undefined, unbindable), 78);
      process.env["TOLLGATE_ADMIN_TOKEN"] = "a-token-of-sixteen";
      assert.equal(await serve(undefined, unbindable), 1, "a long enough one gets as far as binding");
    } finally {
      if (before === undefined) delete process.env["TOLLGATE_ADMIN_TOKEN"];
      else process.env["TOLLGATE_ADMIN_TOKEN"] = before;
    }
  });
});
