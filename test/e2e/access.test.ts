import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";
import { openTunnel } from "./support/tunnel.ts";

/** Opens a connection and resolves with what the gateway says first (or "" when it just closes). */
function firstAnswer(port: number, send?: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => send && s.write(send));
    let out = "";
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got ${JSON.stringify(out.slice(0, 80))}`));
    }, timeoutMs);
    s.setEncoding("latin1");
    s.on("data", (d: string) => (out += d));
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(t);
      resolve(out);
    });
  });
}

describe("access control end to end: listener allowlist, proxy auth, connection limits", { timeout: 120_000 }, () => {
  let pki: TestPki;
  let origin: Origin;
  let plainOrigin: Origin;
  let gw: GatewayProcess;
  let hash: string;

  before(async () => {
    pki = makeTestPki();
    origin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
    plainOrigin = await startOrigin();
    // the password hash comes from the real CLI, password on stdin
    const [cmd, ...args] = cliCommand();
    hash = execFileSync(cmd!, [...args, "auth", "hash", "--iterations", "100000"], { input: "s3cret\n", encoding: "utf8" }).trim();
    assert.match(hash, /^pbkdf2-sha256\$100000\$/);
    gw = await startGateway({
      listeners: [
        { name: "explicit", mode: "explicit", listen: "127.0.0.1:0" },
        { name: "lan-only", mode: "explicit", listen: "127.0.0.1:0", clients: ["10.0.0.0/8"] },
      ],
      proxyAuth: {
        realm: "tollgate test",
        users: [{ name: "alice", passwordHash: hash }, { name: "bob", passwordHash: hash }, { name: "erin", passwordHash: hash }],
        signInLimit: { perUser: { failures: 5, resetMinutes: 15 } },
      },
      addressGuard: { allow: ["127.0.0.0/8"] }, // the test origin is on loopback
      policy: {
        defaultAction: "deny",
        rules: [
          { id: "origin", hosts: ["origin.test"], action: "allow" },
          { id: "alice-only", hosts: ["private.test"], users: ["alice"], action: "allow" },
        ],
      },
      dns: { hosts: { "origin.test": ["127.0.0.1"], "private.test": ["127.0.0.1"] } },
      limits: { maxConnectionsPerClient: 3, maxTunnels: 2 },
    });
  });
  after(async () => {
    await gw?.stop();
    await origin?.close();
    await plainOrigin?.close();
  });

  const url = () => `https://origin.test:${origin.port}/hello`;

  it("a client outside the listener's CIDRs is refused with 403 and logged", async () => {
    const answer = await firstAnswer(gw.ports.get("lan-only")!, "GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 403 /);
    assert.match(answer, /not in this listener's clients/);
    const f = await gw.waitForFlow((f) => f.listener === "lan-only");
    assert.equal(f.rule, "listener-clients");
  });

  it("without credentials: 407 with a Basic challenge; wrong password: 407; right one: through", async () => {
    const none = await curl(["-i", "-x", `http://127.0.0.1:${gw.port}`, `http://origin.test:${origin.port}/hello`]);
    assert.match(none.stdout, /^HTTP\/1\.1 407 /);
    assert.match(none.stdout, /Proxy-Authenticate: Basic realm="tollgate test"/i);
    const wrong = await curl(["-x", `http://127.0.0.1:${gw.port}`, "-U", "alice:nope", "--cacert", pki.caFile, url()]);
    assert.equal(wrong.code, 56, wrong.stderr);
    assert.match(wrong.stderr, /407/);
    const ok = await curl(["-x", `http://127.0.0.1:${gw.port}`, "-U", "alice:s3cret", "--cacert", pki.caFile, url()]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "hello from origin");
    const f = await gw.waitForFlow((f) => f.kind === "connect" && f.user === "alice");
    assert.equal(f.decision, "allow");
    const denied = await gw.waitForFlow((f) => f.rule === "proxy-auth");
    assert.equal(denied.status, 407);
  });

  it("a rule scoped to users: alice gets through, bob gets the default's 403, CONNECT and plain HTTP alike", async () => {
    const proxy = ["-x", `http://127.0.0.1:${gw.port}`];
    // the origin's certificate is for origin.test: -k, this test is about the policy
    const tunnelled = await curl([...proxy, "-U", "alice:s3cret", "-k", `https://private.test:${origin.port}/hello`]);
    assert.equal(tunnelled.code, 0, tunnelled.stderr);
    assert.equal(tunnelled.stdout, "hello from origin");
    const f = await gw.waitForFlow((f) => f.kind === "connect" && f.host === "private.test" && f.user === "alice");
    assert.equal(f.rule, "alice-only");
    assert.match(String(f.reason), /for user "alice"/);
    const plain = await curl([...proxy, "-U", "alice:s3cret", `http://private.test:${plainOrigin.port}/hello`]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, "hello from origin");

    const refused = await curl([...proxy, "-U", "bob:s3cret", "-k", `https://private.test:${origin.port}/hello`]);
    assert.equal(refused.code, 56, refused.stderr);
    assert.match(refused.stderr, /403/);
    const bob = await gw.waitForFlow((f) => f.kind === "connect" && f.host === "private.test" && f.user === "bob");
    assert.equal(bob.rule, "default");
    assert.equal(bob.status, 403);
    const bobPlain = await curl(["-i", ...proxy, "-U", "bob:s3cret", `http://private.test:${plainOrigin.port}/hello`]);
    assert.match(bobPlain.stdout, /^HTTP\/1\.1 403 /);
    // and bob still reaches what everyone may
    const shared = await curl([...proxy, "-U", "bob:s3cret", "--cacert", pki.caFile, url()]);
    assert.equal(shared.code, 0, shared.stderr);
  });

  it("failed sign-ins past the limit (10 per address) get 429 with Retry-After, without a password check", async () => {
    // from 127.0.0.9 (curl --interface): an address of its own, whatever the other cases spent
    const from = ["--interface", "127.0.0.9", "-x", `http://127.0.0.1:${gw.port}`, "-o", "/dev/null", "-w", "%{http_code}"];
    const codes: string[] = [];
    // a name each time: one name has an allowance of its own (5), below
    for (let i = 0; i < 11; i++) codes.push((await curl([...from, "-U", `guesser${i}:guess`, `http://origin.test:${plainOrigin.port}/hello`])).stdout);
    assert.deepEqual(codes, [...Array(10).fill("407"), "429"]);
    const limited = await curl(["-i", "--interface", "127.0.0.9", "-x", `http://127.0.0.1:${gw.port}`, "-U", "guesser11:one-more-guess", `http://origin.test:${plainOrigin.port}/hello`]);
    assert.match(limited.stdout, /^HTTP\/1\.1 429 Too Many Requests\r$/m);
    assert.match(limited.stdout, /^retry-after: \d+\r$/im);
    const f = await gw.waitForFlow((f) => f.status === 429 && f.rule === "proxy-auth");
    assert.match(String(f.reason), /too many failed sign-ins from 127\.0\.0\.9/);
    const other = await curl(["-x", `http://127.0.0.1:${gw.port}`, "-U", "alice:s3cret", "-o", "/dev/null", "-w", "%{http_code}", `http://origin.test:${plainOrigin.port}/hello`]);
    assert.equal(other.stdout, "200", "another address signs in as before");
  });

  it("failed sign-ins in one name from many addresses (perUser: 5) get 429 too; the user, from where they signed in before, still can", async () => {
    const signedIn = await curl(["-x", `http://127.0.0.1:${gw.port}`, "-U", "erin:s3cret", "-o", "/dev/null", "-w", "%{http_code}", `http://origin.test:${plainOrigin.port}/hello`]);
    assert.equal(signedIn.stdout, "200");
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const from = ["--interface", `127.0.1.${i + 1}`, "-x", `http://127.0.0.1:${gw.port}`, "-o", "/dev/null", "-w", "%{http_code}"];
      codes.push((await curl([...from, "-U", `erin:guess${i}`, `http://origin.test:${plainOrigin.port}/hello`])).stdout);
    }
    assert.deepEqual(codes, [...Array(5).fill("407"), "429"]);
    const f = await gw.waitForFlow((f) => f.status === 429 && /for user "erin"/.test(String(f.reason)));
    assert.match(String(f.reason), /too many failed sign-ins for user "erin" \(limit 5, then none until 15 minutes pass without one\)/);
    const limited = await curl(["-i", "--interface", "127.0.1.9", "-x", `http://127.0.0.1:${gw.port}`, "-U", "erin:right-or-wrong", `http://origin.test:${plainOrigin.port}/hello`]);
    assert.match(limited.stdout, /^HTTP\/1\.1 429 Too Many Requests\r$/m);
    assert.match(limited.stdout, /Too many failed sign-ins for this user/);
    // erin signed in from 127.0.0.1 just now: a password typed anew there is still checked
    const home = await curl(["-x", `http://127.0.0.1:${gw.port}`, "-U", "erin:wrong", "-o", "/dev/null", "-w", "%{http_code}", `http://origin.test:${plainOrigin.port}/hello`]);
    assert.equal(home.stdout, "407");
  });

  it("enforces the tunnel limit (503)", async () => {
    const creds = `Proxy-Authorization: Basic ${btoa("alice:s3cret")}\r\n`;
    const open: net.Socket[] = [];
    // an origin that keeps every connection open (an HTTPS origin drops a silent one)
    const held: net.Socket[] = [];
    const quiet = net.createServer((c) => void held.push(c));
    await new Promise<void>((r) => quiet.listen(0, "127.0.0.1", () => r()));
    const quietPort = (quiet.address() as net.AddressInfo).port;
    const tunnel = () =>
      new Promise<string>((resolve) => {
        const s = net.connect(gw.port, "127.0.0.1", () => s.write(`CONNECT origin.test:${quietPort} HTTP/1.1\r\nHost: x\r\n${creds}\r\n`));
        open.push(s);
        s.setEncoding("latin1");
        s.once("data", (d: string) => resolve(d));
        s.on("error", () => {});
      });
    try {
      assert.match(await tunnel(), /^HTTP\/1\.1 200 /);
      assert.match(await tunnel(), /^HTTP\/1\.1 200 /);
      assert.match(await tunnel(), /^HTTP\/1\.1 503 .*\r\n[\s\S]*tunnels/);
    } finally {
      for (const s of open) s.destroy();
      for (const s of held) s.destroy();
      quiet.close();
    }
  });

  it("enforces the per-client connection limit (503)", async () => {
    await new Promise((r) => setTimeout(r, 300)); // let the previous test's connections go
    const idle = [0, 1, 2].map(() => net.connect(gw.port, "127.0.0.1"));
    try {
      await new Promise((r) => setTimeout(r, 300));
      const over = await firstAnswer(gw.port).catch((e) => {
        throw new Error(`${e}\n${gw.stdout.join("\n")}`);
      });
      assert.match(over, /^HTTP\/1\.1 503 /);
      assert.match(over, /too many connections from 127\.0\.0\.1 \(limit 3\)/);
    } finally {
      for (const s of idle) s.destroy();
    }
  });

  it("a reload (SIGHUP) swaps the users: a removed one's open tunnel is closed and it gets 407, a new one signs in, no restart", async () => {
    const basic = (user: string) => ({ "Proxy-Authorization": `Basic ${btoa(`${user}:s3cret`)}` });
    // the test before held this client address's connections up to the limit (3): the
    // gateway may not have seen all of them close yet, so a 503 here is retried briefly
    const tunnel = async (user: string) => {
      for (const end = Date.now() + 5000; ; ) {
        try {
          return await openTunnel(gw.port, "origin.test", origin.port, basic(user));
        } catch (e) {
          if (!/ 503 /.test(String(e)) || Date.now() > end) throw e;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const alice = await tunnel("alice");
    const bobs = await tunnel("bob");
    const file = gw.configFile!;
    const config = JSON.parse(readFileSync(file, "utf8")) as { proxyAuth: { users: { name: string; passwordHash: string }[] } };
    config.proxyAuth.users = [{ name: "alice", passwordHash: hash }, { name: "carol", passwordHash: hash }];
    writeFileSync(file, JSON.stringify(config));
    assert.match(await gw.reload(), /config reloaded/); // by SIGHUP, or already by the file watcher
    try {
      await Promise.race([bobs.closed, new Promise((_, no) => setTimeout(() => no(new Error("bob's tunnel is still open")), 5000))]);
      const revoked = await gw.waitForFlow((f) => f.user === "bob" && f.end === "revoked");
      assert.equal(revoked.error, 'user "bob" is no longer a proxy user');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(alice.isOpen(), true, "a user who stays keeps her tunnel");
    } finally {
      alice.socket.destroy();
      bobs.socket.destroy();
    }
    const proxy = ["-x", `http://127.0.0.1:${gw.port}`, "--cacert", pki.caFile];
    const carol = await curl([...proxy, "-U", "carol:s3cret", url()]);
    assert.equal(carol.code, 0, carol.stderr);
    const bob = await curl([...proxy, "-U", "bob:s3cret", url()]);
    assert.equal(bob.code, 56, bob.stderr);
    assert.match(bob.stderr, /407/);
    const f = await gw.waitForFlow((f) => f.rule === "proxy-auth" && /"bob"/.test(String(f.reason)));
    assert.equal(f.status, 407);
  });
});

describe("access control end to end: the rate of new connections per client", { timeout: 60_000 }, () => {
  let origin: Origin;
  let gw: GatewayProcess;

  before(async () => {
    origin = await startOrigin();
    gw = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      addressGuard: { allow: ["127.0.0.0/8"] },
      policy: { defaultAction: "deny", rules: [{ id: "origin", hosts: ["origin.test"], action: "allow" }] },
      dns: { hosts: { "origin.test": ["127.0.0.1"] } },
      limits: { connectionRatePerClient: 1, connectionBurstPerClient: 3 },
    });
  });
  after(async () => {
    await gw?.stop();
    await origin?.close();
  });

  it("past the burst, a new connection gets 429 with Retry-After (flow rule limit); another address is not held back", async () => {
    const get = (from: string) =>
      curl(["--interface", from, "-x", `http://127.0.0.1:${gw.port}`, "-o", "/dev/null", "-w", "%{http_code}", "-D", "-", `http://origin.test:${origin.port}/hello`]);
    // eight at once: three from the burst, maybe one more per second that passes, the rest refused
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 8 }, () => get("127.0.0.11")));
    const seconds = (Date.now() - started) / 1000;
    const codes = answers.map((a) => a.stdout.slice(-3));
    const ok = codes.filter((c) => c === "200").length;
    assert.equal(ok + codes.filter((c) => c === "429").length, 8, codes.join(" "));
    assert.ok(ok >= 3 && ok <= 3 + Math.ceil(seconds), `${ok} got through in ${seconds} s`);
    assert.match(answers.find((a) => a.stdout.endsWith("429"))!.stdout, /^retry-after: 1\r$/im);
    assert.equal((await get("127.0.0.12")).stdout.slice(-3), "200");
    const f = await gw.waitForFlow((f) => f.rule === "limit" && f.status === 429);
    assert.match(String(f.reason), /too many new connections from 127\.0\.0\.11 \(limit 1 a second, 3 at once\)/);
  });
});
