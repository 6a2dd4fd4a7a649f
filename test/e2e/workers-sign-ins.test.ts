import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import net from "node:net";
import { join } from "node:path";
import { runtimeName } from "../helpers/runtime.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";

const root = new URL("../../", import.meta.url).pathname;
const bin = join(root, "node_modules/.bin");
/** On Deno, the README's task for a gateway with worker processes (it may start deno). */
const command = runtimeName === "deno" ? [join(bin, "deno"), "task", "serve:workers"] : [join(bin, "bun"), join(root, "src/bin/bun.ts"), "serve"];

/** One proxied request on a new connection from `from`: the status code the gateway answers. */
function get(port: number, from: string, user: string, password: string, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: "127.0.0.1", localAddress: from });
    let head = "";
    const timer = setTimeout(() => (s.destroy(), reject(new Error(`no answer from ${from}`))), 10_000);
    s.setEncoding("latin1");
    s.on("error", (e) => (clearTimeout(timer), reject(e)));
    s.on("data", (d: string) => {
      head += d;
      if (!head.includes("\r\n")) return;
      clearTimeout(timer);
      s.destroy();
      resolve(Number(head.split(" ")[1]));
    });
    const host = new URL(url).host;
    s.write(`GET ${url} HTTP/1.1\r\nHost: ${host}\r\nProxy-Authorization: Basic ${btoa(`${user}:${password}`)}\r\nConnection: close\r\n\r\n`);
  });
}

/**
 * The kernel spreads new connections over the processes by a hash of their addresses, so
 * guesses on many connections reach both. Counted in each process, more than the allowances
 * below would be checked unless all 24 connections landed on one process (about 1 in 8
 * million); counted in the primary, they hold for the gateway.
 */
describe("workers share the sign-in allowances (workers: 2)", { timeout: 120_000 }, () => {
  let gw: GatewayProcess;
  let origin: Origin;
  let url: string;

  before(async () => {
    origin = await startOrigin();
    url = `http://127.0.0.1:${origin.port}/hello`;
    const [cmd, ...args] = cliCommand();
    const hash = execFileSync(cmd!, [...args, "auth", "hash", "--iterations", "100000"], { input: "s3cret\n", encoding: "utf8" }).trim();
    gw = await startGateway({
      workers: 2,
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      admin: { listen: "127.0.0.1:0" },
      addressGuard: { allow: ["127.0.0.0/8"] }, // the origin is on loopback
      policy: { defaultAction: "allow", rules: [] },
      proxyAuth: {
        realm: "t",
        users: [{ name: "alice", passwordHash: hash }],
        signInLimit: { burst: 3, perMinute: 1, perUser: { failures: 4, resetMinutes: 15 } },
      },
      log: { flows: "stdout" },
    }, { command });
  });
  after(async () => {
    await gw?.stop();
    await origin?.close();
  });

  it("one address: 3 failed sign-ins in all, whichever process takes each connection", async () => {
    const codes: number[] = [];
    for (let i = 0; i < 24; i++) codes.push(await get(gw.port, "127.0.4.1", `guesser${i}`, "guess", url));
    assert.deepEqual(codes, [...Array(3).fill(407), ...Array(21).fill(429)]);
    await gw.waitForFlow((f) => f["status"] === 429 && /from 127\.0\.4\.1 \(limit 3, then 1 a minute\)/.test(String(f["reason"])));
  });

  it("one name from many addresses: 4 failures in all; where the user signed in before, through either process, they still can", async () => {
    // alice signs in from 127.0.5.1 (through one process or the other)
    assert.equal(await get(gw.port, "127.0.5.1", "alice", "s3cret", url), 200);
    const codes: number[] = [];
    for (let i = 0; i < 24; i++) codes.push(await get(gw.port, `127.0.6.${i + 1}`, "alice", `guess${i}`, url));
    assert.deepEqual(codes, [...Array(4).fill(407), ...Array(20).fill(429)]);
    await gw.waitForFlow((f) => f["status"] === 429 && /for user "alice" \(limit 4, then none until 15 minutes pass without one\)/.test(String(f["reason"])));
    // new connections from 127.0.5.1 land on both processes; every one is checked
    const home: number[] = [];
    for (let i = 0; i < 8; i++) home.push(await get(gw.port, "127.0.5.1", "alice", "s3cret", url));
    assert.deepEqual(home, Array(8).fill(200));
  });
});
