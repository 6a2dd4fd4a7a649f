/**
 * The gateway side of `http-roundtrip.ts`: one case through the real explicit-proxy flow
 * (`handleExplicit` over the in-memory flow harness of the tests), capturing the bytes the
 * gateway sends on: to the origin for a client's request stream, to the client for an
 * origin's response stream.
 *
 * @module
 */
import { concatBytes, indexOfBytes } from "../../src/core/bytes.ts";
import { FlowHarness, type HarnessOptions, type Peer, within } from "../../test/helpers/flow-harness.ts";
import { tollgateRequests } from "./http-framing-tollgate.ts";

/** What went through the gateway in one case. */
export interface GatewayRun {
  /** What the gateway sent to the origin, one entry per connection, in dial order. */
  readonly upstream: Uint8Array[];
  /** What the gateway sent to the client. */
  readonly client: Uint8Array;
  /** The gateway ended the client's connection with a reset, not a FIN: what came last is cut short. */
  readonly clientReset: boolean;
  /** Set when the case did not end as a flow should (a hang, a leaked connection, a throw). */
  readonly problem?: string;
}

/** Both kinds of target resolve to the one origin: the generator's absolute URIs name "a" too. */
const OPTIONS: HarnessOptions = {
  policy: { defaultAction: "allow", defaultLog: false, rules: [] },
  hosts: { a: ["10.0.0.1"] },
  limits: { idleTimeoutMs: 1000, headerTimeoutMs: 1000, connectTimeoutMs: 1000 },
  finishTimeoutMs: 3000,
};
const ORIGIN = "10.0.0.1";
const CASE_MS = 4000;

const OK = new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
const HEAD_END = new TextEncoder().encode("\r\n\r\n");
const SWITCHED = new TextEncoder().encode("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");

/** Writes `bytes` in pieces ending at `cuts` (offsets, ascending), then half-closes. */
async function send(peer: Peer, bytes: Uint8Array, cuts: readonly number[]): Promise<void> {
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.byteLength), bytes.byteLength]) {
    if (cut > at) await peer.write(bytes.slice(at, cut));
    at = cut;
  }
  await peer.end();
}

/** Reads `peer` to its end, keeping every byte in `into`; true when it ended with a reset. */
async function drain(peer: Peer, into: Uint8Array[], onData?: () => Promise<void>): Promise<boolean> {
  for (;;) {
    let chunk: Uint8Array | undefined;
    try {
      chunk = await peer.readChunk();
    } catch {
      return true;
    }
    if (chunk === undefined) return false;
    into.push(chunk.slice());
    await onData?.();
  }
}

type Received = { readonly bytes: Uint8Array[]; readonly reset: boolean };

async function run(setup: (h: FlowHarness, upstream: Uint8Array[][]) => Promise<Received>): Promise<GatewayRun> {
  const h = new FlowHarness(OPTIONS);
  const upstream: Uint8Array[][] = [];
  let problem: string | undefined;
  let client: Received = { bytes: [], reset: true };
  try {
    client = await within(setup(h, upstream), CASE_MS, "the client's exchange");
  } catch (e) {
    problem = `hang: ${e instanceof Error ? e.message : String(e)}`;
    h.abort();
  }
  try {
    await h.finish();
  } catch (e) {
    problem ??= `finish: ${e instanceof Error ? e.message : String(e)}`;
  }
  return { upstream: upstream.map(concatBytes), client: concatBytes(client.bytes), clientReset: client.reset, ...(problem === undefined ? {} : { problem }) };
}

/**
 * A client sends `stream` (pipelined requests in absolute form) in pieces cut at `cuts`, then
 * half-closes. The origin answers each request it has whole (by Tollgate's parser) "200 ok",
 * a WebSocket upgrade with 101 (after which the connection is a tunnel).
 */
export function requestsThroughGateway(stream: Uint8Array, cuts: readonly number[]): Promise<GatewayRun> {
  return run(async (h, upstream) => {
    h.origin(ORIGIN, 80, async (o) => {
      const got: Uint8Array[] = [];
      upstream.push(got);
      let answered = 0;
      let tunnel = false;
      await drain(o, got, async () => {
        const seen = tollgateRequests(concatBytes(got)).messages;
        for (; !tunnel && answered < seen.length; answered++) {
          tunnel = seen[answered]?.upgrade ?? false;
          await o.write(tunnel ? SWITCHED : OK).catch(() => {});
        }
      });
      await o.end().catch(() => {});
    });
    const c = h.client();
    const bytes: Uint8Array[] = [];
    const [, reset] = await Promise.all([send(c, stream, cuts).catch(() => {}), drain(c, bytes)]);
    return { bytes, reset };
  });
}

/**
 * A client sends `requests` (pipelined) and half-closes; the origin's first connection waits
 * for the first request head, then sends `stream` in pieces cut at `cuts` and half-closes.
 * Later connections are closed at once (an origin that has nothing more to say).
 */
export function responsesThroughGateway(requests: Uint8Array, stream: Uint8Array, cuts: readonly number[]): Promise<GatewayRun> {
  return run(async (h, upstream) => {
    h.origin(ORIGIN, 80, async (o) => {
      const got: Uint8Array[] = [];
      const first = upstream.length === 0;
      upstream.push(got);
      if (!first) await o.end().catch(() => {});
      let sent = !first;
      await drain(o, got, async () => {
        if (sent || indexOfBytes(concatBytes(got), HEAD_END) < 0) return;
        sent = true;
        await send(o, stream, cuts).catch(() => {});
      });
    });
    const c = h.client();
    const bytes: Uint8Array[] = [];
    const [, reset] = await Promise.all([send(c, requests, []).catch(() => {}), drain(c, bytes)]);
    return { bytes, reset };
  });
}
