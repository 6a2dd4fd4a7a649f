/**
 * A `dns.caFile` that cannot be read stops the start with an error that names the setting
 * and the path as written (`cannot read dns.caFile "missing-dns-ca.pem": ENOENT`), as every
 * other file setting and `tollgate config check` do. Nothing is bound: the start fails
 * before the listeners.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { startGateway } from "../../src/gateway.ts";
import { currentRuntime } from "../helpers/runtime.ts";

describe("an unreadable dns.caFile at start", () => {
  it("the error names the setting", async () => {
    const config = parseConfig({
      listeners: [{ name: "p", mode: "explicit", listen: "127.0.0.1:0" }],
      dns: { transport: "tls", servers: ["127.0.0.1#dns.test"], caFile: "missing-dns-ca.pem" },
      log: { flows: "off" },
    });
    const runtime = await currentRuntime();
    const error = await startGateway(config, runtime, {
      readText: (path) => {
        throw Object.assign(new Error(`ENOENT: no such file or directory, stat '/etc/tollgate/${path}'`), { code: "ENOENT" });
      },
      write: () => {},
      appendTo: () => ({ write: () => {}, close: () => {} }),
    }).then(async (gw) => {
      await gw.close(0);
      return undefined;
    }, (e: Error) => e);
    assert.ok(error, "started without its DNS CA file");
    assert.match(error.message, /dns\.caFile/, `the start error: ${error.message}`);
  });
});
