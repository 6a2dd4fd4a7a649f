import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import { normalizeHost } from "../../src/core/host.ts";
import { type LiveRecord, LiveFlows, untilNextMinute, type WatchedFlow } from "../../src/flows/live-flows.ts";
import { routeName } from "../../src/parent/route-name.ts";
import type { ParentProxy } from "../../src/parent/tunnel.ts";
import { compilePolicy } from "../../src/policy/compile.ts";
import type { Decision, PolicyDefinition } from "../../src/policy/types.ts";
import { DECRYPT_POLICY, ESTABLISHED, type FlowHarness, type Peer, readResponse, serveRequests, until, withHarness, within } from "../helpers/flow-harness.ts";
import { clientHello, encodeHello, recordize, versionsExt } from "../protocol/client-hello-builder.ts";
import { named, open, route, state as reverseState } from "../helpers/reverse-harness.ts";
import { readFileSync } from "node:fs";
import { CertificateStore } from "../../src/reverse/cert-store.ts";

const CONNECT = "CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n";
const DENY_ALL = compilePolicy({ defaultAction: "deny", rules: [] });
const ALLOW_ALL = compilePolicy({ defaultAction: "allow", rules: [] });

/** An origin that holds its connection open until the gateway closes it; resolves when it did. */
function holdingOrigin(h: FlowHarness, address: string, port: number): Promise<void> {
  let closed!: () => void;
  const done = new Promise<void>((r) => (closed = r));
  h.origin(address, port, async (o) => {
    await o.readToEndOrReset();
    closed();
  });
  return done;
}

/** The client's end sees the connection end (FIN or reset) within a second. */
async function seesClose(c: Peer): Promise<void> {
  await within(c.readToEndOrReset(), 1000, "the gateway closing the client");
}

/** A watched flow whose revocation calls `f`. */
function revoking(f: (reason: string) => unknown): WatchedFlow {
  return { revoke: (reason) => void f(reason) };
}

const ALLOWED: Decision = { action: "allow", ruleId: "r", reason: "rule r", log: true, decryption: "exception" } as Decision;

