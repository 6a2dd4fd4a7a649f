/**
 * Property: whatever an origin answers — valid responses of every framing, 1xx, 101, 204/304,
 * close-delimited, conflicting framing, cut at any point, with bytes flipped, inserted or
 * dropped, then an end, a reset or silence — a proxied request ends cleanly: the client gets
 * an HTTP/1.1 response (the origin's, re-framed, or the gateway's 502/504) or a close, the
 * flow and the origin connection finish within bounded time, and the flow lines are well
 * formed. The internet is untrusted input too.
 *
 * `FUZZ_RUNS=2000 bun test test/flows/upstream-property.test.ts` to scale up.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Damage, damageArb, driveClient, fuzzRuns, mutate } from "../helpers/flow-fuzz.ts";
import { chunks } from "../protocol/client-hello-builder.ts";
import { DECRYPT_POLICY, FlowHarness, type HarnessOptions, type Peer } from "../helpers/flow-harness.ts";

const RUNS = fuzzRuns(100);
const enc = new TextEncoder();
const dec = new TextDecoder();

const RESPONSES = [
  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
  "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
  "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
  "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\na body that ends with the connection",
  "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nraw frames",
  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
  "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno",
] as const;

/** Requests a client sends: proxied plain HTTP, or inside a session to origin.test (decrypted when the policy says so). */
const PLAIN = [
  "GET http://origin.test/a HTTP/1.1\r\nHost: origin.test\r\n\r\n",
  "POST http://origin.test/b HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 5\r\n\r\nhello",
  "HEAD http://origin.test/h HTTP/1.1\r\nHost: origin.test\r\n\r\n",
  "GET http://origin.test/ws HTTP/1.1\r\nHost: origin.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
  "GET http://origin.test/old HTTP/1.0\r\nHost: origin.test\r\n\r\n",
] as const;
const CONNECT = "CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n";

const inputArb = fc.record({
  request: fc.constantFrom(...PLAIN),
  inSession: fc.boolean(),
  response: fc.constantFrom(...RESPONSES),
  damage: damageArb,
  origin: fc.constantFrom("end", "end", "reset", "silent") as fc.Arbitrary<"end" | "reset" | "silent">,
});
type Input = typeof inputArb extends fc.Arbitrary<infer T> ? T : never;

/** An origin that reads one request head, sends `bytes` in `damage.cuts` pieces, then ends, resets or stays silent. */
function scriptedOrigin(bytes: Uint8Array, damage: Damage, after: Input["origin"]): (o: Peer) => Promise<void> {
  return async (o) => {
    try {
      let seen = "";
      while (!seen.includes("\r\n\r\n")) {
        const chunk = await o.readChunk();
        if (!chunk) return;
        seen += dec.decode(chunk);
      }
      for (const p of chunks(bytes, damage.cuts)) await o.write(p);
      if (after === "end") await o.end();
      else if (after === "reset") o.conn.close();
      await o.readToEndOrReset(); // "silent": until the gateway gives up on us
    } catch {
      // the gateway reset this connection
    }
  };
}

/** `blindTunnels`: a session to origin.test is a blind tunnel, whose bytes are the origin's own. */
async function runOne(options: HarnessOptions, input: Input, blindTunnels: boolean): Promise<void> {
  const h = new FlowHarness({ ...options, finishTimeoutMs: 3000 });
  const response = mutate(enc.encode(input.response), input.damage.edits, input.damage.truncate);
  for (const port of [80, 443]) h.origin("10.0.0.1", port, scriptedOrigin(response, input.damage, input.origin));
  const inside = input.request.replace("http://origin.test", "");
  const request = enc.encode(input.inSession ? CONNECT + inside : input.request);
  // the client's side is undamaged: one request, then FIN
  const clientSide: Damage = { edits: [], truncate: undefined, cuts: [], end: "end" };
  try {
    await driveClient(h, h.client(), request, clientSide, (received) => {
      let text = dec.decode(received);
      if (input.inSession && text.startsWith("HTTP/1.1 200 Connection Established\r\n\r\n")) {
        if (blindTunnels) return;
        text = text.slice(39);
      }
      if (text.length > 0) assert.match(text.slice(0, 9), /^HTTP\/1\.[01] /, `the client only gets HTTP responses: ${JSON.stringify(text.slice(0, 80))}`);
    });
  } catch (e) {
    throw new Error(`response ${JSON.stringify(dec.decode(response))} then ${input.origin}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

describe("explicit proxy: arbitrary origin answers end cleanly (property)", { timeout: 120_000 }, () => {
  // short: a silent origin is given up on after idleTimeoutMs
  const limits = { headerTimeoutMs: 100, idleTimeoutMs: 100, connectTimeoutMs: 100 };

  it("plain forwarding and blind tunnels", async () => {
    await fc.assert(fc.asyncProperty(inputArb, (input) => runOne({ limits }, input, true)), { numRuns: RUNS });
  });

  it("decrypted sessions", async () => {
    await fc.assert(fc.asyncProperty(inputArb, (input) => runOne({ limits, policy: DECRYPT_POLICY, interception: {} }, input, false)), { numRuns: RUNS });
  });
});
