import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TlsValidationError } from "../../src/core/tls.ts";
import type { FlowRecord, RequestRecord } from "../../src/log/flow-record.ts";
import {
  dec,
  DECRYPT_POLICY,
  ESTABLISHED,
  type FakeInterceptionOptions,
  type FlowHarness,
  okResponse,
  type ParsedHead,
  type Peer,
  readResponse,
  serveRequests,
  withHarness,
  within,
} from "../helpers/flow-harness.ts";

const CONNECT = "CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n";
const REQ_BODY = "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 11\r\n\r\n";
const RES_BODY = "4\r\nwiki\r\n5\r\npedia\r\n0\r\nX-Checksum: 9\r\n\r\n";

function decrypting(interception: FakeInterceptionOptions = {}) {
  return { policy: DECRYPT_POLICY, interception };
}

async function establish(c: Peer, split?: readonly number[]): Promise<void> {
  if (split) await c.writeSplit(CONNECT, split);
  else await c.write(CONNECT);
  assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200 to the CONNECT"), ESTABLISHED);
}

async function hangUp(c: Peer): Promise<void> {
  await c.end();
  assert.equal(dec.decode((await c.readToEndOrReset()).data), "");
}

/**
 * An origin on 10.0.0.1:443 answering by path until the proxy ends the connection:
 * `/text/*` a text body, `POST /upload` reads REQ_BODY and answers RES_BODY chunked,
 * `HEAD` a Content-Length with no body, `/204`, `/304` (with a Content-Length, no body).
 */
