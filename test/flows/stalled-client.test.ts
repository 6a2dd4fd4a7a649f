/**
 * A client that stops reading is bounded: every write towards it has the idle limit the body
 * relays have (`limits.idleTimeoutMs`), and an error answer or block page its buffers cannot
 * take is cut off after a bound of its own. Otherwise a client that pipelines requests and
 * never reads the answers holds its connection, and the upstream one, forever.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import { ConnReader } from "../../src/flows/conn-reader.ts";
import { sendAndClose } from "../../src/flows/answers.ts";
import { DECRYPT_POLICY, ESTABLISHED, FlowHarness, okResponse, type Peer, until, within } from "../helpers/flow-harness.ts";

/** An origin answering every request with 600 bytes; `closed` once the gateway dropped it. */
function smallAnswers(h: FlowHarness, port: number): { served: number; closed: boolean } {
  const state = { served: 0, closed: false };
  h.origin("10.0.0.1", port, async (o: Peer) => {
    try {
      for (;;) {
        await o.readHead();
        state.served++;
        await o.write(okResponse("x".repeat(600)));
      }
    } catch {
      state.closed = true; // the gateway closed the upstream connection
    }
  });
  return state;
}

describe("a client that stops reading is bounded by idleTimeoutMs", () => {
  it("explicit plain HTTP: pipelined requests, answers never read", async () => {
    const h = new FlowHarness({ limits: { idleTimeoutMs: 300 }, highWaterMark: 1024, finishTimeoutMs: 1500 });
    try {
      const origin = smallAnswers(h, 80);
      const c = h.client();
      void c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n".repeat(100)).catch(() => {});
      await until(() => origin.closed, 3000, "the upstream connection closed");
      assert.ok(origin.served >= 1 && origin.served < 100, `served ${origin.served}`);
    } finally {
      h.abort();
      await h.finish().catch(() => {});
    }
  });

  it("decrypted session: pipelined requests, answers never read", async () => {
    const h = new FlowHarness({ policy: DECRYPT_POLICY, interception: {}, limits: { idleTimeoutMs: 300 }, highWaterMark: 1024, finishTimeoutMs: 1500 });
    try {
      const origin = smallAnswers(h, 443);
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
      void c.write("GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n".repeat(100)).catch(() => {});
      await until(() => origin.closed, 3000, "the upstream connection closed");
      assert.ok(origin.served >= 1 && origin.served < 100, `served ${origin.served}`);
    } finally {
      h.abort();
      await h.finish().catch(() => {});
    }
  });
});

describe("sendAndClose", () => {
  it("cuts off a client that does not take the answer within the bound", async () => {
    const [client, peer] = memoryConnPair({ highWaterMark: 1024 });
    const started = Date.now();
    await within(sendAndClose(client, new ConnReader(client), new Uint8Array(64 * 1024), 200), 3000, "sendAndClose");
    const took = Date.now() - started;
    assert.ok(took >= 150, `gave up after ${took} ms`);
    // the peer sees an abortive close, not a complete answer
    const r = peer.readable.getReader();
    let got = 0;
    await assert.rejects(async () => {
      for (;;) {
        const { done, value } = await r.read();
        if (done) throw new Error(`a clean end after ${got} bytes`);
        got += value.byteLength;
      }
    }, (e: Error) => !/clean end/.test(e.message));
  });

  it("a client that reads gets the whole answer and a clean end", async () => {
    const [client, peer] = memoryConnPair({ highWaterMark: 1024 });
    const reading = (async () => {
      let got = 0;
      for await (const chunk of peer.readable) got += chunk.byteLength;
      return got;
    })();
    const sent = sendAndClose(client, new ConnReader(client), new Uint8Array(64 * 1024), 2000);
    assert.equal(await reading, 64 * 1024);
    await peer.writable.close();
    await within(sent, 3000, "sendAndClose");
  });
});
