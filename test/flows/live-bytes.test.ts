import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LiveFlows, type OpenFlow } from "../../src/flows/live-flows.ts";
import { DECRYPT_POLICY, ESTABLISHED, type FlowHarness, type Peer, until, withHarness } from "../helpers/flow-harness.ts";
import { open, route, state as reverseState } from "../helpers/reverse-harness.ts";

const CONNECT = "CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n";
const BODY = "0123456789".repeat(10);

/** The one open flow of `live` once its bytes are `[up, down]`: they move as the relay writes. */
async function listedWith(live: LiveFlows, up: number, down: number, what: string): Promise<OpenFlow> {
  let last: OpenFlow | undefined;
  await until(
    () => {
      [last] = live.list();
      return last?.bytesUp === up && last.bytesDown === down;
    },
    1000,
    what,
  ).catch((e: unknown) => {
    throw new Error(`${what}: expected ${up} up and ${down} down, listed ${last ? `${last.bytesUp} up and ${last.bytesDown} down` : "nothing"}`, { cause: e });
  });
  return last!;
}

/** What {@link halfwayOrigin} saw, and the switch that lets its response go on. */
interface HalfwayOrigin {
  readonly headSeen: Promise<number>;
  goOn(): void;
}

/**
 * An origin that takes a 20-byte request body, then answers 10 bytes of a 100-byte body
 * and waits for `goOn()` before the rest.
 */
function halfwayOrigin(h: FlowHarness, address: string, port: number): HalfwayOrigin {
  let headSeen!: (n: number) => void;
  const seen = new Promise<number>((r) => (headSeen = r));
  let goOn!: () => void;
  const rest = new Promise<void>((r) => (goOn = r));
  h.origin(address, port, async (o) => {
    headSeen((await o.readHead()).raw.length);
    assert.equal(await o.readText(20), "a".repeat(20));
    await o.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY.slice(0, 10)}`);
    await rest;
    await o.write(BODY.slice(10));
    await o.readToEndOrReset();
  });
  return { headSeen: seen, goOn };
}

/**
 * An upload then a download, each stopped half-way (the request body by the client, the
 * response by the origin): the bytes are listed while each body moves, as the flow line
 * later counts them.
 */
async function halfwayBothWays(live: LiveFlows, c: Peer, origin: HalfwayOrigin, target: string, host: string) {
  await c.write(`POST ${target} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 20\r\n\r\n${"a".repeat(8)}`);
  const seenHead = await origin.headSeen;
  const uploading = await listedWith(live, seenHead + 8, 0, "part of the request body sent");
  assert.equal(uploading.requests, 1, "the request in progress counts");
  await c.write("a".repeat(12));
  const head = await c.readHead();
  assert.equal(await c.readText(10), BODY.slice(0, 10));
  const up = seenHead + 20;
  await listedWith(live, up, head.raw.length + 10, "part of the response body received");
  origin.goOn();
  assert.equal(await c.readText(90), BODY.slice(10));
  await listedWith(live, up, head.raw.length + 100, "the whole response");
  return { up, down: head.raw.length + 100 };
}

describe("open connections show the bytes of a request in progress", () => {
  it("a decrypted session: the upload and the download while they move; the line says the same", async () => {
    const live = new LiveFlows();
    await withHarness({ liveFlows: live, policy: DECRYPT_POLICY, interception: {} }, async (h) => {
      const origin = halfwayOrigin(h, "10.0.0.1", 443);
      const c = h.client();
      await c.write(CONNECT);
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      const moved = await halfwayBothWays(live, c, origin, "/upload", "origin.test");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      const r = h.records.find((x) => x.kind === "connect")!;
      assert.deepEqual([r.bytesUp, r.bytesDown], [moved.up, moved.down], "the line counts what was listed");
      const [req] = h.requestRecords;
      assert.deepEqual([req?.bytesUp, req?.bytesDown], [moved.up, moved.down]);
      assert.deepEqual(live.list(), []);
    });
  });

  it("a plain proxied request", async () => {
    const live = new LiveFlows();
    await withHarness({ liveFlows: live }, async (h) => {
      const origin = halfwayOrigin(h, "10.0.0.1", 80);
      const c = h.client();
      const moved = await halfwayBothWays(live, c, origin, "http://origin.test/upload", "origin.test");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      const r = h.record();
      assert.equal(r.kind, "http");
      assert.deepEqual([r.bytesUp, r.bytesDown], [moved.up, moved.down]);
    });
  });

  it("a reverse-proxied request", async () => {
    const live = new LiveFlows();
    await withHarness({ liveFlows: live }, async (h) => {
      const origin = halfwayOrigin(h, "10.0.0.1", 80);
      const { c, done } = open(h, reverseState([route("a", ["a.test"], "A")], { A: { backends: ["http://10.0.0.1"] } }));
      const moved = await halfwayBothWays(live, c, origin, "/upload", "a.test");
      await c.end();
      await c.readToEndOrReset();
      await done;
      const r = h.records.find((x) => x.type === "flow")!;
      assert.deepEqual([r.bytesUp, r.bytesDown], [moved.up, moved.down]);
    });
  });

  it("a decrypted WebSocket: the frames after the 101 count as they move", async () => {
    const live = new LiveFlows();
    await withHarness({ liveFlows: live, policy: DECRYPT_POLICY, interception: {} }, async (h) => {
      let seenHead = 0;
      h.origin("10.0.0.1", 443, async (o) => {
        seenHead = (await o.readHead()).raw.length;
        await o.write("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
        assert.equal(await o.readText(4), "ping");
        await o.write("pong!");
        await o.readToEnd();
        await o.end();
      });
      const c = h.client();
      await c.write(CONNECT);
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await c.write("GET /ws HTTP/1.1\r\nHost: origin.test\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
      const head = await c.readHead();
      assert.equal(head.status, 101);
      await listedWith(live, seenHead, head.raw.length, "the upgrade");
      await c.write("ping");
      assert.equal(await c.readText(5), "pong!");
      await listedWith(live, seenHead + 4, head.raw.length + 5, "frames each way");
      await c.end();
      assert.equal((await c.readToEnd()).byteLength, 0);
      await h.finish();
      const r = h.records.find((x) => x.kind === "connect")!;
      assert.deepEqual([r.bytesUp, r.bytesDown], [seenHead + 4, head.raw.length + 5]);
    });
  });
});
