import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DnsError } from "../../src/dns/error.ts";
import { parseHostsFile } from "../../src/dns/hosts-file.ts";
import { SystemResolver } from "../../src/dns/system.ts";

function codeOf(error: unknown): string {
  assert.ok(error instanceof DnsError, String(error));
  return error.code;
}

describe("SystemResolver", () => {
  it("wraps the lookup function with the normalised name made absolute", async () => {
    const asked: string[] = [];
    const system = new SystemResolver((name) => {
      asked.push(name);
      return Promise.resolve(["192.0.2.1", "2001:db8::1"]);
    });
    const result = await system.resolve("Example.COM.");
    assert.deepEqual(result, { addresses: ["192.0.2.1", "2001:db8::1"], source: "system" });
    assert.ok(Object.isFrozen(result.addresses));
    assert.deepEqual(asked, ["example.com."]);
  });

  it("never asks for a relative name: the search list cannot make another name of it", async () => {
    const asked: string[] = [];
    const system = new SystemResolver((name) => {
      asked.push(name);
      return Promise.resolve(["192.0.2.1"]);
    });
    for (const name of ["secret", "secret.", "payroll.hr"]) await system.resolve(name);
    assert.deepEqual(asked, ["secret.", "secret.", "payroll.hr."]);
  });

  it("answers the hosts file's names itself (getaddrinfo does not match an absolute name there)", async () => {
    const asked: string[] = [];
    const system = new SystemResolver((name) => {
      asked.push(name);
      return Promise.resolve(["192.0.2.1"]);
    }, parseHostsFile("10.1.2.3 Build-Box build-box.lan\n"));
    assert.deepEqual(await system.resolve("build-box"), { addresses: ["10.1.2.3"], source: "system" });
    assert.deepEqual(await system.resolve("BUILD-BOX.LAN."), { addresses: ["10.1.2.3"], source: "system" });
    assert.deepEqual(asked, []);
    await system.resolve("other");
    assert.deepEqual(asked, ["other."]);
  });

  it("maps failures to DnsError codes", async () => {
    const failing = (error: unknown) => new SystemResolver(() => Promise.reject(error));
    const enotfound = Object.assign(new Error("getaddrinfo ENOTFOUND x.test"), { code: "ENOTFOUND" });
    const notFound = Object.assign(new Error("no such host"), { name: "NotFound" });
    await assert.rejects(failing(enotfound).resolve("x.test"), (e) => codeOf(e) === "notfound");
    await assert.rejects(failing(notFound).resolve("x.test"), (e) => codeOf(e) === "notfound");
    await assert.rejects(failing(new Error("ECONNREFUSED")).resolve("x.test"), (e: unknown) => {
      assert.equal(codeOf(e), "error");
      assert.equal((e as Error).message, 'Lookup of "x.test" failed: ECONNREFUSED');
      return true;
    });
    const own = new DnsError("timeout", "x.test");
    await assert.rejects(failing(own).resolve("x.test"), (e) => e === own);
    await assert.rejects(new SystemResolver(() => Promise.resolve([])).resolve("x.test"), (e) => codeOf(e) === "notfound");
  });

  it("stops waiting when aborted", async () => {
    const system = new SystemResolver(() => new Promise<string[]>(() => {}));
    const controller = new AbortController();
    const pending = system.resolve("x.test", controller.signal);
    controller.abort(new Error("bye"));
    await assert.rejects(pending, /bye/);
    await assert.rejects(system.resolve("x.test", AbortSignal.abort(new Error("early"))), /early/);
  });
});