describe("LiveFlows", () => {
  it("watches allowed flows until they end; a recheck closes what the policy now denies", () => {
    const live = new LiveFlows();
    const query = { host: normalizeHost("a.test"), port: 443, clientIp: "10.0.0.1" };
    const [client] = memoryConnPair();
    const [upstream] = memoryConnPair();
    const [pooled] = memoryConnPair();
    const reasons: string[] = [];
    const watch = live.watch(query, ALLOWED, client, revoking((r) => reasons.push(r)));
    watch.also(upstream);
    watch.also(pooled);
    watch.release(pooled);
    live.watch(query, { ...ALLOWED, action: "deny" }, memoryConnPair()[0], revoking(() => reasons.push("denied flow revoked")));
    assert.equal(live.size, 1, "a denied flow is not watched");
    assert.equal(live.recheck(ALLOW_ALL), 0);
    assert.equal(live.recheck(DENY_ALL), 1);
    assert.deepEqual(reasons, ["the policy denies it now: no rule matched; default deny"]);
    assert.equal(live.size, 0);
    assert.equal(live.recheck(DENY_ALL), 0, "revoked once");
    const ended = live.watch(query, ALLOWED, memoryConnPair()[0], revoking(() => reasons.push("ended flow revoked")));
    ended.end();
    ended.end();
    assert.equal(live.recheck(DENY_ALL), 0);
    assert.equal(reasons.length, 1);
  });

  it("a flow watched with its decryption is revoked when the policy asks for the other; one without is not", () => {
    const live = new LiveFlows();
    const query = { host: normalizeHost("a.test"), port: 443, clientIp: "10.0.0.1" };
    const decrypting = compilePolicy({ defaultAction: "deny", rules: [{ id: "inspect", hosts: ["a.test"], action: "allow", decryption: "decrypt" }] });
    const reasons: string[] = [];
    live.watch(query, ALLOWED, memoryConnPair()[0], revoking((r) => reasons.push(`blind: ${r}`)), "exception");
    live.watch(query, ALLOWED, memoryConnPair()[0], revoking((r) => reasons.push(`plain: ${r}`)));
    live.watch(query, { ...ALLOWED, decryption: "decrypt" }, memoryConnPair()[0], revoking((r) => reasons.push(`decrypted: ${r}`)), "decrypt");
    assert.equal(live.recheck(decrypting), 1);
    assert.deepEqual(reasons, ['blind: the policy decrypts it now: rule "inspect" matched host pattern "a.test"']);
    assert.equal(live.recheck(ALLOW_ALL), 1);
    assert.deepEqual(reasons.slice(1), ["decrypted: the policy exempts it from decryption now: no rule matched; default allow"]);
    assert.equal(live.size, 1, "the flow watched without its decryption runs on");
  });

  it("with routes watched, a flow the policy now sends another way is revoked: another parent, a moved one, direct", () => {
    const parent = (name: string, authority: string) => ({ name, authority }) as ParentProxy;
    let parents = new Map([["corp", parent("corp", "proxy1.corp:3128")], ["lab", parent("lab", "lab:8080")]]);
    const live = new LiveFlows((d) => routeName(d, parents));
    const query = { host: normalizeHost("a.test"), port: 443, clientIp: "10.0.0.1" };
    const via = (name: string | undefined) => compilePolicy({ defaultAction: "allow", ...(name ? { defaultParent: name } : {}), rules: [] });
    const reasons: string[] = [];
    const watchVia = (name: string | undefined) => live.watch(query, via(name).decide(query), memoryConnPair()[0], revoking((r) => reasons.push(r)));
    watchVia("corp");
    assert.equal(live.recheck(via("corp")), 0, "the same way");
    assert.equal(live.recheck(via("lab")), 1);
    assert.deepEqual(reasons, ['the policy sends it through parent "lab" (lab:8080) now: no rule matched; default allow']);
    watchVia("corp");
    parents = new Map([["corp", parent("corp", "proxy2.corp:3128")]]);
    assert.equal(live.recheck(via("corp")), 1, "the parent of that name is elsewhere now");
    assert.match(reasons[1]!, /^the policy sends it through parent "corp" \(proxy2\.corp:3128\) now: /);
    watchVia("corp");
    assert.equal(live.recheck(via(undefined)), 1);
    assert.match(reasons[2]!, /^the policy sends it direct now: /);
    watchVia(undefined);
    assert.equal(live.recheck(via(undefined)), 0);
    const unrouted = new LiveFlows();
    unrouted.watch(query, via("corp").decide(query), memoryConnPair()[0], revoking((r) => reasons.push(r)));
    assert.equal(unrouted.recheck(via("lab")), 0, "without a route function, routes are not watched");
  });

  it("revokeUsers: closes the flows of the users named, policy-decided or reverse (by the user they signed in as)", () => {
    const live = new LiveFlows();
    const query = (user?: string) => ({ host: normalizeHost("a.test"), port: 443, clientIp: "10.0.0.1", ...(user ? { user } : {}) });
    const reasons: string[] = [];
    live.watch(query("bob"), ALLOWED, memoryConnPair()[0], revoking((r) => reasons.push(`bob's tunnel: ${r}`)));
    live.watch(query("alice"), ALLOWED, memoryConnPair()[0], revoking((r) => reasons.push(`alice's tunnel: ${r}`)));
    live.watch(query(), ALLOWED, memoryConnPair()[0], revoking((r) => reasons.push(`anonymous: ${r}`)));
    const record = (user: string | null) => ({ type: "flow", user, since: "2026-11-23T10:00:00.000Z" }) as unknown as LiveRecord;
    live.track(memoryConnPair()[0], { revoke: (r) => reasons.push(`bob's reverse connection: ${r}`), snapshot: () => record("bob") });
    live.track(memoryConnPair()[0], { revoke: (r) => reasons.push(`reverse, no user: ${r}`), snapshot: () => record(null) });
    const seen: string[] = [];
    const why = (user: string) => (seen.push(user), user === "bob" ? 'user "bob" is no longer a proxy user' : undefined);
    assert.equal(live.revokeUsers(why), 2);
    assert.deepEqual(reasons, ['bob\'s tunnel: user "bob" is no longer a proxy user', 'bob\'s reverse connection: user "bob" is no longer a proxy user']);
    assert.deepEqual(seen, ["bob", "alice", "bob"], "flows without a user are not asked about");
    assert.equal(live.size, 3);
  });

  it("recheckHolders: asks the flows that can tell, one at a time, and revokes those that say why not", async () => {
    const live = new LiveFlows();
    const query = { host: normalizeHost("a.test"), port: 443, clientIp: "10.0.0.1" };
    const reasons: string[] = [];
    const order: string[] = [];
    let running = 0;
    let reloaded = false; // before: the checks at watch time find nothing changed
    const asking = (name: string, why: string | undefined | Error) => async () => {
      if (!reloaded) return undefined;
      running++;
      assert.equal(running, 1, "one check at a time: a reload with thousands of open tunnels does not verify them all at once");
      order.push(name);
      await new Promise((r) => setTimeout(r, 1));
      running--;
      if (why instanceof Error) throw why;
      return why;
    };
    live.watch(query, ALLOWED, memoryConnPair()[0], { revoke: (r) => reasons.push(`alice's tunnel: ${r}`), recheck: asking("alice", "its client certificate is refused now: revoked") });
    live.watch(query, ALLOWED, memoryConnPair()[0], { revoke: (r) => reasons.push(`bob's tunnel: ${r}`), recheck: asking("bob", undefined) });
    live.watch(query, ALLOWED, memoryConnPair()[0], revoking((r) => reasons.push(`password user's tunnel: ${r}`)));
    live.track(memoryConnPair()[0], { revoke: (r) => reasons.push(`carol's reverse connection: ${r}`), recheck: asking("carol", "its client certificate is refused now: expired") });
    live.track(memoryConnPair()[0], { revoke: (r) => reasons.push(`failing check: ${r}`), recheck: asking("failing", new Error("boom")) });
    await new Promise((r) => setTimeout(r, 1));
    reloaded = true;
    assert.equal(await live.recheckHolders(), 2);
    assert.deepEqual(order, ["alice", "bob", "carol", "failing"]);
    assert.deepEqual(reasons, [
      "alice's tunnel: its client certificate is refused now: revoked",
      "carol's reverse connection: its client certificate is refused now: expired",
    ]);
    assert.equal(live.size, 3, "a check that fails closes nothing");
  });

  it("recheckHolders: a flow that ends, or is revoked otherwise, while it is checked is not revoked again", async () => {
    const live = new LiveFlows();
    const query = { host: normalizeHost("a.test"), port: 443, clientIp: "10.0.0.1" };
    const reasons: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const watch = live.watch(query, ALLOWED, memoryConnPair()[0], {
      revoke: (r) => reasons.push(r),
      recheck: async () => (await held, "its client certificate is refused now: revoked"),
    });
    const checking = live.recheckHolders();
    watch.end();
    release();
    assert.equal(await checking, 0);
    assert.deepEqual(reasons, []);
  });

  it("a flow watched with a recheck is asked at once: one signed in under settings a reload replaced while it opened", async () => {
    const live = new LiveFlows();
    const query = { host: normalizeHost("a.test"), port: 443, clientIp: "10.0.0.1" };
    const reasons: string[] = [];
    live.watch(query, ALLOWED, memoryConnPair()[0], { revoke: (r) => reasons.push(`stale: ${r}`), recheck: () => Promise.resolve("its client certificate is refused now: revoked") });
    live.watch(query, ALLOWED, memoryConnPair()[0], { revoke: (r) => reasons.push(`current: ${r}`), recheck: () => Promise.resolve(undefined) });
    await new Promise((r) => setTimeout(r, 1));
    assert.deepEqual(reasons, ["stale: its client certificate is refused now: revoked"]);
    assert.equal(live.size, 1);
  });

  it("recheckHolders: one pass at a time; calls during a pass share the one after it", async () => {
    const live = new LiveFlows();
    const query = { host: normalizeHost("a.test"), port: 443, clientIp: "10.0.0.1" };
    let running = 0;
    let most = 0;
    let asked = 0;
    const recheck = async () => {
      running++;
      most = Math.max(most, running);
      asked++;
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return undefined;
    };
    live.watch(query, ALLOWED, memoryConnPair()[0], { revoke: () => {}, recheck });
    await new Promise((r) => setTimeout(r, 10)); // the check at watch time
    asked = 0;
    const first = live.recheckHolders();
    const second = live.recheckHolders();
    const third = live.recheckHolders();
    assert.equal(second, third, "the queued pass is shared");
    assert.notEqual(first, second);
    await Promise.all([first, second, third]);
    assert.equal(asked, 2, "two passes, not three");
    assert.equal(most, 1, "never two checks at once");
    await live.recheckHolders();
    assert.equal(asked, 3, "a pass after the others is a pass of its own");
  });

  it("recheckHolders: a flow that throws on revocation is closed all the same, and later passes still run", async () => {
    const live = new LiveFlows();
    const query = { host: normalizeHost("a.test"), port: 443, clientIp: "10.0.0.1" };
    const [client, peer] = memoryConnPair();
    let reloaded = false;
    let asked = 0;
    const recheck = () => (asked++, Promise.resolve(reloaded ? "its client certificate is refused now: revoked" : undefined));
    live.watch(query, ALLOWED, client, { revoke: () => { throw new Error("boom"); }, recheck });
    await new Promise((r) => setTimeout(r, 1));
    reloaded = true;
    const pass = live.recheckHolders();
    const queued = live.recheckHolders();
    assert.equal(await pass, 1);
    assert.equal(await queued, 0);
    const end = await within(peer.readable.getReader().read().then(() => "end", () => "reset"), 1000, "the client connection closed");
    assert.equal(end, "reset", "closed by the revocation");
    live.watch(query, ALLOWED, memoryConnPair()[0], { revoke: () => {}, recheck: () => (asked++, Promise.resolve(undefined)) });
    await new Promise((r) => setTimeout(r, 1));
    const before = asked;
    assert.equal(await live.recheckHolders(), 0);
    assert.equal(asked, before + 1, "the queue is not stuck");
  });

  it("untilNextMinute: just past the next whole minute", () => {
    assert.equal(untilNextMinute(Date.parse("2026-11-23T12:00:00.000Z")), 60_005);
    assert.equal(untilNextMinute(Date.parse("2026-11-23T12:59:59.990Z")), 15);
  });
});

