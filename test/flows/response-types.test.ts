import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { UrlRuleDefinition } from "../../src/policy/types.ts";
import { DECRYPT_POLICY, ESTABLISHED, type FlowHarness, okResponse, readResponse, refusal, withHarness, within } from "../helpers/flow-harness.ts";

/** Streaming denied, except from the partner's host; executables (and content of no type) denied. */
const URL_RULES: UrlRuleDefinition[] = [
  { id: "partner-video", hosts: ["partner.test"], responseTypes: ["video/*"], action: "allow", log: true },
  { id: "no-video", responseTypes: ["video/*"], action: "deny", log: true, message: "No streaming at work." },
  { id: "no-exe", responseTypes: ["application/x-msdownload", "application/octet-stream"], action: "deny", log: true },
];

/** A response of `type` (no Content-Type when null) with a body of `size` bytes. */
function typed(type: string | null, size = 5000, status = "200 OK"): string {
  return `HTTP/1.1 ${status}\r\n${type === null ? "" : `Content-Type: ${type}\r\n`}Content-Length: ${size}\r\n\r\n${"v".repeat(size)}`;
}

/** An origin at `address`:`port` that answers each request with the next of `responses` until the connection ends. */
function origin(h: FlowHarness, address: string, port: number, responses: readonly string[], closed?: { value: boolean }): void {
  h.origin(address, port, async (o) => {
    for (const response of responses) {
      const head = await o.readHead().catch(() => undefined);
      if (!head) return;
      const length = Number(head.get("content-length") ?? 0);
      if (length > 0 && length <= 1024) await o.readBytes(length);
      await o.write(response).catch(() => {});
    }
    await o.readToEndOrReset();
    if (closed) closed.value = true;
  });
}

