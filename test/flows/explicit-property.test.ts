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
import process from "node:process";
import fc from "fast-check";
import type { FlowRecord } from "../../src/log/flow-record.ts";
import { DECRYPT_POLICY, FlowHarness, type HarnessOptions, okResponse, type Peer, within } from "../helpers/flow-harness.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 200) || 200;
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

type Edit = { readonly op: "flip" | "insert" | "drop"; readonly at: number; readonly byte: number };

const editArb = fc.record({
  op: fc.constantFrom("flip", "insert", "drop"),
  at: fc.nat(),
  byte: fc.constantFrom(0, 10, 13, 32, 48, 58, 65, 0x7f, 0xff),
}) as fc.Arbitrary<Edit>;

const inputArb = fc.record({
  messages: fc.oneof(
    fc.array(fc.constantFrom(...PROXY_MESSAGES), { minLength: 1, maxLength: 4 }),
    fc.array(fc.constantFrom(...INSIDE_MESSAGES), { maxLength: 4 }).map((inside) => [CONNECT, ...inside]),
  ),
  // most inputs keep their framing; a third get edits, a quarter are cut short
  edits: fc.oneof({ weight: 2, arbitrary: fc.constant<Edit[]>([]) }, { weight: 1, arbitrary: fc.array(editArb, { minLength: 1, maxLength: 3 }) }),
  truncate: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat() }),
  cuts: fc.array(fc.nat(), { maxLength: 5 }),
  end: fc.constantFrom("end", "end", "close") as fc.Arbitrary<"end" | "close">,
});

function mutate(text: string, edits: readonly Edit[], truncate: number | undefined): Uint8Array {
  const bytes = [...enc.encode(text)];
  for (const e of edits) {
    if (bytes.length === 0) break;
    const at = e.at % bytes.length;
    if (e.op === "flip") bytes[at] = e.byte;
    else if (e.op === "insert") bytes.splice(at, 0, e.byte);
    else bytes.splice(at, 1);
  }
  return Uint8Array.from(truncate === undefined ? bytes : bytes.slice(0, truncate % (bytes.length + 1)));
}

function pieces(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    if (c > from) out.push(bytes.subarray(from, c));
    from = c;
  }
  return out;
}

/** An origin that answers every head it sees (up to four) and ends when the gateway does. */
async function lenientOrigin(o: Peer): Promise<void> {
  try {
    let seen = "";
    let answered = 0;
    for (;;) {
      const chunk = await o.readChunk();
      if (!chunk) break;
      seen += dec.decode(chunk);
      for (let i = seen.indexOf("\r\n\r\n"); i >= 0; i = seen.indexOf("\r\n\r\n")) {
        seen = seen.slice(i + 4);
        if (answered++ < 4) await o.write(okResponse("ok"));
      }
    }
    await o.end();
  } catch {
    // the gateway reset this connection: an origin has nothing to add
  }
}

const ENDS = /^(eof|idle|client-closed|upstream-closed|error|denied|timeout|[A-Za-z].*)$/;

function wellFormed(r: FlowRecord): void {
  assert.equal(r.type, "flow");
  assert.ok(["connect", "http", "tls", "invalid"].includes(r.kind), r.kind);
  assert.ok(r.decision === null || r.decision === "allow" || r.decision === "deny");
  assert.ok(r.status === null || (Number.isInteger(r.status) && r.status >= 100 && r.status <= 599), String(r.status));
  for (const n of [r.bytesUp, r.bytesDown, r.requests, r.durationMs]) assert.ok(Number.isFinite(n) && n >= 0, String(n));
  assert.ok(r.end !== null && ENDS.test(r.end), `end ${String(r.end)}`);
  assert.ok(r.error === null || (typeof r.error === "string" && r.error.length > 0));
}

type Input = typeof inputArb extends fc.Arbitrary<infer T> ? T : never;

async function runOne(options: HarnessOptions, input: Input): Promise<void> {
  const h = new FlowHarness({ ...options, finishTimeoutMs: 3000 });
  for (const port of [80, 443, 8443]) {
    h.origin("10.0.0.1", port, lenientOrigin);
    h.origin("10.0.0.2", port, lenientOrigin);
  }
  const bytes = mutate(input.messages.join(""), input.edits, input.truncate);
  const c = h.client();
  try {
    // the gateway may close first (an error answer to bad input): later writes then fail
    let open = true;
    for (const p of pieces(bytes, input.cuts)) if (open) await c.write(p).catch(() => (open = false));
    if (input.end === "close") {
      c.conn.close(); // the client resets instead of half-closing
    } else {
      if (open) await c.end().catch(() => {});
      const got = await within(c.readToEndOrReset(), 3000, "the gateway's close");
      const text = dec.decode(got.data);
      if (text.length > 0) assert.match(text.slice(0, 9), /^HTTP\/1\.[01] /, `the client only gets HTTP responses: ${JSON.stringify(text.slice(0, 80))}`);
    }
    await h.finish();
    // one line per connection, or per request when proxying plain HTTP (edits may split one)
    assert.ok(h.records.length <= input.messages.length + input.edits.length, `${h.records.length} flow lines`);
    for (const r of h.records) wellFormed(r);
    for (const r of h.requestRecords) assert.ok(r.decision === "allow" || r.decision === "deny");
  } catch (e) {
    h.abort();
    throw new Error(`input ${JSON.stringify(dec.decode(bytes))}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

describe("explicit proxy: arbitrary client bytes end cleanly (property)", { timeout: 120_000 }, () => {
  const limits = { headerTimeoutMs: 400, idleTimeoutMs: 400, connectTimeoutMs: 400 };

  it("plain forwarding and blind tunnels", async () => {
    await fc.assert(fc.asyncProperty(inputArb, (input) => runOne({ limits }, input)), { numRuns: RUNS });
  });

  it("decrypted CONNECT sessions (origin.test decrypted, URL rules on)", async () => {
    const options: HarnessOptions = {
      limits,
      policy: DECRYPT_POLICY,
      interception: { urlRules: [{ id: "no-b", hosts: ["origin.test"], paths: ["/b"], action: "deny" }] },
    };
    await fc.assert(fc.asyncProperty(inputArb, (input) => runOne(options, input)), { numRuns: RUNS });
  });
});
