import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Listener, Runtime } from "../../src/core/runtime.ts";
import { currentRuntime } from "../helpers/runtime.ts";
import { pattern, readAll, readSlowly, sha } from "../helpers/bytes.ts";

describe("runtime adapter TCP", { timeout: 60_000 }, () => {
  let rt: Runtime;
  const listeners: Listener[] = [];
  before(async () => {
    rt = await currentRuntime();
  });
  after(async () => {
    for (const l of listeners) await l.close();
  });

  it("echoes, and keeps the read side open after the peer half-closes", async () => {
    const l = await rt.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
      (async () => {
        const got = await readAll(conn); // until the client's FIN
        const w = conn.writable.getWriter();
        await w.write(new TextEncoder().encode(`got ${got.byteLength} bytes`));
        await w.close();
      })();
    });
    listeners.push(l);
    assert.ok(l.address.port > 0);
    const c = await rt.dial({ address: "127.0.0.1", port: l.address.port });
    const w = c.writable.getWriter();
    await w.write(new Uint8Array(1000));
    await w.close(); // half-close: we can still read the answer
    const reply = new TextDecoder().decode(await readAll(c));
    assert.equal(reply, "got 1000 bytes");
  });

  it("writable.close() then close() (an end in order) still delivers everything to a slow reader", async () => {
    const size = 8 << 20;
    let closedAt = 0;
    const l = await rt.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
      void (async () => {
        const w = conn.writable.getWriter();
        const data = pattern(size);
        for (let o = 0; o < size; o += 1 << 20) await w.write(data.slice(o, o + (1 << 20)));
        await w.close(); // FIN after it all
        conn.close(); // as the flows end a connection: not a reset, the socket still sends
        closedAt = performance.now();
      })();
    });
    listeners.push(l);
    const c = await rt.dial({ address: "127.0.0.1", port: l.address.port });
    // the server is done writing long before this client has read it all
    const { got, lastAt } = await readSlowly(c, 2);
    c.close();
    assert.ok(closedAt > 0 && lastAt > closedAt, "the server closed while the client was still reading");
    assert.equal(got, size);
  });

  it("refuses a dial to a closed port with an error", async () => {
    const l = await rt.listen({ hostname: "127.0.0.1", port: 0 }, (c) => c.close());
    const port = l.address.port;
    await l.close();
    await assert.rejects(rt.dial({ address: "127.0.0.1", port }));
  });

  it("frees a chunk it received once another Conn has sent it", async () => {
    const sent = pattern(256 * 1024);
    let upstreamGot = "";
    const sink = await rt.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
      void readAll(conn).then(async (b) => (upstreamGot = await sha(b)));
    });
    listeners.push(sink);
    const checked = new Promise<{ before: number; after: number; buffer: number }>((resolve, reject) => {
      void rt.listen({ hostname: "127.0.0.1", port: 0 }, (client) => {
        (async () => {
          const up = await rt.dial({ address: "127.0.0.1", port: sink.address.port });
          const r = client.readable.getReader();
          const { value } = await r.read();
          assert.ok(value);
          const before = value.byteLength;
          const w = up.writable.getWriter();
          await w.write(value);
          resolve({ before, after: value.byteLength, buffer: value.buffer.byteLength });
          // the rest goes on as copies: the check above is what this test is about
          for (;;) {
            const next = await r.read();
            if (next.done) break;
            await w.write(next.value);
          }
          await w.close();
        })().catch(reject);
      }).then((l) => {
        listeners.push(l);
        return rt.dial({ address: "127.0.0.1", port: l.address.port });
      }).then(async (c) => {
        const w = c.writable.getWriter();
        await w.write(sent.slice());
        await w.close();
      }).catch(reject);
    });
    const r = await checked;
    assert.ok(r.before > 0);
    assert.equal(r.after, 0, "the received chunk was not freed after it was written");
    assert.equal(r.buffer, 0);
    for (let i = 0; i < 100 && upstreamGot === ""; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(upstreamGot, await sha(sent));
  });
});
