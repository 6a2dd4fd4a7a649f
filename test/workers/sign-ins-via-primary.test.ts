import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type SignInCounts, SignInThrottle, type SignInThrottled } from "../../src/auth/sign-in-throttle.ts";
import { createBasicCredentials, uncheckedAnswer } from "../../src/auth/proxy-auth.ts";
import { hashPassword } from "../../src/auth/password-hash.ts";
import { encodeMessage, type FromWorker, parseFromWorker, parseToWorker, type ToWorker } from "../../src/workers/protocol.ts";
import { SignInBroker } from "../../src/workers/sign-in-broker.ts";
import { SignInsViaPrimary } from "../../src/workers/sign-ins-via-primary.ts";

const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;

/**
 * A primary and `count` workers wired in memory, every message through the line protocol's
 * encoder and parsers, as the pipes carry them.
 */
function processes(counts: () => SignInCounts | undefined, count: number, timeoutMs?: number) {
  const broker = new SignInBroker(counts);
  const sent: FromWorker[] = [];
  const workers: SignInsViaPrimary[] = [];
  let silent = false; // the primary stops answering
  for (let index = 1; index <= count; index++) {
    const worker: SignInsViaPrimary = new SignInsViaPrimary((m) => {
      const message = parseFromWorker(encodeMessage(m).trimEnd());
      sent.push(message);
      if (message.t === "sign-in") {
        if (silent) return;
        void broker.attempt(index, message.req, message.name, message.client).then((verdict) => {
          const answer = parseToWorker(encodeMessage({ t: "sign-in", req: message.req, verdict } satisfies ToWorker).trimEnd());
          if (answer.t === "sign-in") worker.answer(answer.req, answer.verdict);
        });
      } else if (message.t === "sign-in-end") broker.end(index, message.req, message.outcome);
    }, timeoutMs);
    workers.push(worker);
  }
  return { broker, workers, sent, silence: () => (silent = true) };
}

function failed(throttle: SignInThrottle, name: string): void {
  const a = throttle.attempt(name, "203.0.113.9");
  assert.ok(a.ok);
  a.failed();
}

async function fail(counts: SignInCounts, name: string, client: string): Promise<void> {
  const a = await counts.attempt(name, client);
  assert.ok(a.ok, `${name} from ${client} should be checked: ${JSON.stringify(a)}`);
  a.failed();
}

async function refused(counts: SignInCounts, name: string, client: string): Promise<SignInThrottled> {
  const a = await counts.attempt(name, client);
  assert.equal(a.ok, false, `${name} from ${client} should be refused`);
  return a as SignInThrottled;
}

