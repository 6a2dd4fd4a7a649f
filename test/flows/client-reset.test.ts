/**
 * A client whose connection fails under a read (a reset) gets no answer, so the flow line
 * must not claim one: no status 400 for "Connection reset by peer", and a reset between
 * keep-alive requests is an ending, not a bad request.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CertificateStore } from "../../src/reverse/cert-store.ts";
import { DECRYPT_POLICY, ESTABLISHED, okResponse, readResponse, withHarness, within } from "../helpers/flow-harness.ts";
import { open, route, state } from "../helpers/reverse-harness.ts";

const RESET = /reset/i;

describe("a client reset while the gateway reads a request head", () => {
  it("explicit: mid-head on a new connection, logged as client-reset without a status", async () => {
    await withHarness({}, async (h) => {
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: orig");
      c.conn.close();
      await h.finish();
      const r = h.record();
      assert.equal(r.status, null, "nothing was answered");
      assert.equal(r.end, "client-reset");
      assert.match(r.error ?? "", RESET);
      assert.deepEqual(h.dials, []);
    });
  });

  it("explicit: before the first byte, as quiet as an end of stream (no line)", async () => {
    await withHarness({}, async (h) => {
      h.client().conn.close();
      const quiet = h.client();
      await quiet.end();
      await h.finish();
      assert.deepEqual(h.records, []);
    });
  });

  it("transparent TLS: a hang-up (FIN or reset) before the first byte writes no line either", async () => {
    await withHarness({ hosts: { "example.com": ["10.0.0.7"] } }, async (h) => {
      h.transparentClient().conn.close();
      const quiet = h.transparentClient();
      await quiet.end();
      await quiet.readToEndOrReset();
      // one byte is a start: a client that sent something and vanished is logged
      const partial = h.transparentClient();
      await partial.write(new Uint8Array([0x16]));
      partial.conn.close();
      await h.finish();
      assert.equal(h.records.length, 1, JSON.stringify(h.records.map((r) => [r.end, r.error])));
      assert.equal(h.records[0]?.end, "client-reset");
      assert.deepEqual(h.dials, []);
    });
  });

  it("reverse TLS: a hang-up before the first byte writes no line", async () => {
    await withHarness({ interception: {} }, async (h) => {
      const store = new CertificateStore([{ chainPem: "C", keyPem: "K", names: ["app.test"], source: "a", notAfter: new Date(0) }], 0, "refuse");
      const s = state([route("app", ["app.test"], "A")], { A: { backends: ["http://10.0.0.1"] } }, [], { store });
      const reset = open(h, s);
      reset.c.conn.close();
      const fin = open(h, s);
      await fin.c.end();
      await within(Promise.all([reset.done, fin.done]), 1500, "both flows");
      await h.finish();
      assert.deepEqual(h.records, []);
      assert.deepEqual(h.dials, []);
    });
  });

  it("explicit: after a completed keep-alive request, ends quietly: one line, the request's", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write(okResponse("one"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "one");
      c.conn.close();
      await h.finish();
      assert.equal(h.records.length, 1, JSON.stringify(h.records.map((r) => [r.kind, r.status, r.end])));
      assert.equal(h.records[0]?.status, 200);
    });
  });

  it("decrypted session: the connection line ends client-reset; its status stays the CONNECT's 200", async () => {
    await withHarness({ policy: DECRYPT_POLICY, interception: {} }, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
      await c.write("GET / HTTP/1.1\r\nHo");
      c.conn.close();
      await h.finish();
      const r = h.record();
      assert.equal(r.status, 200);
      assert.equal(r.end, "client-reset");
      assert.match(r.error ?? "", RESET);
      assert.deepEqual(h.requestRecords, []);
    });
  });

  it("reverse: logged as client-reset without a status, nothing dialed", async () => {
    await withHarness({}, async (h) => {
      const s = state([route("app", ["app.test"], "A")], { A: { backends: ["http://10.0.0.1"] } });
      const { c, done } = open(h, s);
      await c.write("GET / HTTP/1.1\r\nHost: app");
      c.conn.close();
      await within(done, 1500, "the reverse flow");
      await h.finish();
      const r = h.record();
      assert.equal(r.status, null);
      assert.equal(r.end, "client-reset");
      assert.deepEqual(h.dials, []);
    });
  });
});

describe("a client reset while the gateway waits on the origin", () => {
  /** An origin that sends `first` and then neither more nor its end: it reports whether it was reset. */
  function stallingOrigin(h: Parameters<Parameters<typeof withHarness>[1]>[0], port: number, first: string) {
    let resolve: (reset: boolean) => void = () => {};
    const reset = new Promise<boolean>((r) => (resolve = r));
    h.origin("10.0.0.1", port, async (o) => {
      await o.readHead();
      if (first) await o.write(first);
      resolve((await o.readToEndOrReset()).reset);
    });
    return reset;
  }

  for (const [what, first] of [["for the response head", ""], ["in the middle of the body", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial"]] as const) {
    it(`explicit HTTP, ${what}: both ends close at once, the line says why`, async () => {
      await withHarness({}, async (h) => {
        const originReset = stallingOrigin(h, 80, first);
        const c = h.client();
        await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
        if (first) await c.readUntil("partial");
        else await new Promise((r) => setTimeout(r, 20)); // the request reached the origin
        c.conn.close();
        assert.equal(await within(originReset, 1000, "the origin's connection closed"), true);
        await h.finish();
        const r = h.record();
        assert.equal(r.status, first ? 200 : null, "what was answered, and only that");
        assert.equal(r.end, "client-reset");
        assert.match(r.error ?? "", /Client reset the connection before the response was complete/);
      });
    });

    it(`decrypted, ${what}: both ends close at once, the request line says why`, async () => {
      await withHarness({ policy: DECRYPT_POLICY, interception: {} }, async (h) => {
        const originReset = stallingOrigin(h, 443, first);
        const c = h.client();
        await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
        assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
        await c.write("GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n");
        if (first) await c.readUntil("partial");
        else await new Promise((r) => setTimeout(r, 20));
        c.conn.close();
        assert.equal(await within(originReset, 1000, "the origin's connection closed"), true);
        await h.finish();
        assert.equal(h.requestRecords[0]?.status, first ? 200 : null);
        assert.equal(h.record().end, "client-reset");
        assert.match(h.requestRecords[0]?.error ?? "", /Client reset the connection before the response was complete/);
      });
    });
  }

  it("reverse: a client gone while the backend is silent closes the backend connection at once", async () => {
    await withHarness({}, async (h) => {
      const originReset = stallingOrigin(h, 80, "");
      const s = state([route("app", ["app.test"], "A")], { A: { backends: ["http://10.0.0.1"] } });
      const { c, done } = open(h, s);
      await c.write("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
      await new Promise((r) => setTimeout(r, 20));
      c.conn.close();
      assert.equal(await within(originReset, 1000, "the backend's connection closed"), true);
      await within(done, 1500, "the reverse flow");
      await h.finish();
      assert.equal(h.record().end, "client-reset");
    });
  });

  it("a client that half-closes after its request still gets the whole response", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await new Promise((r) => setTimeout(r, 30)); // answers after the client's FIN
        await o.write(okResponse("all of it"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      await c.end();
      assert.equal((await readResponse(c)).body, "all of it");
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.record().status, 200);
      assert.equal(h.record().error, null);
    });
  });
});