describe("open flows the policy no longer allows", () => {
  it("a CONNECT tunnel: client and upstream closed, the line ends revoked naming why", async () => {
    const live = new LiveFlows();
    await withHarness({ liveFlows: live }, async (h) => {
      const upstreamClosed = holdingOrigin(h, "10.0.0.1", 443);
      const c = h.client();
      await c.write(CONNECT);
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await until(() => live.size === 1, 1000, "the tunnel watched");
      assert.equal(live.recheck(ALLOW_ALL), 0, "still allowed: untouched");
      assert.equal(live.recheck(DENY_ALL), 1);
      await seesClose(c);
      await within(upstreamClosed, 1000, "the upstream closed");
      await h.finish();
      const r = h.record();
      assert.equal(r.decision, "allow");
      assert.equal(r.rule, "allow-test");
      assert.equal(r.end, "revoked");
      assert.equal(r.error, "the policy denies it now: no rule matched; default deny");
      assert.equal(live.size, 0);
    });
  });

  it("a rule's schedule ending revokes the tunnel it allowed; a finished flow is no longer watched", async () => {
    const live = new LiveFlows();
    const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
    const now = Date.now();
    // allowed from a minute ago to two minutes from now (UTC), over midnight if it must
    const lunch: PolicyDefinition = {
      defaultAction: "deny",
      rules: [{ id: "lunch", hosts: ["origin.test"], action: "allow", log: true, schedule: { from: hhmm(now - 60_000), to: hhmm(now + 120_000), timeZone: "UTC" } }],
    };
    await withHarness({ liveFlows: live, policy: lunch }, async (h) => {
      holdingOrigin(h, "10.0.0.1", 443);
      const c = h.client();
      await c.write(CONNECT);
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await until(() => live.size === 1, 1000, "the tunnel watched");
      const policy = compilePolicy(lunch);
      assert.equal(live.recheck(policy, now + 30_000), 0, "inside the window");
      assert.equal(live.recheck(policy, now + 5 * 60_000), 1, "after the window");
      await seesClose(c);
      await h.finish();
      const r = h.record();
      assert.equal(r.rule, "lunch");
      assert.equal(r.end, "revoked");
      assert.match(r.error ?? "", /^the policy denies it now: no rule matched; default deny$/);
    });
    await withHarness({ liveFlows: live }, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        await o.readToEnd();
        await o.end();
      });
      const c = h.client();
      await c.write(CONNECT);
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await c.end();
      await c.readToEnd();
      await h.finish();
      assert.equal(live.size, 0, "nothing left behind");
    });
  });

  it("a decrypted session between requests, closed when the policy denies it or now exempts it from decryption", async () => {
    const cases = [
      [DENY_ALL, "the policy denies it now: no rule matched; default deny"],
      [ALLOW_ALL, "the policy exempts it from decryption now: no rule matched; default allow"],
    ] as const;
    for (const [policy, error] of cases) {
      const live = new LiveFlows();
      await withHarness({ liveFlows: live, policy: DECRYPT_POLICY, interception: {} }, async (h) => {
        serveRequests(h, "10.0.0.1", 443, ["first"]);
        const c = h.client();
        await c.write(CONNECT);
        assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
        await c.write("GET /a HTTP/1.1\r\nHost: origin.test\r\n\r\n");
        assert.equal((await readResponse(c)).body, "first");
        assert.equal(live.size, 1);
        assert.equal(live.recheck(compilePolicy(DECRYPT_POLICY)), 0, "the same decision: untouched");
        assert.equal(live.recheck(policy), 1);
        await seesClose(c);
        await h.finish();
        const r = h.records.find((x) => x.kind === "connect")!;
        assert.equal(r.decryption, "decrypt");
        assert.equal(r.end, "revoked");
        assert.equal(r.error, error);
        assert.equal(live.size, 0);
      });
    }
  });

  it("a blind tunnel to a site the policy now decrypts is closed, so the next connection is inspected", async () => {
    const live = new LiveFlows();
    await withHarness({ liveFlows: live, interception: {} }, async (h) => {
      const upstreamClosed = holdingOrigin(h, "10.0.0.1", 443);
      const c = h.client();
      await c.write(CONNECT);
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await until(() => live.size === 1, 1000, "the tunnel watched");
      assert.equal(live.recheck(compilePolicy(DECRYPT_POLICY)), 1);
      await seesClose(c);
      await within(upstreamClosed, 1000, "the upstream closed");
      await h.finish();
      const r = h.record();
      assert.equal(r.decryption, "exception");
      assert.equal(r.end, "revoked");
      assert.match(r.error ?? "", /^the policy decrypts it now: rule "inspect" matched/);
    });
  });

  it("a transparent splice without SNI (it cannot be decrypted) is not closed for a decision to decrypt", async () => {
    const live = new LiveFlows();
    const inspectAllDefinition: PolicyDefinition = { defaultAction: "deny", rules: [{ id: "inspect-all", hosts: [".test"], action: "allow", decryption: "decrypt" }] };
    const inspectAll = compilePolicy(inspectAllDefinition);
    const noSni = recordize(encodeHello({ legacyVersion: 0x0303, sessionId: new Uint8Array(32).fill(7), cipherSuites: [0x1301], compressionMethods: [0], extensions: [versionsExt([0x0304])] }));
    await withHarness({ liveFlows: live, interception: {}, policy: inspectAllDefinition, hosts: { "fallback.test": ["10.0.0.5"] } }, async (h) => {
      holdingOrigin(h, "10.0.0.5", 9443);
      const c = h.transparentClient({ noSni: { action: "allow", upstream: { host: "fallback.test", port: 9443 } } });
      await c.write(noSni);
      await until(() => h.dials.length === 1, 1000, "spliced to the noSni upstream");
      assert.equal(live.size, 1);
      assert.equal(live.recheck(inspectAll), 0, "still decrypt, still spliced");
      assert.equal(live.recheck(ALLOW_ALL), 0, "now exception: nothing to change");
      assert.equal(live.recheck(DENY_ALL), 1);
      await seesClose(c);
      await h.finish();
      assert.equal(h.record().decryption, "exception");
    });
  });

  it("a plain HTTP response in progress", async () => {
    const live = new LiveFlows();
    await withHarness({ liveFlows: live }, async (h) => {
      let upstreamEnded!: () => void;
      const ended = new Promise<void>((r) => (upstreamEnded = r));
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
        await o.readToEndOrReset();
        upstreamEnded();
      });
      const c = h.client();
      await c.write("GET http://origin.test/big HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      await c.readHead();
      assert.equal(await c.readText(10), "0123456789");
      assert.equal(live.recheck(compilePolicy(DECRYPT_POLICY)), 0, "plain HTTP has no decryption to change");
      assert.equal(live.recheck(DENY_ALL), 1);
      await seesClose(c);
      await within(ended, 1000, "the upstream closed");
      await h.finish();
      const r = h.record();
      assert.equal(r.kind, "http");
      assert.equal(r.end, "revoked");
    });
  });

  it("a transparent splice", async () => {
    const live = new LiveFlows();
    await withHarness({ liveFlows: live }, async (h) => {
      const upstreamClosed = holdingOrigin(h, "10.0.0.1", 443);
      const c = h.transparentClient();
      await c.write(clientHello("origin.test"));
      await until(() => live.size === 1, 1000, "the splice watched");
      await until(() => h.dials.length === 1, 1000, "the upstream dialed");
      assert.equal(live.recheck(DENY_ALL), 1);
      await seesClose(c);
      await within(upstreamClosed, 1000, "the upstream closed");
      await h.finish();
      assert.equal(h.record().end, "revoked");
    });
  });
});