describe("url rules with responseTypes on plain HTTP", () => {
  it("a response of a denied type is replaced by the block page; the origin's body never reaches the client", async () => {
    await withHarness({ urlRules: URL_RULES }, async (h) => {
      const closed = { value: false };
      origin(h, "10.0.0.1", 80, [typed("video/mp4; codecs=avc1")], closed);
      const c = h.client();
      await c.write("GET http://origin.test/movie HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const a = await refusal(c);
      await h.finish();
      assert.equal(a.status, 403);
      assert.match(a.body, /url rule "no-video" matched response type "video\/mp4" \(pattern "video\/\*"\)/);
      assert.match(a.body, /No streaming at work\./);
      assert.doesNotMatch(a.body, /vvvv/);
      assert.equal(closed.value, true, "the origin's connection was closed");
      const r = h.record();
      assert.deepEqual([r.decision, r.rule, r.status, r.end], ["deny", "no-video", 403, "denied"]);
      assert.match(r.reason ?? "", /^url rule "no-video" matched response type "video\/mp4"/);
    });
  });

  it("other types pass untouched; an allow ahead of the deny is an exception named in the flow line", async () => {
    await withHarness({ urlRules: URL_RULES, hosts: { "partner.test": ["10.0.0.9"] } }, async (h) => {
      origin(h, "10.0.0.1", 80, [okResponse("<p>hi</p>", "Content-Type: text/html\r\n")]);
      origin(h, "10.0.0.9", 80, [typed("video/webm", 100)]);
      const c = h.client();
      await c.write("GET http://origin.test/page HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "<p>hi</p>");
      await c.end();
      await c.readToEndOrReset();
      const p = h.client();
      await p.write("GET http://partner.test/live HTTP/1.1\r\nHost: partner.test\r\n\r\n");
      const res = await readResponse(p);
      await p.end();
      await p.readToEndOrReset();
      await h.finish();
      assert.equal(res.head.status, 200);
      assert.equal(res.body.length, 100);
      assert.deepEqual(h.records.map((r) => [r.decision, r.rule]), [["allow", "allow-test"], ["allow", "partner-video"]]);
      assert.match(h.records[1]?.reason ?? "", /^url rule "partner-video" matched host "partner\.test" and response type "video\/webm"/);
    });
  });

  it("content without a Content-Type is read as application/octet-stream; a 204 or 304 without one is not checked", async () => {
    await withHarness({ urlRules: URL_RULES }, async (h) => {
      origin(h, "10.0.0.1", 80, ["HTTP/1.1 204 No Content\r\n\r\n", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", typed(null, 300)]);
      const c = h.client();
      await c.write("GET http://origin.test/a HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).head.status, 204);
      await c.write("GET http://origin.test/b HTTP/1.1\r\nHost: origin.test\r\nIf-None-Match: \"x\"\r\n\r\n");
      assert.equal((await readResponse(c)).head.status, 304);
      await c.write("GET http://origin.test/setup HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const a = await refusal(c);
      await h.finish();
      assert.equal(a.status, 403);
      assert.match(a.body, /url rule "no-exe" matched response type "application\/octet-stream"/);
    });
  });

  it("a response that comes while the upload still runs is refused at once; nothing hangs", async () => {
    await withHarness({ urlRules: URL_RULES }, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write(typed("video/mp4", 50_000)).catch(() => {});
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("POST http://origin.test/upload HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 1000000\r\n\r\n" + "u".repeat(1000));
      const head = await within(c.readHead(), 1500, "the block page");
      assert.equal(head.status, 403);
      await c.readBytes(Number(head.get("content-length")));
      await c.end().catch(() => {});
      await within(c.readToEndOrReset(), 3000, "the end of the connection");
      await h.finish();
      assert.equal(h.record().rule, "no-video");
    });
  });
});

describe("url rules with responseTypes on decrypted connections", () => {
  it("requests before go through on the same session; the denied response ends it with the block page and a request line", async () => {
    await withHarness({ policy: DECRYPT_POLICY, interception: { urlRules: URL_RULES } }, async (h) => {
      const closed = { value: false };
      origin(h, "10.0.0.1", 443, [okResponse("{}", "Content-Type: application/json\r\n"), typed("application/x-msdownload")], closed);
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200 to the CONNECT"), ESTABLISHED);
      await c.write("GET /api HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "{}");
      await c.write("GET /tool.exe HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const a = await refusal(c);
      await h.finish();
      assert.equal(a.status, 403);
      assert.match(a.body, /url rule "no-exe" matched response type "application\/x-msdownload"/);
      assert.equal(closed.value, true);
      assert.deepEqual(h.requestRecords.map((q) => [q.decision, q.rule, q.status]), [["allow", "default", 200], ["deny", "no-exe", 403]]);
      assert.equal(h.record().end, "denied");
    });
  });

  const DENY_ALL = { policy: DECRYPT_POLICY, interception: { urlRules: [{ id: "deny-all", responseTypes: ["*/*"], action: "deny" as const }] } };

  it("HEAD is checked by the type it announces", async () => {
    await withHarness(DENY_ALL, async (h) => {
      origin(h, "10.0.0.1", 443, ["HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 99\r\n\r\n"]);
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      await within(c.readText(ESTABLISHED.length), 1500, "200 to the CONNECT");
      await c.write("HEAD /movie HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const head = await within(c.readHead(), 1500, "answer");
      assert.equal(head.status, 403);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
    });
  });

  it("a 101 that switches protocols is not checked", async () => {
    await withHarness(DENY_ALL, async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Type: video/mp4\r\n\r\n");
        await o.write("frames");
        await o.readToEnd();
        await o.end();
      });
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      await within(c.readText(ESTABLISHED.length), 1500, "200 to the CONNECT");
      await c.write("GET /ws HTTP/1.1\r\nHost: origin.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
      assert.equal((await within(c.readHead(), 1500, "101")).status, 101);
      assert.equal(await within(c.readText(6), 1500, "frames"), "frames");
      await c.end();
      await c.readToEnd();
      await h.finish();
      assert.deepEqual(h.requestRecords.map((q) => [q.rule, q.status]), [["default", 101]]);
    });
  });
});
