/**
 * Property: whatever a redirected client sends to a transparent TLS listener — a valid
 * ClientHello for an allowed, denied, unknown or missing name, in any number of records,
 * followed by application bytes, cut at any point, with bytes flipped, inserted or dropped,
 * then a FIN or a reset — the flow ends cleanly: the client gets a TLS alert, the origin's
 * bytes or (decrypted) HTTP responses, every flow returns and releases its connection within
 * bounded time, and its flow line is well formed.
 *
 * `FUZZ_RUNS=2000 bun test test/flows/transparent-property.test.ts` to scale up.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { damageArb, driveClient, FUZZ_DECRYPT, FUZZ_LIMITS, fuzzRuns, lenientOrigin, mutate } from "../helpers/flow-fuzz.ts";
import { FlowHarness, type HarnessOptions } from "../helpers/flow-harness.ts";
import { alpnExt, encodeHello, recordize, sniExt, versionsExt } from "../protocol/client-hello-builder.ts";

const RUNS = fuzzRuns(200);
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Application bytes after the hello: plaintext HTTP for the fake TLS of a decrypted session. */
const AFTER = [
  "GET /a HTTP/1.1\r\nHost: origin.test\r\n\r\n",
  "POST /b HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 5\r\n\r\nhello",
  "GET /c HTTP/1.1\r\nHost: other.test\r\n\r\n",
  "\x17\x03\x03\x00\x05abcde",
] as const;

const inputArb = fc.record({
  sni: fc.constantFrom("origin.test", "other.test", "evil.test", "unknown.test", "127.0.0.1", undefined),
  alpn: fc.constantFrom(["http/1.1"], ["h2", "http/1.1"], ["h2"], undefined),
  tls13: fc.boolean(),
  recordCuts: fc.array(fc.nat({ max: 300 }), { maxLength: 3 }),
  after: fc.array(fc.constantFrom(...AFTER), { maxLength: 3 }),
  damage: damageArb,
});
type Input = typeof inputArb extends fc.Arbitrary<infer T> ? T : never;

function hello(input: Input): Uint8Array {
  const extensions = [
    ...(input.sni === undefined ? [] : [sniExt(input.sni)]),
    ...(input.alpn === undefined ? [] : [alpnExt(input.alpn)]),
    ...(input.tls13 ? [versionsExt([0x0304, 0x0303])] : []),
  ];
  const message = encodeHello({ legacyVersion: 0x0303, sessionId: new Uint8Array(32), cipherSuites: [0x1301, 0xc02f], compressionMethods: [0], extensions });
  return recordize(message, input.recordCuts);
}

async function runOne(options: HarnessOptions, input: Input): Promise<void> {
  const h = new FlowHarness({ ...options, finishTimeoutMs: 3000 });
  for (const address of ["10.0.0.1", "10.0.0.2", "127.0.0.1"]) h.origin(address, 443, lenientOrigin);
  const clean = Uint8Array.from([...hello(input), ...enc.encode(input.after.join(""))]);
  const bytes = mutate(clean, input.damage.edits, input.damage.truncate);
  await driveClient(h, h.transparentClient(), bytes, input.damage, (received) => {
    if (received.length === 0) return;
    const alert = received[0] === 0x15;
    assert.ok(alert || dec.decode(received.subarray(0, 7)) === "HTTP/1.", `a TLS alert or HTTP: ${JSON.stringify(dec.decode(received.subarray(0, 40)))}`);
  });
  assert.ok(h.records.length <= 1, `${h.records.length} flow lines for one connection`);
}

describe("transparent TLS listener: arbitrary client bytes end cleanly (property)", { timeout: 120_000 }, () => {
  it("spliced (no decryption)", async () => {
    await fc.assert(fc.asyncProperty(inputArb, (input) => runOne({ limits: FUZZ_LIMITS }, input)), { numRuns: RUNS });
  });

  it("decrypted where the policy says so (origin.test decrypted, other.test decrypted without validation)", async () => {
    await fc.assert(fc.asyncProperty(inputArb, (input) => runOne(FUZZ_DECRYPT, input)), { numRuns: RUNS });
  });
});
