/**
 * Connections that must not be used again after an exchange, because what comes next on them
 * is no longer the next request's answer: an upstream that answered before the request body
 * was all sent (it may take the rest for a request), and one that switched protocols no one
 * asked for. Over the explicit proxy and through a reverse pool shared by clients.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chunkedUploadOrigin, okResponse, type ParsedHead, type Peer, readResponse, within, withHarness } from "../helpers/flow-harness.ts";
import { close, open, route, state } from "../helpers/reverse-harness.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Calls `serve` with each request head on `o` until the connection ends. */
async function eachRequest(o: Peer, serve: (head: ParsedHead) => Promise<void>): Promise<void> {
  for (;;) {
    let head: ParsedHead;
    try {
      head = await o.readHead();
    } catch {
      return;
    }
    await serve(head);
  }
}

/** Answers each request `answer to <path>` until the connection ends, noting its start line in `seen`. */
function answerEach(o: Peer, seen: string[] = []): Promise<void> {
  return eachRequest(o, async (head) => {
    seen.push(head.startLine);
    await o.write(okResponse(`answer to ${head.startLine.split(" ")[1]}`)).catch(() => {});
  });
}

/**
 * A backend that answers 401 after the request head, without reading the body, sends the
 * rest of its answer once `later` settles, then takes whatever comes next as requests.
 */
function answersEarly(seen: string[], later: Promise<void>) {
  return async (o: Peer) => {
    seen.push((await o.readHead()).startLine);
    await o.write("HTTP/1.1 401 Unauthorized\r\nContent-Length: 10\r\n\r\n12345");
    await later;
    await o.write("67890");
    await answerEach(o, seen);
  };
}

describe("exchanges that leave a connection in an unknown state", () => {
  it("an answer before the upload ended closes both connections, even when the upload ends while the answer is relayed", async () => {
    await withHarness({}, async (h) => {
      // the body is a request of its own: a backend that never read it takes it for the next one
      const smuggled = "GET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n";
      let release!: () => void;
      const later = new Promise<void>((r) => (release = r));
      const seen: string[] = [];
      let connections = 0;
      h.origin("10.0.0.1", 80, (o) => (++connections === 1 ? answersEarly(seen, later)(o) : answerEach(o)));
      const s = state([route("a", ["a.test"], "A")], { A: { backends: ["http://10.0.0.1"], maxIdlePerBackend: 4, idleTimeoutMs: 300 } });
      const first = open(h, s);
      await first.c.write(`POST /login HTTP/1.1\r\nHost: a.test\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled.slice(0, 5)}`);
      const early = await within(first.c.readHead(), 2000, "the early answer's head");
      assert.equal(early.status, 401);
      assert.equal(early.get("connection"), "close", "the client is told the connection ends");
      await first.c.write(smuggled.slice(5)); // the upload completes while the answer is still under way
      await sleep(50);
      release();
      assert.equal(await first.c.readText(10), "1234567890");
      await close(first.c, first.done);
      const second = open(h, s);
      await second.c.write("GET /account HTTP/1.1\r\nHost: a.test\r\n\r\n");
      const res = await within(readResponse(second.c), 2000, "the next client's answer");
      await close(second.c, second.done);
      assert.equal(res.body, "answer to /account", "another client never gets the answer to what the body smuggled");
      assert.deepEqual(h.dials.map((d) => d.address), ["10.0.0.1", "10.0.0.1"], "the backend connection was not pooled");
    });
  });

  it("a 101 to a request that asked for no upgrade is a 502, and the upstream connection is closed, not used again", async () => {
    await withHarness({}, async (h) => {
      const seen: string[] = [];
      h.origin("10.0.0.1", 80, async (o) => {
        seen.push((await o.readHead()).startLine);
        await o.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n");
        const next = await o.readChunk().catch(() => undefined);
        if (next) seen.push(`bytes after the 101: ${new TextDecoder().decode(next)}`);
      });
      const c = h.client();
      await c.write("GET http://origin.test/1 HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const res = await within(readResponse(c), 2000, "the answer");
      assert.equal(res.head.status, 502);
      assert.match(res.body, /101 Switching Protocols to a request without Upgrade/);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(seen, ["GET /1 HTTP/1.1"]);
    });
  });

  it("only a WebSocket upgrade is passed on: h2c goes as a plain request, and a switch to anything else is a 502", async () => {
    await withHarness({}, async (h) => {
      const seen: ParsedHead[] = [];
      h.origin("10.0.0.1", 80, async (o) => {
        const head = await o.readHead();
        seen.push(head);
        if (head.get("upgrade") === "websocket") await o.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n");
        else await o.write(okResponse("plain"));
        await o.readToEndOrReset();
      });
      const plain = h.client();
      await plain.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n");
      assert.equal((await readResponse(plain)).body, "plain");
      await plain.end();
      await plain.readToEndOrReset();
      const both = h.client();
      await both.write("GET http://origin.test/ws HTTP/1.1\r\nHost: origin.test\r\nConnection: Upgrade\r\nUpgrade: h2c, websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
      const res = await readResponse(both);
      assert.equal(res.head.status, 502);
      assert.match(res.body, /switched to "h2c", not the WebSocket asked for/);
      await both.end();
      await both.readToEndOrReset();
      assert.deepEqual(seen.map((q) => [q.get("upgrade"), q.get("connection")]), [[undefined, undefined], ["websocket", "upgrade"]]);
    });
  });

  it("interim 1xx answers go to HTTP/1.1 clients, not to HTTP/1.0 ones (RFC 9110 §15.2)", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, (o) =>
        eachRequest(o, async () => {
          await o.write("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n");
          await o.write(okResponse("final"));
        }));
      const first = async (version: string) => {
        const c = h.client();
        await c.write(`GET http://origin.test/ ${version}\r\nHost: origin.test\r\n\r\n`);
        const head = await within(c.readHead(), 2000, "the first head");
        await c.end();
        await c.readToEndOrReset();
        return head.startLine;
      };
      assert.equal(await first("HTTP/1.1"), "HTTP/1.1 103 Early Hints");
      assert.equal(await first("HTTP/1.0"), "HTTP/1.1 200 OK");
    });
  });
});

