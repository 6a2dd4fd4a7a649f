/**
 * Bytes a client uploaded count in the logs also when the exchange then fails before a
 * final answer (a malformed answer, none, a response type a url rule refuses): an upload to
 * a host whose answer is broken (or broken on purpose) must not vanish from the byte counts
 * the logs give for exfiltration and DLP reports. Plain HTTP, decrypted, reverse.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { UrlRuleDefinition } from "../../src/policy/types.ts";
import { DECRYPT_POLICY, ESTABLISHED, type FlowHarness, type Peer, readResponse, withHarness, within } from "../helpers/flow-harness.ts";
import { close, open, route, state } from "../helpers/reverse-harness.ts";

const BODY = "y".repeat(100_000);
const POST = `Content-Length: ${BODY.length}\r\n\r\n${BODY}`;

/** An origin that reads the whole body, then does `then`; the body bytes it got. */
function takingOrigin(h: FlowHarness, address: string, port: number, then: (o: Peer) => Promise<void>): () => number {
  let received = 0;
  h.origin(address, port, async (o) => {
    await o.readHead();
    received = (await o.readBytes(BODY.length)).byteLength;
    await then(o);
    await o.readToEndOrReset();
  });
  return () => received;
}

async function hangUp(c: { end(): Promise<void>; readToEndOrReset(): Promise<unknown> }): Promise<void> {
  await c.end();
  await c.readToEndOrReset();
}

describe("bytes uploaded before a failed answer are logged", () => {
  it("explicit plain HTTP: 100 kB reach the origin, its answer is malformed (502)", async () => {
    await withHarness({}, async (h) => {
      const received = takingOrigin(h, "10.0.0.1", 80, (o) => o.write("not http\r\n\r\n"));
      const c = h.client();
      void c.write(`POST http://origin.test/up HTTP/1.1\r\nHost: origin.test\r\n${POST}`);
      assert.equal((await readResponse(c)).head.status, 502);
      await hangUp(c);
      await h.finish();
      assert.equal(received(), BODY.length, "the origin got the whole body");
      const r = h.record();
      assert.equal(r.status, 502);
      assert.ok(r.bytesUp >= BODY.length, `flow line bytesUp is ${r.bytesUp}, the origin received ${received()} body bytes`);
    });
  });

  it("decrypted: 100 kB reach the origin, which closes without answering (502)", async () => {
    await withHarness({ policy: DECRYPT_POLICY, interception: {} }, async (h) => {
      const received = takingOrigin(h, "10.0.0.1", 443, (o) => o.end());
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
      void c.write(`POST /up HTTP/1.1\r\nHost: origin.test\r\n${POST}`);
      assert.equal((await readResponse(c)).head.status, 502);
      await hangUp(c);
      await h.finish();
      assert.equal(received(), BODY.length, "the origin got the whole body");
      const q = h.requestRecords[0];
      assert.equal(q?.status, 502);
      assert.ok((q?.bytesUp ?? 0) >= BODY.length, `request line bytesUp is ${q?.bytesUp}, the origin received ${received()} body bytes`);
      assert.ok(h.record().bytesUp >= BODY.length, `flow line bytesUp is ${h.record().bytesUp}`);
    });
  });

  it("decrypted: the origin takes 100 kB and answers with a type a url rule denies (403)", async () => {
    const rules: UrlRuleDefinition[] = [{ id: "no-exe", responseTypes: ["application/x-msdownload"], action: "deny", log: true }];
    await withHarness({ policy: DECRYPT_POLICY, interception: { urlRules: rules } }, async (h) => {
      takingOrigin(h, "10.0.0.1", 443, (o) => o.write("HTTP/1.1 200 OK\r\nContent-Type: application/x-msdownload\r\nContent-Length: 2\r\n\r\nMZ"));
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
      void c.write(`POST /up HTTP/1.1\r\nHost: origin.test\r\n${POST}`);
      assert.equal((await readResponse(c)).head.status, 403);
      await hangUp(c);
      await h.finish();
      const q = h.requestRecords[0];
      assert.deepEqual([q?.status, q?.rule], [403, "no-exe"]);
      assert.ok((q?.bytesUp ?? 0) >= BODY.length, `request line bytesUp is ${q?.bytesUp}`);
    });
  });

  it("reverse: a backend takes 100 kB and closes without answering (502)", async () => {
    await withHarness({}, async (h) => {
      const received = takingOrigin(h, "10.0.0.1", 80, (o) => o.end());
      const s = state([route("a", ["a.test"], "p")], { p: { backends: ["http://10.0.0.1"] } });
      const { c, done } = open(h, s);
      void c.write(`POST /up HTTP/1.1\r\nHost: a.test\r\n${POST}`);
      assert.equal((await readResponse(c)).head.status, 502);
      await close(c, done);
      assert.equal(received(), BODY.length, "the backend got the whole body");
      const q = h.requestRecords[0];
      assert.equal(q?.status, 502);
      assert.ok((q?.bytesUp ?? 0) >= BODY.length, `request line bytesUp is ${q?.bytesUp}`);
      assert.ok(h.record().bytesUp >= BODY.length, `flow line bytesUp is ${h.record().bytesUp}`);
    });
  });
});
