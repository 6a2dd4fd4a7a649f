/**
 * `log.flows: {file}` on a real gateway: one JSON line per flow is appended, and after
 * logrotate's usual steps (rename the file, send SIGHUP) lines go to a new file at the path
 * while the renamed one keeps what it had.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { renameSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { tempDir } from "../helpers/temp-dir.ts";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { jsonLines } from "./support/json-lines.ts";
import { type Origin, startOrigin } from "./support/origin.ts";
import { waitFor } from "./support/wait.ts";

describe("flow log to a file, with rotation", { timeout: 60_000 }, () => {
  let origin: Origin;
  let gw: GatewayProcess;
  let log: string;

  before(async () => {
    origin = await startOrigin();
    log = join(tempDir("tollgate-flowlog-"), "flows.jsonl");
    gw = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      addressGuard: { allow: ["127.0.0.0/8"] },
      policy: { defaultAction: "deny", rules: [{ id: "origin", hosts: ["origin.test"], action: "allow" }] },
      dns: { hosts: { "origin.test": ["127.0.0.1"] } },
      log: { flows: { file: log } },
      limits: { drainTimeoutMs: 500 },
    });
  });
  after(async () => {
    await gw?.stop();
    await origin?.close();
  });

  const get = async (path: string) => {
    const r = await curl(["-x", `http://127.0.0.1:${gw.port}`, `http://origin.test:${origin.port}${path}`]);
    assert.equal(r.code, 0, r.stderr);
  };

  it("appends one line per flow; after rename + SIGHUP, new lines go to a new file at the path", async () => {
    await get("/hello?before");
    await waitFor("the first line", () => jsonLines(log).length === 1);
    assert.equal(jsonLines(log)[0]?.["status"], 200);
    assert.deepEqual(gw.flows(), [], "nothing on stdout when the log is a file");

    const rotated = `${log}.1`;
    renameSync(log, rotated);
    gw.signal("SIGHUP");
    await waitFor("the reopen", () => gw.stderr.join("").includes("SIGHUP"));
    await get("/hello?after");
    await waitFor("a line in the new file", () => jsonLines(log).length === 1);
    assert.equal(jsonLines(rotated).length, 1, "the rotated file keeps its line and gets no more");
    assert.equal(jsonLines(log).length, 1);
    // the requests are told apart by their client ports: two connections, one line each
    assert.notEqual(jsonLines(rotated)[0]?.["client"], jsonLines(log)[0]?.["client"]);
  });

  it("on shutdown, a tunnel the drain closes still gets its line before the file is closed", async () => {
    const tunnel = net.connect(gw.port, "127.0.0.1");
    tunnel.on("error", () => {});
    await new Promise<void>((resolve) => tunnel.once("connect", resolve));
    tunnel.write(`CONNECT origin.test:${origin.port} HTTP/1.1\r\nHost: origin.test:${origin.port}\r\n\r\n`);
    await new Promise<void>((resolve) => tunnel.once("data", () => resolve()));
    const client = `127.0.0.1:${tunnel.localPort}`;
    assert.equal(await gw.stop(), true);
    tunnel.destroy();
    const line = jsonLines(log).find((l) => l["client"] === client);
    assert.ok(line, `no line for the tunnel ${client} in the file`);
    assert.equal(line["kind"], "connect");
  });
});