describe("framing fields as the next hop gets them", () => {
  it("one plain Content-Length, whatever form the client or the origin sent it in", async () => {
    await withHarness({}, async (h) => {
      const got: (string[] | undefined)[] = [];
      h.origin("10.0.0.1", 80, (o) =>
        eachRequest(o, async (head) => {
          got.push(head.all("content-length"));
          await o.readBytes(8);
          await o.write("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 02\r\n\r\nok");
        }));
      const c = h.client();
      const answers: string[][] = [];
      for (const fields of ["Content-Length: 008", "Content-Length: 8, 8", "Content-Length: 8\r\nContent-Length: 8"]) {
        await c.write(`POST http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n${fields}\r\n\r\n12345678`);
        const res = await readResponse(c);
        answers.push(res.head.all("content-length"));
        assert.equal(res.body, "ok");
      }
      await c.end();
      await c.readToEndOrReset();
      assert.deepEqual(got, [["8"], ["8"], ["8"]]);
      assert.deepEqual(answers, [["2"], ["2"], ["2"]]);
    });
  });

  it("transfer codings besides chunked go on with the body they code, both ways; an HTTP/1.0 client cannot take them: 502", async () => {
    await withHarness({}, async (h) => {
      const got: string[] = [];
      h.origin("10.0.0.1", 80, async (o) => {
        const head = await o.readHead();
        got.push(head.get("transfer-encoding") ?? "none");
        await o.readUntil("0\r\n\r\n");
        await o.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nGZ!\r\n0\r\n\r\n");
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("POST http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nGZ?\r\n0\r\n\r\n");
      const head = await within(c.readHead(), 2000, "the answer");
      assert.equal(head.get("transfer-encoding"), "gzip, chunked", "the client is told the body is gzip-coded");
      assert.equal(await c.readUntil("0\r\n\r\n"), "3\r\nGZ!\r\n0\r\n\r\n");
      await c.end();
      await c.readToEndOrReset();
      assert.deepEqual(got, ["gzip, chunked"], "so is the origin");
    });
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nGZ!");
        await o.end();
        await o.readToEndOrReset();
      });
      for (const version of ["HTTP/1.1", "HTTP/1.0"]) {
        const c = h.client();
        await c.write(`GET http://origin.test/ ${version}\r\nHost: origin.test\r\n\r\n`);
        const head = await within(c.readHead(), 2000, "the answer");
        const rest = new TextDecoder().decode((await c.readToEndOrReset()).data);
        await c.end();
        if (version === "HTTP/1.1") {
          assert.deepEqual([head.status, head.get("transfer-encoding"), rest], [200, "gzip", "GZ!"], "delimited by the close");
        } else {
          assert.equal(head.status, 502);
          assert.match(rest, /transfer coding gzip, which an HTTP\/1\.0 client cannot take/);
        }
      }
    });
  });

  it("request trailers pass on without fields that frame, route or authenticate (RFC 9110 §6.5.1)", async () => {
    await withHarness({}, async (h) => {
      const origin = chunkedUploadOrigin(h, "10.0.0.1", 80);
      const c = h.client();
      await c.write("POST http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n");
      await c.write("X-Checksum: abc\r\nHost: evil.test\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\nProxy-Authorization: Basic YTpi\r\nAuthorization: Basic YTpi\r\nCookie: s=1\r\nContent-Type: text/evil\r\n\r\n");
      assert.equal((await readResponse(c)).body, "ok");
      await c.end();
      await c.readToEndOrReset();
      assert.equal(origin.body(), "3\r\nabc\r\n0\r\nX-Checksum: abc\r\n\r\n");
    });
  });

  it("response trailers pass on without fields that frame, authenticate or say how to read the content", async () => {
    await withHarness({}, async (h) => {
      h.origin("10.0.0.1", 80, async (o) => {
        await o.readHead();
        await o.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n");
        await o.write("X-Checksum: abc\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\nSet-Cookie: s=1\r\nWWW-Authenticate: Basic\r\nContent-Type: text/html\r\nLocation: http://evil.test/\r\n\r\n");
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const head = await c.readHead();
      assert.equal(head.status, 200);
      const body = "3\r\nabc\r\n0\r\nX-Checksum: abc\r\n\r\n";
      assert.equal(await c.readText(body.length), body);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.records[0]?.bytesDown, head.raw.length + body.length);
    });
  });
});
