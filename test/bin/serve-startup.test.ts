/**
 * What reaches `tollgate serve` while it starts (the admin API already answers "starting",
 * a big host list still loads): a SIGHUP (logrotate, a certificate deploy hook, `systemctl
 * reload`) does not kill it but is answered with a reload once it serves, and an edit of the
 * config file made after it was read is picked up then, not missed by the watcher that
 * starts later. Everything on 127.0.0.1.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { tempDir } from "../helpers/temp-dir.ts";
import { cliCommand } from "../e2e/support/gateway.ts";

const root = new URL("../../", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe("tollgate serve while it starts", { timeout: 90_000 }, () => {
  let dir: string;
  const children: ChildProcess[] = [];
  before(() => {
    dir = tempDir("serve-startup-");
    // a host list big enough that loading it takes a while (about a second)
    writeFileSync(join(dir, "feed.txt"), Array.from({ length: 800_000 }, (_, i) => `h${i}.feed.example`).join("\n") + "\n");
  });
  after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  /** Starts the gateway on `defaultAction`; resolves once its admin API answers "starting" (503). */
  async function starting(file: string, defaultAction: string) {
    const adminPort = await freePort();
    const config = (action: string) => JSON.stringify({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      admin: { listen: `127.0.0.1:${adminPort}` },
      policy: { defaultAction: action, hostLists: { feed: { file: "feed.txt", format: "domains" } }, rules: [{ id: "feed", hostLists: ["feed"], action: "deny" }] },
      log: { flows: "off" },
    });
    writeFileSync(file, config(defaultAction));
    const [cmd, ...args] = cliCommand();
    const child = spawn(cmd!, [...args, "serve", "--config", file], { cwd: root, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TOLLGATE_CONFIG: "" } });
    children.push(child);
    const out = { stderr: "" };
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => void (out.stderr += d));
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
    let seen = false;
    for (let i = 0; i < 300 && !seen && !out.stderr.includes("listening"); i++) {
      const status = await fetch(`http://127.0.0.1:${adminPort}/healthz`).then((r) => r.status, () => 0);
      if (status === 503) seen = true;
      else await sleep(20);
    }
    assert.ok(seen && !out.stderr.includes("listening"), `not caught while starting: ${out.stderr}`);
    /** Resolves when stderr has `text`, or rejects when the process ends first. */
    const until = (text: string) =>
      Promise.race([
        exited.then((e) => Promise.reject(new Error(`the gateway ended (${JSON.stringify(e)}) before "${text}":\n${out.stderr}`))),
        (async () => {
          for (const end = Date.now() + 30_000; !out.stderr.includes(text);) {
            if (Date.now() > end) throw new Error(`no "${text}" within 30 s:\n${out.stderr}`);
            await sleep(50);
          }
        })(),
      ]);
    const inForce = async () => ((await (await fetch(`http://127.0.0.1:${adminPort}/config`)).json()) as { policy: { defaultAction: string } }).policy.defaultAction;
    const stop = async () => {
      child.kill("SIGTERM");
      await exited;
    };
    return { child, out, until, inForce, stop, rewrite: (action: string) => writeFileSync(file, config(action)) };
  }

  it("a SIGHUP does not kill it: once it serves, it reloads", async () => {
    const gw = await starting(join(dir, "hup.json"), "allow");
    // process.kill, not child.kill: Deno's ChildProcess sends no signal after its first kill()
    process.kill(gw.child.pid!, "SIGHUP");
    await gw.until("listening");
    await gw.until("SIGHUP: config reloaded");
    await gw.stop();
  });

  it("an edit of the config file after it was read is reloaded once it serves", async () => {
    const gw = await starting(join(dir, "edit.json"), "allow");
    await sleep(50);
    gw.rewrite("deny"); // the operator's edit, after the gateway read the file
    await gw.until("listening");
    await gw.until("config file changed while the gateway started: config reloaded");
    assert.equal(await gw.inForce(), "deny");
    await gw.stop();
  });
});
