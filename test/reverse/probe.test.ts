import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseBackendUrl } from "../../src/reverse/backend.ts";
import { BackendPool } from "../../src/reverse/pool.ts";
import { httpProbe } from "../../src/reverse/probe.ts";
import { type ParsedHead, withHarness } from "../helpers/flow-harness.ts";

describe("reverse health probe (GET over a real dial)", () => {
  it("sends GET path with the backend's Host and reads the status: 2xx/3xx healthy, others fail with the status", async () => {
    await withHarness({}, async (h) => {
      const seen: ParsedHead[] = [];
      let status = 204;
      h.origin("10.0.0.1", 8080, async (o) => {
        seen.push(await o.readHead());
        await o.write(`HTTP/1.1 ${status} X\r\nContent-Length: 0\r\n\r\n`);
        await o.readToEndOrReset();
      });
      const pool = new BackendPool("p", [parseBackendUrl("http://10.0.0.1:8080"), parseBackendUrl("http://10.0.0.2:8080")], { ejectAfterFailures: 1, ejectMs: 1 });
      const probe = httpProbe(h.ctx, { path: "/healthz?deep=1", timeoutMs: 500 }, undefined);
      const signal = new AbortController().signal;
      assert.equal(await probe(pool.backends[0]!, signal), true);
      assert.equal(seen[0]?.startLine, "GET /healthz?deep=1 HTTP/1.1");
      assert.equal(seen[0]?.get("host"), "10.0.0.1:8080");
      assert.equal(seen[0]?.get("connection"), "close");
      status = 503;
      await assert.rejects(probe(pool.backends[0]!, signal), /Health check answered 503/);
      await assert.rejects(probe(pool.backends[1]!, signal), /ECONNREFUSED/);
    });
  });

  it("a backend that never answers fails by the timeout", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.readToEndOrReset();
      });
      const pool = new BackendPool("p", [parseBackendUrl("http://10.0.0.1")], { ejectAfterFailures: 1, ejectMs: 1 });
      const probe = httpProbe(h.ctx, { path: "/", host: "app.internal", timeoutMs: 100 }, undefined);
      await assert.rejects(probe(pool.backends[0]!, new AbortController().signal), /Timed out/);
    });
  });

  it("with a pool's proxyProtocol, a LOCAL header goes first (v1: PROXY UNKNOWN)", async () => {
    await withHarness({}, async (h) => {
      const first: string[] = [];
      h.origin("10.0.0.1", 80, async (o) => {
        first.push(await o.readUntil("\r\n"));
        await o.readHead();
        await o.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        await o.readToEndOrReset();
      });
      const pool = new BackendPool("p", [parseBackendUrl("http://10.0.0.1")], { ejectAfterFailures: 1, ejectMs: 1 });
      const probe = httpProbe(h.ctx, { path: "/", timeoutMs: 500 }, undefined, "v1");
      assert.equal(await probe(pool.backends[0]!, new AbortController().signal), true);
      assert.deepEqual(first, ["PROXY UNKNOWN\r\n"]);
    });
  });
});
