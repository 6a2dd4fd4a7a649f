/**
 * The Content-Length of a response without a body (the answer to a HEAD, a 304, an interim
 * 1xx) frames nothing for the gateway, but a client's parser still reads it: a list of one
 * value ("7, 7"), repeated fields or leading zeros must not go on as they came (llhttp in
 * strict mode, Node's client, refuses the whole response). Found by
 * scripts/fuzz/http-roundtrip.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { okResponse, readResponse, withHarness, within } from "../helpers/flow-harness.ts";

/** Sends `method` through the proxy to an origin answering with `answer`, then a GET answered "next"; returns the Content-Length lines of the answer's heads as the client got them. */
async function relayed(method: string, answer: string): Promise<{ lengths: string[] }> {
  let out: { lengths: string[] } | undefined;
  await withHarness({}, async (h) => {
    h.origin("10.0.0.1", 80, async (o) => {
      await o.readHead();
      await o.write(answer);
      await o.readHead();
      await o.write(okResponse("next"));
      await o.readToEndOrReset();
    });
    const c = h.client();
    await c.write(`${method} http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n`);
    let head = await within(c.readHead(), 1500, "answer");
    const raws = [head.raw];
    while (head.status < 200) {
      head = await within(c.readHead(), 1500, "final answer");
      raws.push(head.raw);
    }
    out = { lengths: raws.flatMap((r) => r.split("\r\n").filter((l) => /^content-length:/i.test(l))) };
    // still in step: the next answer is the next request's
    await c.write("GET http://origin.test/n HTTP/1.1\r\nHost: origin.test\r\n\r\n");
    assert.equal((await readResponse(c)).body, "next");
    await c.end();
    await c.readToEndOrReset();
  });
  return out!;
}

describe("Content-Length of responses without a body", () => {
  it("goes on as one plain number after a HEAD, whatever list of that number came", async () => {
    for (const fields of ["Content-Length: 7, 7", "Content-Length: 7,7", "Content-Length: 007", "Content-Length: 7\r\nContent-Length: 7"]) {
      const got = await relayed("HEAD", `HTTP/1.1 200 OK\r\n${fields}\r\n\r\n`);
      assert.deepEqual(got.lengths, ["Content-Length: 7"], fields);
    }
  });

  it("goes on as one plain number in a 304", async () => {
    const got = await relayed("GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 12, 12\r\nETag: \"x\"\r\n\r\n");
    assert.deepEqual(got.lengths, ["Content-Length: 12"]);
  });

  it("goes on as one plain number in an interim response", async () => {
    const got = await relayed("GET", `HTTP/1.1 103 Early Hints\r\nContent-Length: 0, 0\r\nLink: </a>\r\n\r\n${okResponse("ok")}`);
    assert.deepEqual(got.lengths, ["Content-Length: 0", "Content-Length: 2"]);
  });

});