describe("sign-in counts shared with worker processes", () => {
  it("failures through any process draw on one allowance per address and per name", async () => {
    const throttle = new SignInThrottle({ burst: 3, perMinute: 1, perUser: { failures: 4, resetMinutes: 15 } }, () => 0);
    const { workers: [w1, w2], broker } = processes(() => throttle, 2);
    // one address: 3 at once, spread over the primary and both workers
    await fail(throttle, "guess1", "192.0.2.7");
    await fail(w1!, "guess2", "192.0.2.7");
    await fail(w2!, "guess3", "192.0.2.7");
    for (const counts of [throttle, w1!, w2!]) assert.equal((await refused(counts, "guess4", "192.0.2.7")).by, "address");
    // one name from many addresses: 4, wherever they land
    for (const [i, counts] of [w1!, w2!, throttle, w1!].entries()) await fail(counts, "alice", `198.51.100.${i + 1}`);
    const byName = await refused(w2!, "alice", "198.51.100.9");
    assert.equal(byName.by, "user");
    assert.match(byName.reason, /^too many failed sign-ins for user "alice" \(limit 4, then none until 15 minutes pass without one\)/);
    assert.equal((await refused(throttle, "ALICE", "198.51.100.10")).by, "user");
    assert.equal(broker.open, 0, "every check ended");
  });

  it("a sign-in through one process makes its address familiar to all; successes and uncounted checks cost nothing", async () => {
    const throttle = new SignInThrottle({ burst: 2, perMinute: 1, perUser: { failures: 1, resetMinutes: 15 } }, () => 0);
    const { workers: [w1, w2] } = processes(() => throttle, 2);
    const home = await w1!.attempt("bob", "192.0.2.1");
    assert.ok(home.ok);
    home.succeeded();
    await fail(w2!, "bob", "203.0.113.5"); // the name's one failure, from elsewhere
    assert.equal((await refused(throttle, "bob", "203.0.113.6")).by, "user");
    // from home, through the other worker: still checked
    const again = await w2!.attempt("bob", "192.0.2.1");
    assert.ok(again.ok, "familiar through every process");
    again.uncounted();
    for (let i = 0; i < 5; i++) {
      const a = await w1!.attempt("carol", "192.0.2.1");
      assert.ok(a.ok, "uncounted checks are given back");
      a.uncounted();
    }
  });

  it("a check under way when its worker exits ends uncounted: the name is not held by it", async () => {
    const throttle = new SignInThrottle({ burst: 10, perMinute: 10, perUser: { failures: 1, resetMinutes: 15 } }, () => 0);
    const { workers: [w1], broker } = processes(() => throttle, 1);
    const a = await w1!.attempt("dave", "192.0.2.1");
    assert.ok(a.ok);
    assert.equal(broker.open, 1);
    // while it is under way it counts: a second check in the name waits its turn
    assert.equal((await refused(throttle, "dave", "192.0.2.2")).by, "user");
    broker.gone(1);
    assert.equal(broker.open, 0);
    const b = throttle.attempt("dave", "192.0.2.2");
    assert.ok(b.ok, "the vanished check was given back");
    a.failed(); // the dead worker's late word changes nothing
    b.uncounted();
    assert.ok(throttle.attempt("dave", "192.0.2.3").ok);
  });

  it("a primary that does not answer: the check is refused unchecked (503), and an approval that comes late is given back", async () => {
    const throttle = new SignInThrottle({ burst: 1, perMinute: 1 }, () => 0);
    const { workers: [w1], sent, silence, broker } = processes(() => throttle, 1, 30);
    silence();
    const r = await refused(w1!, "erin", "192.0.2.1");
    assert.equal(r.by, "unavailable");
    assert.match(r.reason, /^not checked: the gateway's primary process, which counts sign-ins, did not answer within 30 ms$/);
    // the primary answers after all: it is told at once that nothing was checked
    const ask = sent.find((m) => m.t === "sign-in")!;
    assert.equal(ask.t, "sign-in");
    const verdict = await broker.attempt(1, ask.req, "erin", "192.0.2.1");
    assert.deepEqual(verdict, { ok: true });
    w1!.answer(ask.req, verdict);
    const end = sent.at(-1)!;
    assert.deepEqual(end, { t: "sign-in-end", req: ask.req, outcome: "uncounted" });
    assert.equal(broker.open, 0);
    assert.equal(w1!.waiting, 0);
    assert.ok(throttle.attempt("erin", "192.0.2.1").ok, "the address's one try was given back");
  });

  it("a primary without users (a worker behind on a reload) holds the default limits; repeated and unknown ends are ignored", async () => {
    const primary: { counts?: SignInCounts } = {};
    const { workers: [w1], broker } = processes(() => primary.counts, 1);
    const a = await w1!.attempt("x", "192.0.2.1");
    assert.ok(a.ok);
    a.failed();
    a.failed();
    broker.end(1, 999, "failed");
    broker.end(7, 1, "failed");
    for (let i = 1; i < 10; i++) await fail(w1!, "x", "192.0.2.1");
    assert.equal((await refused(w1!, "x", "192.0.2.1")).by, "address", "10 at once, as by default");
    primary.counts = new SignInThrottle({ burst: 1, perMinute: 1 }, () => 0); // a reload added users
    await fail(w1!, "x", "192.0.2.1");
    assert.equal((await refused(w1!, "y", "192.0.2.1")).by, "address");
  });

  it("a worker behind the primary's reload makes no address familiar to a name the reload forgot", async () => {
    const throttle = new SignInThrottle({ burst: 100, perMinute: 100, perUser: { failures: 1, resetMinutes: 15 } }, () => 0);
    const broker = new SignInBroker(() => throttle);
    throttle.forgetFamiliar((name) => name === "alice"); // the primary's reload changed alice's password
    for (const [req, name] of [[1, "alice"], [2, "bob"]] as const) {
      assert.deepEqual(await broker.attempt(1, req, name, "192.0.2.1", true), { ok: true });
      broker.end(1, req, "succeeded"); // checked by the worker against the old list
      failed(throttle, name);
    }
    assert.equal(throttle.attempt("alice", "192.0.2.1").ok, false, "alice: not familiar");
    assert.equal(throttle.attempt("bob", "192.0.2.1").ok, true, "bob: not forgotten, familiar");
  });

  it("refuses a repeated request number and more checks under way than a worker can have", async () => {
    const throttle = new SignInThrottle({ burst: 100_000, perMinute: 1 }, () => 0);
    const broker = new SignInBroker(() => throttle);
    assert.deepEqual(await broker.attempt(1, 1, "a", "192.0.2.1"), { ok: true });
    const twice = await broker.attempt(1, 1, "a", "192.0.2.1");
    assert.equal(twice.ok, false);
    for (let req = 2; req <= 4096; req++) assert.equal((await broker.attempt(1, req, "a", `10.0.${req >> 8}.${req & 255}`)).ok, true);
    const full = await broker.attempt(1, 5000, "a", "192.0.2.9");
    assert.ok(!full.ok && full.by === "unavailable" && /4096 sign-ins under way/.test(full.reason), JSON.stringify(full));
    assert.equal((await broker.attempt(2, 1, "a", "192.0.2.9")).ok, true, "another worker has its own room");
    broker.gone(1);
    assert.equal(broker.open, 1);
  });

  it("long names are cut to what is counted: a name too long to count stays uncounted", async () => {
    const throttle = new SignInThrottle({ burst: 100, perMinute: 100, perUser: { failures: 1, resetMinutes: 15 } }, () => 0);
    const { workers: [w1], sent } = processes(() => throttle, 1);
    const long = "n".repeat(10_000);
    for (let i = 0; i < 3; i++) await fail(w1!, long, `192.0.2.${i + 1}`);
    const asked = sent.filter((m) => m.t === "sign-in");
    assert.ok(asked.every((m) => m.t === "sign-in" && m.name.length === 129));
    await fail(w1!, "n".repeat(64), "192.0.2.9");
    assert.equal((await refused(w1!, "N".repeat(64), "192.0.2.10")).by, "user", "64 characters are counted");
    // 64 characters outside the BMP (128 UTF-16 units) reach the primary whole, and are counted
    const script = "\u{1D4B6}".repeat(64);
    await fail(w1!, script, "192.0.2.11");
    assert.equal((await refused(w1!, script, "192.0.2.12")).by, "user");
  });

  it("credentials of a worker: a refusal for want of an answer is a 503, not a failure", async () => {
    const passwordHash = await hashPassword("s3cret", 100_000);
    const { workers: [w1], silence } = processes(() => new SignInThrottle({ burst: 1, perMinute: 1 }), 1, 30);
    const credentials = createBasicCredentials([{ name: "alice", passwordHash }], undefined, undefined, undefined, undefined, { throttle: w1! });
    assert.deepEqual(await credentials.check(basic("alice", "s3cret"), "Authorization", "192.0.2.1"), { ok: true, user: "alice", groups: [] });
    silence();
    const r = await credentials.check(basic("bob", "x"), "Authorization", "192.0.2.1");
    assert.equal(r.ok, false);
    assert.deepEqual(uncheckedAnswer(r), { status: 503, message: "Sign-ins cannot be checked now; retry after 5 s", retryAfter: "5" });
  });
});