describe("open flows as the admin API lists and closes them", () => {
  it("ids name the process; only flows that describe themselves are listed; close revokes once", () => {
    const live = new LiveFlows(undefined, 3);
    const query = { host: normalizeHost("a.test"), port: 443, clientIp: "10.0.0.1" };
    const record = { type: "flow", host: "a.test", since: "2026-11-23T10:00:00.000Z" } as unknown as LiveRecord;
    const reasons: string[] = [];
    const [client, clientEnd] = memoryConnPair();
    const [upstream, upstreamEnd] = memoryConnPair();
    const watch = live.watch(query, ALLOWED, client, { revoke: (r) => reasons.push(r), snapshot: () => record });
    watch.also(upstream);
    live.watch(query, ALLOWED, memoryConnPair()[0], revoking(() => reasons.push("undescribed")));
    live.watch(query, { ...ALLOWED, action: "deny" }, memoryConnPair()[0], { revoke: () => {}, snapshot: () => record });
    assert.deepEqual(live.list().map((f) => [f.id, f.host]), [["3-1", "a.test"]], "the undescribed and the denied flow are not listed");
    assert.equal(live.close("3-9", "admin"), false, "no such flow");
    assert.equal(live.close("3-1", "closed by an administrator"), true);
    assert.deepEqual(reasons, ["closed by an administrator"]);
    assert.equal(live.close("3-1", "again"), false, "closed once");
    assert.deepEqual(live.list(), []);
    watch.end(); // the flow's own end afterwards changes nothing
    assert.equal(live.size, 1, "the undescribed flow is still watched");
    // a closed in-memory connection ends (or resets) its other end
    const ends = (c: typeof clientEnd) => c.readable.getReader().read().then((r) => r.done, () => true);
    return Promise.all([ends(clientEnd), ends(upstreamEnd)]).then(([a, b]) => {
      assert.ok(a && b, "client and upstream closed");
    });
  });

  it("a CONNECT tunnel is listed with its bytes as they move, then closed: its line ends revoked", async () => {
    const live = new LiveFlows(undefined, 2);
    await withHarness({ liveFlows: live }, async (h) => {
      let upstreamClosed!: () => void;
      const closed = new Promise<void>((r) => (upstreamClosed = r));
      h.origin("10.0.0.1", 443, async (o) => {
        assert.equal(await o.readText(5), "hello");
        await o.write("welcome");
        await o.readToEndOrReset();
        upstreamClosed();
      });
      const c = h.client();
      await c.write(CONNECT);
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await c.write("hello");
      assert.equal(await c.readText(7), "welcome");
      const [open] = live.list();
      assert.ok(open, "the tunnel is listed");
      assert.equal(open.id, "2-1");
      assert.equal(open.kind, "connect");
      assert.equal(open.host, "origin.test");
      assert.equal(open.port, 443);
      assert.equal(open.rule, "allow-test");
      assert.equal(open.end, null);
      assert.equal(open.bytesUp, 5, "what the client sent through so far");
      assert.equal(open.bytesDown, 7, "what the origin sent back so far");
      assert.ok(Date.parse(open.since) <= Date.parse(open.time), "since: when it began; time: now");
      assert.ok(open.durationMs >= 0);
      assert.equal(live.close("2-1", "closed by an administrator (DELETE /connections/2-1)"), true);
      await seesClose(c);
      await within(closed, 1000, "the upstream closed");
      await h.finish();
      const r = h.record();
      assert.equal(r.end, "revoked");
      assert.equal(r.error, "closed by an administrator (DELETE /connections/2-1)");
      assert.equal(r.bytesUp, 5);
      assert.equal(r.bytesDown, 7);
      assert.deepEqual(live.list(), []);
    });
  });

  it("a decrypted session shows the requests and bytes it has finished", async () => {
    const live = new LiveFlows();
    await withHarness({ liveFlows: live, policy: DECRYPT_POLICY, interception: {} }, async (h) => {
      serveRequests(h, "10.0.0.1", 443, ["first", "second"]);
      const c = h.client();
      await c.write(CONNECT);
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await c.write("GET /a HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const first = await readResponse(c);
      let [open] = live.list();
      assert.equal(open?.decryption, "decrypt");
      assert.equal(open?.requests, 1);
      assert.equal(open?.bytesDown, first.bytes);
      await c.write("GET /b HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const second = await readResponse(c);
      [open] = live.list();
      assert.equal(open?.requests, 2);
      assert.equal(open?.bytesDown, first.bytes + second.bytes);
      assert.ok(open!.bytesUp > 0);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(live.list(), [], "an ended session is no longer listed");
    });
  });
});

describe("reverse-proxy connections in the open-flows registry", () => {
  it("are listed with the requests and bytes they finished, closed on request, and never rechecked", async () => {
    const live = new LiveFlows(undefined, 1);
    await withHarness({ liveFlows: live }, async (h) => {
      named(h, "10.0.0.1", 80, "from a");
      const { c, done } = open(h, reverseState([route("a", ["a.test"], "A")], { A: { backends: ["http://10.0.0.1"] } }));
      await c.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
      const answer = await readResponse(c);
      assert.equal(answer.body, "from a");
      const [open1] = live.list();
      assert.equal(open1?.id, "1-1");
      assert.equal(open1?.mode, "reverse");
      assert.equal(open1?.requests, 1);
      assert.equal(open1?.bytesDown, answer.bytes);
      assert.equal(live.recheck(DENY_ALL), 0, "no policy decides a reverse connection");
      assert.equal(live.close("1-1", "closed by an administrator"), true);
      await seesClose(c);
      await within(done, 1000, "the reverse flow");
      const r = h.record();
      assert.equal(r.end, "revoked");
      assert.equal(r.error, "closed by an administrator");
      assert.deepEqual(live.list(), []);
    });
  });

  it("a passthrough connection is listed with its bytes as they move, and closed with its backend connection", async () => {
    const live = new LiveFlows();
    const hello = new Uint8Array(readFileSync(new URL("../fixtures/client-hello/curl-openssl.bin", import.meta.url)));
    await withHarness({ liveFlows: live, interception: {} }, async (h) => {
      let backendClosed!: () => void;
      const closed = new Promise<void>((r) => (backendClosed = r));
      h.origin("10.0.0.1", 443, async (o) => {
        await o.readBytes(hello.byteLength);
        await o.write("server hello");
        await o.readToEndOrReset();
        backendClosed();
      });
      const store = new CertificateStore([{ chainPem: "CHAIN", keyPem: "KEY", names: ["example.com"], source: "example.pem", notAfter: new Date(0) }], 0, "default");
      const s = reverseState([route("web", ["*"], "tls")], { tls: { backends: ["https://10.0.0.1"] } }, [], { store, passthrough: [{ id: "pt", hosts: ["example.com"], pool: "tls" }] });
      const { c, done } = open(h, s);
      await c.write(hello);
      assert.equal(await c.readText(12), "server hello");
      const [pt] = live.list();
      assert.equal(pt?.host, "example.com");
      assert.deepEqual([pt?.bytesUp, pt?.bytesDown], [hello.byteLength, 12]);
      assert.equal(live.close(pt!.id, "closed by an administrator"), true);
      await seesClose(c);
      await within(closed, 1000, "the backend connection closed");
      await within(done, 1000, "the passthrough flow");
      assert.equal(h.record().end, "revoked");
    });
  });
});
