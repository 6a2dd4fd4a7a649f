/**
 * Property: whatever bytes a client sends to a plain-HTTP reverse listener — requests routed,
 * denied, unrouted or for a dead pool, with bodies, chunked, upgrades, CONNECT, cut at any
 * point, with bytes flipped, inserted or dropped, then a FIN or a reset — the flow ends
 * cleanly: the client gets only HTTP responses and then a close, the flow and every backend
 * connection finish within bounded time, and every flow line is well formed.
 *
 * `FUZZ_RUNS=2000 bun test test/flows/reverse-property.test.ts` to scale up.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { ReverseListenerState } from "../../src/reverse/listener-state.ts";
import { damageArb, driveClient, FUZZ_LIMITS, fuzzRuns, lenientOrigin, mutate } from "../helpers/flow-fuzz.ts";
import { FlowHarness, within } from "../helpers/flow-harness.ts";
import { open, route, state } from "../helpers/reverse-harness.ts";

const RUNS = fuzzRuns(200);
const enc = new TextEncoder();
const dec = new TextDecoder();

const MESSAGES = [
  "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n",
  "POST /up HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello",
  "PUT /c HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
  "DELETE /admin/x HTTP/1.1\r\nHost: app.test\r\n\r\n",
  "GET /x HTTP/1.1\r\nHost: nowhere.test\r\n\r\n",
  "GET /down HTTP/1.1\r\nHost: down.test\r\n\r\n",
  "GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
  "CONNECT app.test:443 HTTP/1.1\r\nHost: app.test:443\r\n\r\n",
  "GET http://app.test/abs HTTP/1.1\r\nHost: app.test\r\n\r\n",
  "GET / HTTP/1.0\r\n\r\n",
] as const;

const inputArb = fc.record({
  messages: fc.array(fc.constantFrom(...MESSAGES), { minLength: 1, maxLength: 4 }),
  damage: damageArb,
});
type Input = typeof inputArb extends fc.Arbitrary<infer T> ? T : never;

function listenerState(): ReverseListenerState {
  return state(
    [route("app", ["app.test"], "A", { deny: [{ paths: ["/admin"], methods: ["DELETE"] }] }), route("down", ["down.test"], "B")],
    { A: { backends: ["http://10.0.0.1"], connectTimeoutMs: 400, timeoutMs: 400 }, B: { backends: ["http://10.0.0.9"], connectTimeoutMs: 400, timeoutMs: 400 } },
  );
}

async function runOne(input: Input): Promise<void> {
  const h = new FlowHarness({ limits: FUZZ_LIMITS, finishTimeoutMs: 3000 });
  h.origin("10.0.0.1", 80, lenientOrigin); // 10.0.0.9 refuses: pool B is down
  const { c, done, proxySide } = open(h, listenerState());
  const bytes = mutate(enc.encode(input.messages.join("")), input.damage.edits, input.damage.truncate);
  await driveClient(h, c, bytes, input.damage, (received) => {
    const text = dec.decode(received);
    if (text.length > 0) assert.match(text.slice(0, 9), /^HTTP\/1\.[01] /, `the client only gets HTTP responses: ${JSON.stringify(text.slice(0, 80))}`);
  });
  try {
    await within(done, 3000, "the reverse flow");
  } catch (e) {
    proxySide.close();
    throw new Error(`input ${JSON.stringify(dec.decode(bytes))}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  assert.ok(h.records.length <= 1, `${h.records.length} flow lines for one connection`);
}

describe("reverse proxy: arbitrary client bytes end cleanly (property)", { timeout: 120_000 }, () => {
  it("plain-HTTP listener: routed, denied, unrouted and dead-pool requests", async () => {
    await fc.assert(fc.asyncProperty(inputArb, runOne), { numRuns: RUNS });
  });
});
