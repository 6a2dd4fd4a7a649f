import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { dec, ESTABLISHED, type Peer, tick, until, withHarness } from "../helpers/flow-harness.ts";

const CONNECT = "CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\nUser-Agent: test\r\n\r\n";

/** Sends the CONNECT one byte at a time and checks the exact 200. */
async function establish(client: Peer, head = CONNECT): Promise<void> {
  await client.writeSplit(head, [1]);
  assert.equal(await client.readText(ESTABLISHED.length), ESTABLISHED);
}

describe("explicit CONNECT tunnel", () => {
  it("answers exactly 200 and relays bytes both ways unmodified", async () => {
    const up = new Uint8Array(300).map((_, i) => (i * 7) & 0xff);
    const down = new Uint8Array(500).map((_, i) => 255 - (i & 0xff));
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        assert.deepEqual(await o.readBytes(up.byteLength), up);
        await o.writeSplit(down, [3, 1, 200]);
        assert.equal((await o.readToEnd()).byteLength, 0);
        await o.end();
      });
      const c = h.client();
      await establish(c);
      await c.writeSplit(up, [5, 1, 77]);
      assert.deepEqual(await c.readBytes(down.byteLength), down);
      await c.end();
      assert.equal((await c.readToEnd()).byteLength, 0);
      await h.finish();
      const r = h.record();
      assert.equal(r.kind, "connect");
      assert.equal(r.mode, "explicit");
      assert.equal(r.host, "origin.test");
      assert.equal(r.port, 443);
      assert.equal(r.resolved, "10.0.0.1");
      assert.equal(r.dnsSource, "static");
      assert.equal(r.decision, "allow");
      assert.equal(r.rule, "allow-test");
      assert.equal(r.status, 200);
      assert.equal(r.userAgent, "test");
      assert.equal(r.bytesUp, up.byteLength);
      assert.equal(r.bytesDown, down.byteLength);
      assert.equal(r.end, "eof");
      assert.equal(r.error, null);
      assert.equal(r.client, "127.0.0.1:50000");
      assert.equal(r.listener, "test");
      assert.deepEqual(h.dials, [{ address: "10.0.0.1", port: 443 }]);
    });
  });

  it("delivers bytes pipelined right after the CONNECT head first and intact", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        assert.equal(dec.decode(await o.readBytes(15)), "EARLY-HELLO|and");
        await o.write("ok");
        assert.equal(dec.decode(await o.readToEnd()), "-more");
        await o.end();
      });
      const c = h.client();
      // head and payload in one write, then more in odd pieces, all before reading the 200
      await c.write(CONNECT + "EARLY-HELLO");
      await c.writeSplit("|and", [1, 2]);
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      assert.equal(await c.readText(2), "ok");
      await c.write("-more");
      await c.end();
      assert.equal((await c.readToEnd()).byteLength, 0);
      await h.finish();
      const r = h.record();
      assert.equal(r.bytesUp, "EARLY-HELLO|and-more".length);
      assert.equal(r.bytesDown, 2);
      assert.equal(r.end, "eof");
    });
  });

  it("propagates the client's FIN while the origin can still send", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        assert.equal(dec.decode(await o.readToEnd()), "request"); // FIN seen
        await tick();
        await o.write("response after ");
        await o.write("client FIN");
        await o.end();
      });
      const c = h.client();
      await establish(c);
      await c.write("request");
      await c.end();
      assert.equal(dec.decode(await c.readToEnd()), "response after client FIN");
      await h.finish();
      const r = h.record();
      assert.equal(r.end, "eof");
      assert.equal(r.bytesUp, 7);
      assert.equal(r.bytesDown, 25);
    });
  });

  it("propagates the origin's FIN while the client can still send", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        await o.write("banner");
        await o.end();
        assert.equal(dec.decode(await o.readToEnd()), "late upload");
      });
      const c = h.client();
      await establish(c);
      assert.equal(dec.decode(await c.readToEnd()), "banner"); // FIN seen
      await c.writeSplit("late upload", [4]);
      await c.end();
      await h.finish();
      const r = h.record();
      assert.equal(r.end, "eof");
      assert.equal(r.bytesUp, 11);
      assert.equal(r.bytesDown, 6);
    });
  });

  it("tears the tunnel down when the origin resets", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        assert.equal(dec.decode(await o.readBytes(4)), "ping");
        o.conn.close();
      });
      const c = h.client();
      await establish(c);
      await c.write("ping");
      const end = await c.readToEndOrReset();
      assert.equal(end.reset, true);
      await h.finish();
      const r = h.record();
      assert.notEqual(r.end, "eof");
      assert.equal(r.bytesUp, 4);
    });
  });

  it("tears the tunnel down when the client resets", async () => {
    await withHarness({}, async (h) => {
      let originSaw: { data: Uint8Array; reset: boolean } | undefined;
      h.origin("10.0.0.1", 443, async (o) => {
        originSaw = await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write(CONNECT + "abc");
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      c.conn.close();
      await h.finish();
      assert.equal(originSaw?.reset, true);
      assert.equal(dec.decode(originSaw?.data), "abc");
      const r = h.record();
      assert.equal(r.bytesUp, 3);
      assert.notEqual(r.end, "eof");
      assert.ok(r.error);
    });
  });

  it("normalises the CONNECT host before policy and DNS", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        await o.end();
        await o.readToEnd();
      });
      const c = h.client();
      await establish(c, "CONNECT Origin.TEST.:443 HTTP/1.1\r\nHost: Origin.TEST.:443\r\n\r\n");
      await c.end();
      await c.readToEnd();
      await h.finish();
      assert.deepEqual(h.dials, [{ address: "10.0.0.1", port: 443 }]);
      assert.equal(h.record().host, "origin.test");
    });
  });

  it("writes no line for a clean flow under a rule with logging off, but does for a failure", async () => {
    const policy = { defaultAction: "deny" as const, rules: [{ id: "quiet", hosts: [".test"], action: "allow" as const, log: false }] };
    await withHarness({ policy }, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        await o.end();
        await o.readToEnd();
      });
      const quiet = h.client();
      await establish(quiet);
      await quiet.end();
      await quiet.readToEnd();
      const failing = h.client();
      await failing.write("CONNECT other.test:443 HTTP/1.1\r\nHost: other.test:443\r\n\r\n");
      assert.equal((await failing.readHead()).status, 502);
      await failing.end();
      await failing.readToEndOrReset();
      await h.finish();
      assert.equal(h.records.length, 1);
      assert.equal(h.record().host, "other.test");
      assert.equal(h.record().status, 502);
    });
  });

  it("denies by policy with a 403 naming the rule, without dialing", async () => {
    await withHarness({}, async (h) => {
      const c = h.client();
      await c.writeSplit("CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n", [1]);
      const head = await c.readHead();
      assert.equal(head.status, 403);
      const body = dec.decode(await c.readBytes(Number(head.get("content-length"))));
      assert.match(body, /rule "block-evil"/);
      assert.equal(head.get("connection"), "close");
      await c.end();
      assert.equal((await c.readToEnd()).byteLength, 0);
      await h.finish();
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.equal(r.kind, "connect");
      assert.equal(r.host, "evil.test");
      assert.equal(r.decision, "deny");
      assert.equal(r.rule, "block-evil");
      assert.equal(r.status, 403);
      assert.equal(r.end, "denied");
    });
  });

  it("denies by the default action when no rule matches", async () => {
    await withHarness({}, async (h) => {
      const c = h.client();
      await c.write("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
      const head = await c.readHead();
      assert.equal(head.status, 403);
      assert.match(dec.decode(await c.readBytes(Number(head.get("content-length")))), /rule "default"/);
      await c.end();
      await c.readToEnd();
      await h.finish();
      assert.deepEqual(h.dials, []);
      assert.equal(h.record().rule, "default");
    });
  });

  for (const [target, address, kind] of [
    ["127.0.0.1:443", "127.0.0.1", "IPv4"],
    ["[::1]:443", "::1", "IPv6"],
  ] as const) {
    it(`sends an ${kind} literal to the policy as an IP and dials it directly`, async () => {
      await withHarness({}, async (h) => {
        h.origin(address, 443, async (o) => {
          await o.write("hi");
          await o.end();
          await o.readToEnd();
        });
        const c = h.client();
        await establish(c, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
        assert.equal(dec.decode(await c.readToEnd()), "hi");
        await c.end();
        await h.finish();
        assert.deepEqual(h.dials, [{ address, port: 443 }]);
        const r = h.record();
        assert.equal(r.rule, "allow-loopback", "matched the IP rule, not a name rule");
        assert.equal(r.host, address);
        assert.equal(r.resolved, address);
        assert.equal(r.dnsSource, "literal");
        assert.equal(r.end, "eof");
      });
    });
  }

  it("tries the next resolved address when the first refuses", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.4", 8443, async (o) => {
        await o.end();
        await o.readToEnd();
      });
      const c = h.client();
      await establish(c, "CONNECT multi.test:8443 HTTP/1.1\r\nHost: multi.test:8443\r\n\r\n");
      await c.end();
      await c.readToEnd();
      await h.finish();
      assert.deepEqual(
        h.dials.map((d) => d.address),
        ["10.0.0.3", "10.0.0.4"],
      );
      assert.equal(h.record().resolved, "10.0.0.4");
    });
  });

  it("relays with backpressure: a client that does not read stalls the origin", async () => {
    const total = 16 * 1024 * 1024;
    const size = 64 * 1024;
    let written = 0;
    await withHarness({ highWaterMark: 16 * 1024, finishTimeoutMs: 4000 }, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        for (let k = 0; written < total; k++) {
          const chunk = new Uint8Array(size);
          for (let i = 0; i < size; i++) chunk[i] = (i + k) & 0xff;
          await o.write(chunk);
          written += size;
        }
        await o.end();
        await o.readToEnd();
      });
      const c = h.client();
      await establish(c);
      // let the origin run until it stalls
      let last = -1;
      for (let quiet = 0; quiet < 5; ) {
        await tick();
        quiet = written === last ? quiet + 1 : 0;
        last = written;
      }
      assert.ok(written > 0, "the origin wrote something");
      assert.ok(written < 4 * 1024 * 1024, `origin writes stall while the client does not read (wrote ${written} bytes)`);
      let got = 0;
      for (;;) {
        const chunk = await c.readChunk();
        if (!chunk) break;
        for (let i = 0; i < chunk.byteLength; i++) {
          const at = got + i;
          if (chunk[i] !== ((at % size) + Math.floor(at / size)) % 256) assert.fail(`byte ${at} corrupted`);
        }
        got += chunk.byteLength;
      }
      assert.equal(got, total);
      await c.end();
      await h.finish();
      const r = h.record();
      assert.equal(r.bytesDown, total);
      assert.equal(r.end, "eof");
    });
  });

  it("keeps the tunnel open until both sides are done", async () => {
    await withHarness({}, async (h) => {
      let originDone = false;
      h.origin("10.0.0.1", 443, async (o) => {
        await o.end();
        await o.readToEnd();
        originDone = true;
      });
      const c = h.client();
      await establish(c);
      await c.readToEnd();
      for (let i = 0; i < 3; i++) await tick();
      assert.equal(originDone, false);
      assert.equal(h.records.length, 0, "no record while the client may still send");
      await c.end();
      await until(() => originDone);
      await h.finish();
      assert.equal(h.record().end, "eof");
    });
  });
});
