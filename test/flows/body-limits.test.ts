import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { UrlRuleDefinition } from "../../src/policy/types.ts";
import { DECRYPT_POLICY, ESTABLISHED, type FlowHarness, okResponse, type Peer, readResponse, refusal, withHarness, within } from "../helpers/flow-harness.ts";

/** Uploads at most 1000 bytes, downloads at most 2000; other.test unlimited (an exception ahead). */
const URL_RULES: UrlRuleDefinition[] = [
  { id: "partner", hosts: ["other.test"], action: "allow", log: true },
  { id: "small", action: "allow", log: true, maxRequestBytes: 1000, maxResponseBytes: 2000, message: "Use the file service for large files." },
];

/** A chunked body of `n` bytes in chunks of 100, with its last chunk. */
function chunked(n: number): string {
  let out = "";
  for (let left = n; left > 0; left -= 100) out += `${Math.min(100, left).toString(16)}\r\n${"c".repeat(Math.min(100, left))}\r\n`;
  return out + "0\r\n\r\n";
}

interface Seen {
  head?: boolean;
  /** Bytes of the request body (a chunked one with its framing) the origin read. */
  body: number;
}

/**
 * An origin that reads one request (head, and its body: of Content-Length, or chunked to its
 * last chunk, or to the end of the connection with `cut`) and answers `response`.
 */
function origin(h: FlowHarness, port: number, response: string, seen: Seen, cut = false): void {
  h.origin("10.0.0.1", port, async (o) => {
    const head = await o.readHead().catch(() => undefined);
    if (!head) return;
    seen.head = true;
    const length = Number(head.get("content-length") ?? 0);
    if (length > 0) seen.body += (await o.readBytes(length)).byteLength;
    if (head.get("transfer-encoding") === "chunked") {
      if (cut) return void (seen.body += (await o.readToEndOrReset()).data.byteLength);
      seen.body += (await o.readUntil("\r\n0\r\n\r\n")).length;
    }
    await o.write(response).catch(() => {});
    await o.readToEndOrReset();
  });
}

async function connect(c: Peer): Promise<void> {
  await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
  assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200 to the CONNECT"), ESTABLISHED);
}

describe("url rules' body limits on plain HTTP", () => {
  it("an upload announced over the limit gets 413 with the rule, its message and both sizes; the origin gets nothing", async () => {
    await withHarness({ urlRules: URL_RULES }, async (h) => {
      const seen: Seen = { body: 0 };
      origin(h, 80, okResponse("ok"), seen);
      const c = h.client();
      await c.write(`POST http://origin.test/up HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 1001\r\n\r\n${"u".repeat(1001)}`);
      const a = await refusal(c);
      await h.finish();
      assert.equal(a.status, 413);
      assert.match(a.body, /url rule "small" allows request bodies of up to 1000 bytes; this one has 1001 bytes/);
      assert.match(a.body, /Use the file service for large files\./);
      assert.equal(seen.head, undefined, "the request never went up");
      const r = h.record();
      assert.deepEqual([r.decision, r.rule, r.status], ["deny", "small", 413]);
    });
  });

  it("an upload of unknown length is counted: past the limit the client gets 413 and the origin a cut-off body", async () => {
    await withHarness({ urlRules: URL_RULES }, async (h) => {
      const seen: Seen = { body: 0 };
      origin(h, 80, okResponse("ok"), seen, true);
      const c = h.client();
      await c.write(`POST http://origin.test/up HTTP/1.1\r\nHost: origin.test\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(5000)}`);
      const a = await refusal(c);
      await h.finish();
      assert.equal(a.status, 413);
      assert.match(a.body, /allows request bodies of up to 1000 bytes; this one went past it/);
      assert.equal(seen.head, true);
      assert.ok(seen.body < 1200, `the origin got ${seen.body} bytes of framing and data, at most the limit's worth`);
    });
  });

  it("bodies up to the limit pass, both ways; an exception ahead has none", async () => {
    await withHarness({ urlRules: URL_RULES }, async (h) => {
      const seen: Seen = { body: 0 };
      origin(h, 80, okResponse("d".repeat(2000)), seen);
      const c = h.client();
      await c.write(`POST http://origin.test/up HTTP/1.1\r\nHost: origin.test\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(1000)}`);
      const res = await readResponse(c);
      await c.end();
      await c.readToEndOrReset();
      assert.equal(res.body.length, 2000);
      const other = { body: 0 };
      h.origin("10.0.0.2", 80, async (o) => {
        const head = await o.readHead();
        other.body = (await o.readBytes(Number(head.get("content-length")))).byteLength;
        await o.write(okResponse("x".repeat(5000)));
        await o.readToEndOrReset();
      });
      const p = h.client();
      await p.write(`POST http://other.test/up HTTP/1.1\r\nHost: other.test\r\nContent-Length: 5000\r\n\r\n${"u".repeat(5000)}`);
      assert.equal((await readResponse(p)).body.length, 5000);
      await p.end();
      await p.readToEndOrReset();
      await h.finish();
      assert.equal(other.body, 5000);
      assert.deepEqual(h.records.map((r) => [r.rule, r.status]), [["small", 200], ["partner", 200]]);
    });
  });
});

describe("url rules' body limits on decrypted connections", () => {
  it("a response announced over the limit is replaced by a 413 page; the origin's connection is closed unread", async () => {
    await withHarness({ policy: DECRYPT_POLICY, interception: { urlRules: URL_RULES } }, async (h) => {
      const seen: Seen = { body: 0 };
      origin(h, 443, okResponse("d".repeat(2001)), seen);
      const c = h.client();
      await connect(c);
      await c.write("GET /big HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const a = await refusal(c);
      await h.finish();
      assert.equal(a.status, 413);
      assert.match(a.body, /url rule "small" allows response bodies of up to 2\.0 KiB \(2000 bytes\); this one has 2\.0 KiB \(2001 bytes\)/);
      assert.deepEqual(h.requestRecords.map((q) => [q.decision, q.rule, q.status]), [["deny", "small", 413]]);
    });
  });

  it("a response of unknown length is cut off at the limit; the request line says why", async () => {
    await withHarness({ policy: DECRYPT_POLICY, interception: { urlRules: URL_RULES } }, async (h) => {
      const seen: Seen = { body: 0 };
      origin(h, 443, `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(5000)}`, seen);
      const c = h.client();
      await connect(c);
      await c.write("GET /stream HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const head = await within(c.readHead(), 1500, "the origin's head");
      assert.equal(head.status, 200);
      const rest = (await within(c.readToEndOrReset(), 3000, "the cut")).data;
      await h.finish();
      assert.ok(rest.byteLength <= 2400, `no more than the limit and its chunk framing got through (${rest.byteLength} bytes)`);
      const [q] = h.requestRecords;
      assert.deepEqual([q?.decision, q?.rule, q?.status], ["deny", "small", 200]);
      assert.match(q?.error ?? "", /allows response bodies of up to 2\.0 KiB \(2000 bytes\); this one went past it/);
      assert.equal(h.record().end, "error");
    });
  });
});
