/**
 * Property: whatever bytes a client sends to an explicit listener — valid requests, cut at
 * any point, with bytes flipped, inserted or dropped, pipelined, followed by a tunnel or a
 * decrypted session — the flow ends cleanly: the client gets only HTTP responses and then a
 * close, every flow returns and releases its connection within bounded time, and every flow
 * line is well formed. Bad input may get an error; it must never crash, hang or leak.
 *
 * `FUZZ_RUNS=2000 bun test test/flows/explicit-property.test.ts` to scale up.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { damageArb, driveClient, FUZZ_DECRYPT, FUZZ_LIMITS, fuzzRuns, lenientOrigin, mutate } from "../helpers/flow-fuzz.ts";
import { FlowHarness, type HarnessOptions } from "../helpers/flow-harness.ts";

const RUNS = fuzzRuns(200);
const enc = new TextEncoder();
const dec = new TextDecoder();

/** What a client could send on a proxy connection, one message each. */
const PROXY_MESSAGES = [
  "GET http://origin.test/a HTTP/1.1\r\nHost: origin.test\r\n\r\n",
  "POST http://origin.test/b HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 5\r\n\r\nhello",
  "PUT http://origin.test/c HTTP/1.1\r\nHost: origin.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
  "POST http://origin.test/e HTTP/1.1\r\nHost: origin.test\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
  "GET http://evil.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n",
  "HEAD http://origin.test/h HTTP/1.0\r\n\r\n",
  "GET http://origin.test/ws HTTP/1.1\r\nHost: origin.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
  "CONNECT other.test:8443 HTTP/1.1\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: origin.test\r\n\r\n",
] as const;

/** Opens a session to origin.test: a blind tunnel, or decrypted where the policy says so. */
const CONNECT = "CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n";

/** What a client sends inside such a session (origin-form; "/b" is denied by a URL rule when decrypted). */
const INSIDE_MESSAGES = [
  "GET /a HTTP/1.1\r\nHost: origin.test\r\n\r\n",
  "POST /b HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 5\r\n\r\nhello",
  "PUT /c HTTP/1.1\r\nHost: origin.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  "GET /d HTTP/1.1\r\nHost: other.test\r\n\r\n",
  "HEAD /h HTTP/1.1\r\nHost: origin.test:443\r\n\r\n",
  "GET /ws HTTP/1.1\r\nHost: origin.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
  "GET http://origin.test/abs HTTP/1.1\r\nHost: origin.test\r\n\r\n",
] as const;

const inputArb = fc.record({
  messages: fc.oneof(
    fc.array(fc.constantFrom(...PROXY_MESSAGES), { minLength: 1, maxLength: 4 }),
    fc.array(fc.constantFrom(...INSIDE_MESSAGES), { maxLength: 4 }).map((inside) => [CONNECT, ...inside]),
  ),
  damage: damageArb,
});
type Input = typeof inputArb extends fc.Arbitrary<infer T> ? T : never;

async function runOne(options: HarnessOptions, { messages, damage }: Input): Promise<void> {
  const h = new FlowHarness({ ...options, finishTimeoutMs: 3000 });
  for (const port of [80, 443, 8443]) {
    h.origin("10.0.0.1", port, lenientOrigin);
    h.origin("10.0.0.2", port, lenientOrigin);
  }
  const bytes = mutate(enc.encode(messages.join("")), damage.edits, damage.truncate);
  await driveClient(h, h.client(), bytes, damage, (received) => {
    const text = dec.decode(received);
    if (text.length > 0) assert.match(text.slice(0, 9), /^HTTP\/1\.[01] /, `the client only gets HTTP responses: ${JSON.stringify(text.slice(0, 80))}`);
  });
  // one line per connection, or per request when proxying plain HTTP (edits may split one)
  assert.ok(h.records.length <= messages.length + damage.edits.length, `${h.records.length} flow lines`);
}

describe("explicit proxy: arbitrary client bytes end cleanly (property)", { timeout: 120_000 }, () => {
  it("plain forwarding and blind tunnels", async () => {
    await fc.assert(fc.asyncProperty(inputArb, (input) => runOne({ limits: FUZZ_LIMITS }, input)), { numRuns: RUNS });
  });

  it("decrypted CONNECT sessions (origin.test decrypted, URL rules on)", async () => {
    await fc.assert(fc.asyncProperty(inputArb, (input) => runOne(FUZZ_DECRYPT, input)), { numRuns: RUNS });
  });
});
