/**
 * Shared parts of the flow property tests: byte edits, cutting into writes, an origin that
 * tolerates anything, driving one client connection, and the checks every run must pass.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { FlowRecord } from "../../src/log/flow-record.ts";
import { chunks } from "../protocol/client-hello-builder.ts";
import process from "node:process";
import { DECRYPT_POLICY, type FlowHarness, type HarnessOptions, okResponse, type Peer, within } from "./flow-harness.ts";

const dec = new TextDecoder();

/** Cases per property: `FUZZ_RUNS` from the environment (to scale a run up), else `fallback`. */
export function fuzzRuns(fallback: number): number {
  return Number(process.env.FUZZ_RUNS ?? fallback) || fallback;
}

/** Short timeouts: a silent or stalled peer is given up on quickly, so runs stay fast. */
export const FUZZ_LIMITS = { headerTimeoutMs: 400, idleTimeoutMs: 400, connectTimeoutMs: 400 } as const;

/** Decryption per DECRYPT_POLICY (origin.test validated, other.test insecure) with a URL rule denying "/b" on origin.test. */
export const FUZZ_DECRYPT: HarnessOptions = {
  limits: FUZZ_LIMITS,
  policy: DECRYPT_POLICY,
  interception: { urlRules: [{ id: "no-b", hosts: ["origin.test"], paths: ["/b"], action: "deny" }] },
};

/** One byte edit at a position taken modulo the input's length. */
export type Edit = { readonly op: "flip" | "insert" | "drop"; readonly at: number; readonly byte: number };

const editArb = fc.record({
  op: fc.constantFrom("flip", "insert", "drop"),
  at: fc.nat(),
  byte: fc.constantFrom(0, 10, 13, 22, 32, 48, 58, 65, 0x7f, 0xff),
}) as fc.Arbitrary<Edit>;

/** How a valid input is damaged and delivered: most keep their framing, a third get edits, a quarter are cut short. */
export const damageArb = fc.record({
  edits: fc.oneof({ weight: 2, arbitrary: fc.constant<Edit[]>([]) }, { weight: 1, arbitrary: fc.array(editArb, { minLength: 1, maxLength: 3 }) }),
  truncate: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat() }),
  cuts: fc.array(fc.nat(), { maxLength: 5 }),
  end: fc.constantFrom("end", "end", "close") as fc.Arbitrary<"end" | "close">,
});
export type Damage = typeof damageArb extends fc.Arbitrary<infer T> ? T : never;

/** `bytes` with the edits applied in order, then cut to `truncate` (modulo length + 1). */
export function mutate(bytes: Uint8Array, edits: readonly Edit[], truncate: number | undefined): Uint8Array {
  const out = [...bytes];
  for (const e of edits) {
    if (out.length === 0) break;
    const at = e.at % out.length;
    if (e.op === "flip") out[at] = e.byte;
    else if (e.op === "insert") out.splice(at, 0, e.byte);
    else out.splice(at, 1);
  }
  return Uint8Array.from(truncate === undefined ? out : out.slice(0, truncate % (out.length + 1)));
}

/** An origin that answers every head it sees (up to four) and ends when the gateway does. */
export async function lenientOrigin(o: Peer): Promise<void> {
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

/** A flow line with every field in range and an `end` that says why. */
export function assertWellFormedFlow(r: FlowRecord): void {
  assert.equal(r.type, "flow");
  assert.ok(["connect", "http", "tls", "invalid"].includes(r.kind), r.kind);
  assert.ok(r.decision === null || r.decision === "allow" || r.decision === "deny");
  assert.ok(r.status === null || (Number.isInteger(r.status) && r.status >= 100 && r.status <= 599), String(r.status));
  for (const n of [r.bytesUp, r.bytesDown, r.requests, r.durationMs]) assert.ok(Number.isFinite(n) && n >= 0, String(n));
  assert.ok(typeof r.end === "string" && r.end.length > 0, `end ${String(r.end)}`);
  assert.ok(r.error === null || (typeof r.error === "string" && r.error.length > 0));
}

/**
 * Sends `bytes` on `client` as `damage` says (pieces, then a FIN or a reset), then requires
 * the gateway's close within 3 s, `answer` to accept what the client got, and every flow and
 * origin of `h` to finish and release its connection. Failures name the input.
 */
export async function driveClient(
  h: FlowHarness,
  client: Peer,
  bytes: Uint8Array,
  damage: Damage,
  answer: (received: Uint8Array) => void,
): Promise<void> {
  try {
    // the gateway may close first (an error answer to bad input): later writes then fail
    let open = true;
    for (const p of chunks(bytes, damage.cuts)) if (open) await client.write(p).catch(() => (open = false));
    if (damage.end === "close") {
      client.conn.close(); // the client resets instead of half-closing
    } else {
      if (open) await client.end().catch(() => {});
      answer((await within(client.readToEndOrReset(), 3000, "the gateway's close")).data);
    }
    await h.finish();
    for (const r of h.records) assertWellFormedFlow(r);
    for (const r of h.requestRecords) assert.ok(r.decision === "allow" || r.decision === "deny");
  } catch (e) {
    h.abort();
    throw new Error(`input ${JSON.stringify(dec.decode(bytes))}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
