/**
 * Shutdown as the flows see it: once the gateway drains, request loops end at the next
 * request boundary. Idle keep-alive connections close at once, a response in progress goes
 * out with `Connection: close`, tunnels run on.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Drain } from "../../src/flows/drain.ts";
import { DECRYPT_POLICY, ESTABLISHED, okResponse, readResponse, withHarness, within } from "../helpers/flow-harness.ts";
import { open, route, state } from "../helpers/reverse-harness.ts";

const GET = "GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n";

describe("Drain", () => {
  it("interrupts the readers idle when it starts, and later ones at once; leave() forgets", () => {
    const drain = new Drain();
    const interrupted: string[] = [];
    const reader = (name: string) => ({ interrupt: () => void interrupted.push(name) });
    const a = reader("a");
    const b = reader("b");
    const gone = reader("gone");
    drain.enter(a);
    drain.enter(b);
    drain.enter(gone);
    drain.leave(gone);
    assert.equal(drain.waiting, 2);
    drain.start();
    assert.deepEqual(interrupted, ["a", "b"]);
    assert.equal(drain.waiting, 0);
    drain.enter(reader("late"));
    assert.deepEqual(interrupted, ["a", "b", "late"]);
    assert.equal(drain.waiting, 0);
    drain.start();
    assert.equal(interrupted.length, 3, "a second start does nothing");
  });
});

describe("Drain.child (one listener's connections)", () => {
  const reader = (log: string[], name: string) => ({ interrupt: () => void log.push(name) });

  it("a child starts with its parent; started alone it leaves the parent and its siblings as they are", () => {
    const gateway = new Drain();
    const dropped = gateway.child();
    const kept = gateway.child();
    const interrupted: string[] = [];
    dropped.enter(reader(interrupted, "dropped"));
    kept.enter(reader(interrupted, "kept"));
    gateway.enter(reader(interrupted, "gateway"));
    dropped.start();
    assert.deepEqual(interrupted, ["dropped"]);
    assert.deepEqual([gateway.draining, kept.draining], [false, false]);
    gateway.start();
    assert.deepEqual(interrupted, ["dropped", "gateway", "kept"]);
    assert.equal(kept.draining, true);
    assert.equal(gateway.child().draining, true, "a child of a started drain starts at once");
  });

  it("holds connections: closeOpen closes those not released, once", () => {
    const drain = new Drain().child();
    const closed: string[] = [];
    const conn = (name: string) => ({ close: () => void closed.push(name) });
    const a = conn("a");
    const b = conn("b");
    drain.hold(a);
    drain.hold(b);
    drain.hold(b);
    assert.equal(drain.open, 2);
    drain.release(a);
    drain.closeOpen();
    drain.closeOpen();
    assert.deepEqual(closed, ["b"]);
    assert.equal(drain.open, 0);
  });
});

describe("drain: request loops end at the next request boundary", () => {
  it("an idle keep-alive connection is closed as soon as the drain starts", async () => {
    const drain = new Drain();
    // an idle timeout far beyond the test: only the drain can end the wait
    await withHarness({ drain, limits: { idleTimeoutMs: 60_000 } }, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write(okResponse("one"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write(GET);
      const res = await readResponse(c);
      assert.equal(res.body, "one");
      assert.equal(res.head.get("connection"), undefined, "kept alive before the drain");
      assert.equal(drain.waiting, 1, "one wait: this connection's, for its next request");
      drain.start();
      const rest = await within(c.readToEndOrReset(), 500, "the close");
      assert.equal(rest.data.byteLength, 0);
      await h.finish();
      assert.deepEqual(h.records.map((r) => r.status), [200]);
    });
  });

  it("a connection that has sent nothing yet is closed, without a line", async () => {
    const drain = new Drain();
    await withHarness({ drain, limits: { headerTimeoutMs: 60_000 } }, async (h) => {
      const c = h.client();
      await new Promise((r) => setTimeout(r, 10));
      drain.start();
      assert.equal((await within(c.readToEndOrReset(), 500, "the close")).data.byteLength, 0);
      // and one accepted after the drain began is not waited for either
      const late = h.client();
      assert.equal((await within(late.readToEndOrReset(), 500, "the close")).data.byteLength, 0);
      await h.finish();
      assert.deepEqual(h.records, []);
    });
  });

  it("a request in progress is answered with Connection: close, then the connection ends", async () => {
    const drain = new Drain();
    await withHarness({ drain, limits: { idleTimeoutMs: 60_000 } }, async (h) => {
      let answer!: () => void;
      const go = new Promise<void>((r) => (answer = r));
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await go;
        await o.write(okResponse("slow"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write(GET);
      await new Promise((r) => setTimeout(r, 20));
      drain.start();
      answer();
      const res = await within(readResponse(c), 1000, "the answer");
      assert.equal(res.body, "slow");
      assert.equal(res.head.get("connection"), "close");
      await c.end();
      await within(c.readToEndOrReset(), 1000, "the close");
      await h.finish();
      assert.deepEqual(h.records.map((r) => r.status), [200]);
    });
  });

  it("a request head already arriving when the drain starts is still served", async () => {
    const drain = new Drain();
    await withHarness({ drain }, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write(okResponse("late but whole"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write(GET.slice(0, 20));
      await new Promise((r) => setTimeout(r, 20));
      drain.start();
      await c.write(GET.slice(20));
      const res = await within(readResponse(c), 1000, "the answer");
      assert.equal(res.body, "late but whole");
      assert.equal(res.head.get("connection"), "close");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
    });
  });

  it("a decrypted session waiting for its next request is closed; the connection line says eof", async () => {
    const drain = new Drain();
    await withHarness({ drain, policy: DECRYPT_POLICY, interception: {}, limits: { idleTimeoutMs: 60_000 } }, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        await o.readHead();
        await o.write(okResponse("inside"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
      await c.write("GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "inside");
      drain.start();
      assert.equal((await within(c.readToEndOrReset(), 500, "the close")).data.byteLength, 0);
      await h.finish();
      assert.deepEqual(h.requestRecords.map((q) => q.status), [200]);
      assert.equal(h.record().end, "eof");
    });
  });

  it("reverse: an idle keep-alive client is closed", async () => {
    const drain = new Drain();
    await withHarness({ drain, limits: { idleTimeoutMs: 60_000 } }, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write(okResponse("app"));
        await o.readToEndOrReset();
      });
      const { c, done } = open(h, state([route("app", ["app.test"], "A")], { A: { backends: ["http://10.0.0.1"] } }));
      await c.write("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "app");
      drain.start();
      assert.equal((await within(c.readToEndOrReset(), 500, "the close")).data.byteLength, 0);
      await within(done, 500, "the reverse flow");
      await h.finish();
      assert.equal(h.record().end, "eof");
    });
  });

  it("transparent TLS: a connection whose ClientHello has not begun is closed, without a line", async () => {
    const drain = new Drain();
    await withHarness({ drain, limits: { headerTimeoutMs: 60_000 } }, async (h) => {
      const c = h.transparentClient();
      await new Promise((r) => setTimeout(r, 10));
      drain.start();
      assert.equal((await within(c.readToEndOrReset(), 500, "the close")).data.byteLength, 0);
      await h.finish();
      assert.deepEqual(h.records, []);
    });
  });

  it("a blind tunnel is not touched: it relays on after the drain started", async () => {
    const drain = new Drain();
    await withHarness({ drain }, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        assert.equal(await o.readText(4), "ping");
        await o.write("pong");
        await o.readToEnd();
        await o.end();
      });
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
      drain.start();
      await new Promise((r) => setTimeout(r, 20));
      await c.write("ping");
      assert.equal(await within(c.readText(4), 1000, "pong"), "pong");
      await c.end();
      await c.readToEnd();
      await h.finish();
      assert.equal(h.record().end, "eof");
    });
  });
});