function scriptedOrigin(h: FlowHarness, seen: ParsedHead[]): void {
  h.origin("10.0.0.1", 443, async (o) => {
    for (;;) {
      let head: ParsedHead;
      try {
        head = await o.readHead();
      } catch {
        return; // the proxy closed the connection
      }
      seen.push(head);
      const [method = "", path = ""] = head.startLine.split(" ");
      if (method === "HEAD") await o.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
      else if (path === "/upload") {
        assert.equal(await o.readText(REQ_BODY.length), REQ_BODY);
        await o.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n${RES_BODY}`);
      } else if (path === "/204") await o.write("HTTP/1.1 204 No Content\r\nX-Empty: yes\r\n\r\n");
      else if (path === "/304") await o.write('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 42\r\n\r\n');
      else await o.write(okResponse(`text ${path}`));
    }
  });
}

/** Comparable parts of a record: without times and the client port (whether a header time is there stays). */
function stable(r: FlowRecord | RequestRecord): Record<string, unknown> {
  const { time: _t, durationMs: _d, headerMs, client: _c, ...rest } = r;
  return { ...rest, headerMs: headerMs === null ? null : "set" };
}

/**
 * One decrypted conversation with every kind of response, the client side written in
 * pieces of `split` sizes (or whole writes), requests pipelined. Returns what the client read.
 */
async function conversation(split: readonly number[] | undefined) {
  let transcript = "";
  let statuses: number[] = [];
  const seen: ParsedHead[] = [];
  let h!: FlowHarness;
  await withHarness(decrypting(), async (harness) => {
    h = harness;
    scriptedOrigin(h, seen);
    const c = h.client();
    await establish(c, split);
    const requests =
      "GET /text/one HTTP/1.1\r\nHost: origin.test\r\n\r\n" +
      `POST /upload HTTP/1.1\r\nHost: origin.test\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n${REQ_BODY}` +
      "HEAD /text/head HTTP/1.1\r\nHost: origin.test\r\n\r\n" +
      "GET /204 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n" +
      'GET /304 HTTP/1.1\r\nHost: origin.test\r\nIf-None-Match: "v1"\r\n\r\n' +
      "GET /text/last HTTP/1.1\r\nHost: origin.test\r\n\r\n";
    if (split) await c.writeSplit(requests, split);
    else await c.write(requests);

    const one = await readResponse(c);
    assert.equal(one.body, "text /text/one");
    const chunked = await within(c.readHead(), 1500, "chunked response head");
    assert.equal(chunked.status, 200);
    assert.equal(chunked.get("transfer-encoding"), "chunked");
    const chunkedBody = await within(c.readUntil("0\r\nX-Checksum: 9\r\n\r\n"), 1500, "chunked body with trailer");
    assert.equal(chunkedBody, RES_BODY);
    const head = await within(c.readHead(), 1500, "HEAD response");
    assert.equal(head.status, 200);
    assert.equal(head.get("content-length"), "1000");
    const noContent = await within(c.readHead(), 1500, "204");
    assert.equal(noContent.status, 204);
    assert.equal(noContent.get("x-empty"), "yes");
    const notModified = await within(c.readHead(), 1500, "304");
    assert.equal(notModified.status, 304);
    const last = await readResponse(c);
    assert.equal(last.body, "text /text/last");
    statuses = [one.head, chunked, head, noContent, notModified, last.head].map((x) => x.status);
    transcript = one.head.raw + one.body + chunked.raw + chunkedBody + head.raw + noContent.raw + notModified.raw + last.head.raw + last.body;
    await hangUp(c);
  });
  return { transcript, statuses, seen, records: h.requestRecords, flow: h.record(), connects: h.tls.connects.length };
}

describe("interception: the decrypted HTTP/1.1 loop", () => {
  it("pipelined requests in one write are answered in order, each logged", async () => {
    await withHarness(decrypting(), async (h) => {
      const seen: ParsedHead[] = [];
      serveRequests(h, "10.0.0.1", 443, ["first", "second"], seen);
      const c = h.client();
      await establish(c);
      await c.write("GET /a HTTP/1.1\r\nHost: origin.test\r\n\r\nGET /b?x=1 HTTP/1.1\r\nHost: origin.test\r\nX-N: 2\r\n\r\n");
      const a = await readResponse(c);
      const b = await readResponse(c);
      assert.equal(a.body, "first");
      assert.equal(b.body, "second");
      await hangUp(c);
      await h.finish();
      assert.deepEqual(seen.map((s) => s.startLine), ["GET /a HTTP/1.1", "GET /b?x=1 HTTP/1.1"]);
      assert.equal(seen[1]?.get("x-n"), "2");
      assert.equal(seen[0]?.get("host"), "origin.test");
      assert.equal(seen[0]?.get("via"), "1.1 tollgate");
      assert.deepEqual(
        h.requestRecords.map((q) => [q.method, q.url, q.status, q.decision, q.rule, q.bytesUp, q.bytesDown]),
        [
          ["GET", "https://origin.test/a", 200, "allow", "default", seen[0]?.raw.length, a.bytes],
          ["GET", "https://origin.test/b?x=1", 200, "allow", "default", seen[1]?.raw.length, b.bytes],
        ],
      );
      for (const q of h.requestRecords) {
        assert.equal(q.host, "origin.test");
        assert.equal(q.port, 443);
        assert.equal(q.error, null);
        assert.equal(q.listener, "test");
        assert.equal(q.client, "127.0.0.1:50000");
      }
      const r = h.record();
      assert.equal(r.kind, "connect");
      assert.equal(r.decryption, "decrypt");
      assert.equal(r.requests, 2);
      assert.equal(r.bytesUp, (seen[0]?.raw.length ?? 0) + (seen[1]?.raw.length ?? 0));
      assert.equal(r.bytesDown, a.bytes + b.bytes);
      assert.equal(r.end, "eof");
      assert.equal(r.error, null);
      assert.equal(h.tls.connects.length, 1);
    });
  });

  it("chunked bodies with trailers both ways, HEAD, 204 and 304 on one connection", async () => {
    const { transcript, statuses, seen, records, flow } = await conversation(undefined);
    assert.deepEqual(seen.map((s) => s.startLine), [
      "GET /text/one HTTP/1.1",
      "POST /upload HTTP/1.1",
      "HEAD /text/head HTTP/1.1",
      "GET /204 HTTP/1.1",
      "GET /304 HTTP/1.1",
      "GET /text/last HTTP/1.1",
    ]);
    assert.equal(seen[1]?.get("transfer-encoding"), "chunked");
    assert.equal(seen[4]?.get("if-none-match"), '"v1"');
    assert.deepEqual(statuses, [200, 200, 200, 204, 304, 200]);
    assert.deepEqual(records.map((q) => [q.method, q.url, q.status]), [
      ["GET", "https://origin.test/text/one", 200],
      ["POST", "https://origin.test/upload", 200],
      ["HEAD", "https://origin.test/text/head", 200],
      ["GET", "https://origin.test/204", 204],
      ["GET", "https://origin.test/304", 304],
      ["GET", "https://origin.test/text/last", 200],
    ]);
    assert.equal(records[1]?.bytesUp, (seen[1]?.raw.length ?? 0) + REQ_BODY.length);
    assert.equal(flow.requests, 6);
    assert.equal(flow.bytesUp, records.reduce((n, q) => n + q.bytesUp, 0));
    assert.equal(flow.bytesDown, records.reduce((n, q) => n + q.bytesDown, 0));
    assert.equal(flow.bytesDown, new TextEncoder().encode(transcript).byteLength);
  });

  it("the client side fed one byte at a time (and in odd pieces) gives the same results", async () => {
    const whole = await conversation(undefined);
    for (const split of [[1], [2, 7, 1, 13]]) {
      const pieces = await conversation(split);
      assert.equal(pieces.transcript, whole.transcript, `split ${split.join(",")}`);
      assert.deepEqual(pieces.seen.map((s) => s.raw), whole.seen.map((s) => s.raw));
      assert.deepEqual(pieces.records.map(stable), whole.records.map(stable));
      assert.deepEqual(stable(pieces.flow), stable(whole.flow));
      assert.equal(pieces.connects, 1);
    }
  });

  it("Upgrade: the 101 is passed on, then bytes are relayed both ways", async () => {
    await withHarness(decrypting(), async (h) => {
      let seen: ParsedHead | undefined;
      h.origin("10.0.0.1", 443, async (o) => {
        seen = await o.readHead();
        await o.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nserver-first|");
        assert.equal(await o.readText(5), "ping|");
        await o.write("pong|");
        assert.equal(dec.decode(await o.readToEnd()), "bye");
        await o.end();
      });
      const c = h.client();
      await establish(c);
      await c.write("GET /ws HTTP/1.1\r\nHost: origin.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: abc\r\n\r\n");
      const head = await within(c.readHead(), 1500, "101");
      assert.equal(head.status, 101);
      assert.equal(head.get("upgrade"), "websocket");
      assert.match(head.get("connection") ?? "", /upgrade/i);
      assert.equal(await c.readText(13), "server-first|");
      await c.write("ping|");
      assert.equal(await c.readText(5), "pong|");
      await c.write("bye");
      await c.end();
      assert.equal((await c.readToEnd()).byteLength, 0);
      await h.finish();
      assert.equal(seen?.get("upgrade"), "websocket");
      assert.equal(seen?.get("sec-websocket-key"), "abc");
      assert.deepEqual(h.requestRecords.map((q) => [q.url, q.status]), [["https://origin.test/ws", 101]]);
      const r = h.record();
      assert.equal(r.requests, 1);
      assert.equal(r.bytesUp, (seen?.raw.length ?? 0) + "ping|bye".length);
      assert.equal(r.bytesDown, head.raw.length + "server-first|pong|".length);
    });
  });

  it("a Host naming another server: 421, connection closed, nothing forwarded", async () => {
    for (const host of ["evil.test", "origin.test:8443", "origin.test.evil.test", "[::1]:443"]) {
      await withHarness(decrypting(), async (h) => {
        const seen: ParsedHead[] = [];
        serveRequests(h, "10.0.0.1", 443, [], seen);
        const c = h.client();
        await establish(c);
        // a pipelined second request must not be forwarded either
        await c.write(`GET /x HTTP/1.1\r\nHost: ${host}\r\n\r\nGET /y HTTP/1.1\r\nHost: origin.test\r\n\r\n`);
        const head = await within(c.readHead(), 1500, "421");
        assert.equal(head.status, 421, host);
        assert.match(head.get("connection") ?? "", /close/);
        const body = dec.decode(await c.readBytes(Number(head.get("content-length"))));
        assert.match(body, /does not match/);
        await c.end();
        assert.equal(dec.decode((await c.readToEndOrReset()).data), "", "anything after the 421");
        await h.finish();
        assert.deepEqual(seen, []);
        assert.deepEqual(h.requestRecords.map((q) => [q.status, q.decision, q.rule, q.url]), [[421, "deny", "host-mismatch", "https://origin.test/x"]]);
        const r = h.record();
        assert.equal(r.end, "denied");
        assert.equal(r.requests, 1);
      });
    }
  });

  it("a Host that normalises to the CONNECT host is accepted", async () => {
    await withHarness(decrypting(), async (h) => {
      const seen: ParsedHead[] = [];
      serveRequests(h, "10.0.0.1", 443, ["a", "b"], seen);
      const c = h.client();
      await establish(c);
      await c.write("GET / HTTP/1.1\r\nHost: ORIGIN.Test.\r\n\r\nGET / HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      assert.equal((await readResponse(c)).body, "a");
      assert.equal((await readResponse(c)).body, "b");
      await hangUp(c);
      await h.finish();
      assert.equal(seen.length, 2);
    });
  });

  it("absolute-form with the CONNECT host's authority is allowed and sent in origin-form", async () => {
    await withHarness(decrypting(), async (h) => {
      const seen: ParsedHead[] = [];
      serveRequests(h, "10.0.0.1", 443, ["abs", "abs2"], seen);
      const c = h.client();
      await establish(c);
      await c.write("GET https://origin.test/abs?q=1 HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "abs");
      await c.write("GET https://ORIGIN.test:443/two HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "abs2");
      await hangUp(c);
      await h.finish();
      assert.deepEqual(seen.map((s) => s.startLine), ["GET /abs?q=1 HTTP/1.1", "GET /two HTTP/1.1"]);
      assert.equal(seen[0]?.get("host"), "origin.test");
      assert.deepEqual(h.requestRecords.map((q) => q.url), ["https://origin.test/abs?q=1", "https://origin.test/two"]);
    });
  });

  it("a HEAD with a Host naming another server: the 421 head alone, then the end", async () => {
    await withHarness(decrypting(), async (h) => {
      serveRequests(h, "10.0.0.1", 443, []);
      const c = h.client();
      await establish(c);
      await c.write("HEAD /x HTTP/1.1\r\nHost: evil.test\r\n\r\n");
      const head = await within(c.readHead(), 1500, "421");
      assert.equal(head.status, 421);
      assert.ok(Number(head.get("content-length")) > 0, "the length the body would have");
      await c.end();
      assert.equal(dec.decode((await c.readToEndOrReset()).data), "", "no body after the head");
      await h.finish();
      assert.deepEqual(h.requestRecords.map((q) => [q.method, q.status]), [["HEAD", 421]]);
    });
  });

  it("absolute-form naming another authority: 421", async () => {
    await withHarness(decrypting(), async (h) => {
      const seen: ParsedHead[] = [];
      serveRequests(h, "10.0.0.1", 443, [], seen);
      const c = h.client();
      await establish(c);
      await c.write("GET https://evil.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await within(c.readHead(), 1500, "421")).status, 421);
      await hangUp(c).catch(() => {});
      await h.finish();
      assert.deepEqual(seen, []);
      assert.equal(h.requestRecords[0]?.rule, "host-mismatch");
    });
  });

  it("a URL rule deny: 403 naming the url rule, logged with the rule id, connection closed", async () => {
    const urlRules = [
      { id: "no-admin", hosts: ["origin.test"], paths: ["/admin"], action: "deny" as const, log: true },
      { id: "quiet", paths: ["/quiet"], action: "allow" as const, log: false },
    ];
    await withHarness(decrypting({ urlRules }), async (h) => {
      const seen: ParsedHead[] = [];
      serveRequests(h, "10.0.0.1", 443, ["public", "quiet"], seen);
      const c = h.client();
      await establish(c);
      await c.write("GET /public HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "public");
      await c.write("GET /quiet HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "quiet");
      await c.write("GET /admin/users?id=1 HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const head = await within(c.readHead(), 1500, "403");
      assert.equal(head.status, 403);
      const body = dec.decode(await c.readBytes(Number(head.get("content-length"))));
      assert.match(body, /url rule "no-admin"/);
      assert.match(head.get("proxy-status") ?? "", /destination_denied/);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(seen.map((s) => s.startLine), ["GET /public HTTP/1.1", "GET /quiet HTTP/1.1"]);
      // the quiet rule's request is not logged; the default one is (the connection's rule logs)
      assert.deepEqual(
        h.requestRecords.map((q) => [q.url, q.status, q.decision, q.rule]),
        [
          ["https://origin.test/public", 200, "allow", "default"],
          ["https://origin.test/admin/users?id=1", 403, "deny", "no-admin"],
        ],
      );
      assert.match(h.requestRecords[1]?.reason ?? "", /no-admin/);
      const r = h.record();
      assert.equal(r.requests, 3);
      assert.equal(r.end, "denied");
    });
  });

  it("a URL rule deny holds for paths an origin reads as the same one: merged slashes, ;params, encoded slashes", async () => {
    const urlRules = [{ id: "no-admin", hosts: ["origin.test"], paths: ["/admin"], action: "deny" as const, log: true }];
    for (const path of ["//admin", "/.//admin", "/;x/admin", "/%2fadmin", "/public//..//admin/x"]) {
      await withHarness(decrypting({ urlRules }), async (h) => {
        let reached = "";
        h.origin("10.0.0.1", 443, async (o) => void (reached = dec.decode((await o.readToEndOrReset()).data)));
        const c = h.client();
        await establish(c);
        await c.write(`GET ${path} HTTP/1.1\r\nHost: origin.test\r\n\r\n`);
        const head = await within(c.readHead(), 1500, "403");
        assert.equal(head.status, 403, path);
        await c.end();
        await c.readToEndOrReset();
        await h.finish();
        assert.equal(reached, "", `${path}: nothing reached the origin`);
      });
    }
  });

  it("a CONNECT (or OPTIONS *) inside the decrypted connection: 405, nothing reaches the origin", async () => {
    for (const line of ["CONNECT evil.test:443 HTTP/1.1\r\nHost: origin.test", "OPTIONS * HTTP/1.1\r\nHost: origin.test"]) {
      await withHarness(decrypting(), async (h) => {
        let reached = "";
        h.origin("10.0.0.1", 443, async (o) => void (reached = dec.decode((await o.readToEndOrReset()).data)));
        const c = h.client();
        await establish(c);
        await c.write(`${line}\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\ntunnelled!`);
        const head = await within(c.readHead(), 1500, "405");
        assert.equal(head.status, 405, line);
        await c.end();
        await c.readToEndOrReset();
        await h.finish();
        assert.equal(reached, "", line);
        assert.deepEqual(h.requestRecords.map((q) => [q.status, q.rule]), [[405, "method"]]);
      });
    }
  });

  it("the origin closing a kept-alive connection between requests: the next one reconnects", async () => {
    for (const how of ["FIN", "Connection: close"] as const) {
      await withHarness(decrypting(), async (h) => {
        let n = 0;
        h.origin("10.0.0.1", 443, async (o) => {
          const mine = ++n;
          await o.readHead();
          if (how === "FIN") {
            await o.write(okResponse(`conn ${mine}`));
            await o.end(); // keep-alive timeout: FIN without a Connection: close
          } else {
            await o.write(okResponse(`conn ${mine}`, "Connection: close\r\n"));
          }
          await o.readToEndOrReset();
        });
        const c = h.client();
        await establish(c);
        await c.write("GET /1 HTTP/1.1\r\nHost: origin.test\r\n\r\n");
        assert.equal((await readResponse(c)).body, "conn 1");
        await new Promise((r) => setTimeout(r, 5));
        await c.write("GET /2 HTTP/1.1\r\nHost: origin.test\r\n\r\n");
        const second = await readResponse(c);
        assert.equal(second.head.status, 200, how);
        assert.equal(second.body, "conn 2", how);
        await hangUp(c);
        await h.finish();
        assert.equal(h.tls.connects.length, 2, how);
        assert.deepEqual(h.tls.connects[1], h.tls.connects[0]);
        assert.deepEqual(h.tls.leaves.length, 1, "a reconnect must not mint again");
        assert.deepEqual(h.requestRecords.map((q) => q.status), [200, 200]);
        assert.equal(h.record().requests, 2);
      });
    }
  });

  it("an origin that closes after its 100 Continue: 502 to that request, logged as 502", async () => {
    await withHarness(decrypting(), async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 100 Continue\r\n\r\n");
        assert.equal(await o.readText(4), "data");
        await o.end();
        await o.readToEndOrReset();
      });
      const c = h.client();
      await establish(c);
      await c.write("PUT /f HTTP/1.1\r\nHost: origin.test\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
      assert.equal((await within(c.readHead(), 1500, "100 Continue")).status, 100);
      await c.write("data");
      const res = await within(readResponse(c), 1500, "502");
      assert.equal(res.head.status, 502, res.body);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(h.requestRecords.map((q) => q.status), [502]);
      assert.equal(h.record().end, "error");
    });
  });

  it("a reconnect that fails validation: 502 to that request, logged, connection closed", async () => {
    await withHarness(decrypting(), async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        await o.readHead();
        await o.write(okResponse("once", "Connection: close\r\n"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await establish(c);
      await c.write("GET /1 HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "once");
      h.tls.beforeConnect = () => {
        throw new TlsValidationError("CERT_HAS_EXPIRED", "certificate has expired");
      };
      await c.write("GET /2 HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const head = await within(c.readHead(), 1500, "502");
      assert.equal(head.status, 502);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.tls.connects.length, 2);
      assert.deepEqual(h.tls.leaves.length, 1);
      assert.deepEqual(h.requestRecords.map((q) => q.status), [200, 502]);
      assert.match(h.requestRecords[1]?.error ?? "", /certificate has expired/);
      assert.equal(h.record().end, "error");
    });
  });
});
