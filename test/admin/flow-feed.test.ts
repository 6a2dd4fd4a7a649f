import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type FeedRecord, FlowFeed, SSE_HEADERS, sseFrame, sseStream } from "../../src/admin/flow-feed.ts";
import { flowRecord, requestRecord } from "../metrics/_record.ts";

const tick = () => new Promise<void>((r) => setTimeout(r, 0));
const hosts = (rs: readonly FeedRecord[]) => rs.map((r) => r.host);

describe("FlowFeed history", () => {
  it("keeps the newest records up to capacity, newest last", () => {
    const feed = new FlowFeed({ capacity: 3 });
    for (let i = 1; i <= 5; i++) feed.write(flowRecord({ host: `h${i}` }));
    assert.deepEqual(hosts(feed.recent()), ["h3", "h4", "h5"]);
    assert.deepEqual(hosts(feed.recent(2)), ["h4", "h5"]);
    assert.deepEqual(hosts(feed.recent(10)), ["h3", "h4", "h5"]);
    assert.deepEqual(feed.recent(0), []);
    const s = feed.stats();
    assert.equal(s.size, 3);
    assert.equal(s.capacity, 3);
    assert.equal(s.written, 5);
  });

  it("stays bounded over many writes", () => {
    const feed = new FlowFeed();
    for (let i = 0; i < 5000; i++) feed.write(flowRecord({ port: i }));
    assert.equal(feed.stats().capacity, 1000);
    const all = feed.recent();
    assert.equal(all.length, 1000);
    assert.equal(all[0]?.port, 4000);
    assert.equal(all.at(-1)?.port, 4999);
  });

  it("holds a snapshot, not the writer's object", () => {
    const feed = new FlowFeed();
    const r = flowRecord({ bytesUp: 1 });
    feed.write(r);
    r.bytesUp = 99;
    const held = feed.recent()[0] as typeof r;
    assert.equal(held.bytesUp, 1);
    assert.ok(Object.isFrozen(held));
  });

  it("carries request records too, and clears", () => {
    const feed = new FlowFeed();
    feed.write(requestRecord({ url: "https://a.test/x" }));
    assert.equal(feed.recent()[0]?.type, "request");
    feed.clear();
    assert.deepEqual(feed.recent(), []);
  });

  it("refuses bad sizes", () => {
    assert.throws(() => new FlowFeed({ capacity: 0 }), RangeError);
    assert.throws(() => new FlowFeed({ capacity: 1.5 }), RangeError);
    assert.throws(() => new FlowFeed().recent(-1), RangeError);
  });
});

describe("FlowFeed.subscribe", () => {
  it("delivers later records in order, after the writer returns", async () => {
    const feed = new FlowFeed();
    feed.write(flowRecord({ host: "before" }));
    const got: FeedRecord[] = [];
    const stop = feed.subscribe((r) => void got.push(r));
    feed.write(flowRecord({ host: "a" }));
    feed.write(flowRecord({ host: "b" }));
    assert.deepEqual(got, [], "the writer never runs subscriber code");
    await tick();
    assert.deepEqual(hosts(got), ["a", "b"]);
    stop();
    feed.write(flowRecord({ host: "c" }));
    await tick();
    assert.deepEqual(hosts(got), ["a", "b"]);
    assert.equal(feed.stats().subscribers, 0);
  });

  it("a stalled subscriber holds at most maxQueue records and is told what it missed", async () => {
    const feed = new FlowFeed();
    const got: string[] = [];
    const drops: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let first = true;
    feed.subscribe(
      async (r) => {
        got.push(r.host!);
        if (first) {
          first = false;
          await gate;
        }
      },
      { maxQueue: 4, onDrop: (n) => drops.push(n) },
    );
    const fast: string[] = [];
    feed.subscribe((r) => void fast.push(r.host!));
    feed.write(flowRecord({ host: "h0" }));
    await tick(); // h0 delivered, subscriber now stalled
    for (let i = 1; i <= 100; i++) feed.write(flowRecord({ host: `h${i}` }));
    await tick();
    assert.deepEqual(got, ["h0"]);
    assert.equal(fast.length, 101, "a fast subscriber is not held back by a slow one");
    assert.equal(feed.stats().dropped, 96);
    release();
    await tick();
    assert.deepEqual(got, ["h0", "h97", "h98", "h99", "h100"]);
    assert.deepEqual(drops, [96]);
  });

  it("recent() and a subscription take a filter; filtered-out records neither wait nor count as dropped", async () => {
    const feed = new FlowFeed();
    for (let i = 0; i < 50; i++) feed.write(flowRecord({ host: `h${i}`, decision: i % 10 === 0 ? "deny" : "allow" }));
    const denied = (r: FeedRecord) => r.decision === "deny";
    assert.deepEqual(hosts(feed.recent(3, denied)), ["h20", "h30", "h40"]);
    assert.deepEqual(hosts(feed.recent(undefined, denied)), ["h0", "h10", "h20", "h30", "h40"]);
    const got: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    feed.subscribe(async (r) => {
      got.push(r.host!);
      await gate;
    }, { maxQueue: 2, filter: denied });
    for (let i = 50; i < 100; i++) feed.write(flowRecord({ host: `h${i}`, decision: i % 20 === 0 ? "deny" : "allow" }));
    await tick();
    assert.equal(feed.stats().dropped, 0, "48 allowed records did not fill the queue of 2");
    release();
    await tick();
    assert.deepEqual(got, ["h60", "h80"]);
  });

  it("a throwing or rejecting subscriber is disconnected; the others go on", async () => {
    const feed = new FlowFeed();
    const ok: string[] = [];
    feed.subscribe(() => {
      throw new Error("broken pipe");
    });
    feed.subscribe(() => Promise.reject(new Error("gone")));
    feed.subscribe((r) => void ok.push(r.host!));
    feed.write(flowRecord({ host: "a" }));
    await tick();
    feed.write(flowRecord({ host: "b" }));
    await tick();
    assert.deepEqual(ok, ["a", "b"]);
    const s = feed.stats();
    assert.equal(s.subscribers, 1);
    assert.equal(s.disconnected, 2);
  });

  it("refuses a bad queue size", () => {
    assert.throws(() => new FlowFeed().subscribe(() => {}, { maxQueue: 0 }), RangeError);
  });
});

/** Reads the stream's text until `done(text)` holds, or fails after `ms`. */
const CONNECTED = ": connected\n\n";

/** Reads until `done(text)`; the stream's leading `: connected` comment is checked and left out of `text`. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, done: (text: string) => boolean, ms = 2000): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  let head = "";
  while (head.length < CONNECTED.length) {
    const { value, done: end } = await reader.read();
    if (end) throw new Error("stream ended before its first comment");
    head += decoder.decode(value, { stream: true });
  }
  assert.ok(head.startsWith(CONNECTED), `the stream opens with a comment, got ${JSON.stringify(head)}`);
  text = head.slice(CONNECTED.length);
  const deadline = Date.now() + ms;
  while (!done(text)) {
    if (Date.now() > deadline) throw new Error(`Timed out; read so far: ${JSON.stringify(text)}`);
    const { value, done: end } = await reader.read();
    if (end) break;
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

function frames(text: string): string[] {
  return text.split("\n\n").filter((f) => f !== "");
}

describe("sseStream", () => {
  it("sends each record as an event: flow frame with its JSON", async () => {
    const feed = new FlowFeed();
    const ac = new AbortController();
    const reader = sseStream(feed, ac.signal, { keepaliveMs: 60_000 }).getReader();
    const a = flowRecord({ host: "a.test", error: "line\nbreak" });
    const b = requestRecord({ url: "https://b.test/" });
    feed.write(a);
    feed.write(b);
    const text = await readUntil(reader, (t) => frames(t).length >= 2);
    assert.equal(text, sseFrame("flow", a) + sseFrame("flow", b));
    const [f1] = frames(text);
    const lines = f1!.split("\n");
    assert.equal(lines.length, 2);
    assert.equal(lines[0], "event: flow");
    assert.deepEqual(JSON.parse(lines[1]!.slice("data: ".length)), a);
    ac.abort();
    assert.equal((await reader.read()).done, true);
    assert.equal(feed.stats().subscribers, 0);
  });

  it("replays the newest records first when asked", async () => {
    const feed = new FlowFeed();
    for (const h of ["x", "y", "z"]) feed.write(flowRecord({ host: h }));
    const ac = new AbortController();
    const reader = sseStream(feed, ac.signal, { keepaliveMs: 60_000, replay: 2 }).getReader();
    feed.write(flowRecord({ host: "live" }));
    const text = await readUntil(reader, (t) => frames(t).length >= 3);
    assert.deepEqual(frames(text).map((f) => JSON.parse(f.split("\ndata: ")[1]!).host), ["y", "z", "live"]);
    ac.abort();
  });

  it("replays and sends only what its filter accepts", async () => {
    const feed = new FlowFeed();
    for (const h of ["x.a", "y.b", "z.a"]) feed.write(flowRecord({ host: h }));
    const ac = new AbortController();
    const onlyA = (r: FeedRecord) => r.host?.endsWith(".a") === true;
    const reader = sseStream(feed, ac.signal, { keepaliveMs: 60_000, replay: 3, filter: onlyA }).getReader();
    for (const h of ["live.b", "live.a"]) feed.write(flowRecord({ host: h }));
    const text = await readUntil(reader, (t) => frames(t).length >= 3);
    assert.deepEqual(frames(text).map((f) => JSON.parse(f.split("\ndata: ")[1]!).host), ["x.a", "z.a", "live.a"]);
    ac.abort();
  });

  it("sends keepalive comments at the configured interval", async () => {
    const feed = new FlowFeed();
    const ac = new AbortController();
    const reader = sseStream(feed, ac.signal, { keepaliveMs: 20 }).getReader();
    const started = Date.now();
    const text = await readUntil(reader, (t) => frames(t).length >= 2);
    assert.ok(Date.now() - started >= 30, "two keepalives take at least about two intervals");
    assert.deepEqual(frames(text).slice(0, 2), [": keepalive", ": keepalive"]);
    ac.abort();
    assert.equal((await reader.read()).done, true);
  });

  it("ends when the signal aborts, and at once if it already had", async () => {
    const feed = new FlowFeed();
    const ac = new AbortController();
    const reader = sseStream(feed, ac.signal, { keepaliveMs: 60_000 }).getReader();
    assert.equal(feed.stats().subscribers, 1);
    assert.equal(await readUntil(reader, () => true), "");
    setTimeout(() => ac.abort(), 10);
    assert.equal((await reader.read()).done, true);
    assert.equal(feed.stats().subscribers, 0);
    feed.write(flowRecord()); // no subscriber left to feed
    const before = AbortSignal.abort();
    const r2 = sseStream(feed, before).getReader();
    assert.equal((await r2.read()).done, true);
    assert.equal(feed.stats().subscribers, 0);
  });

  it("unsubscribes when the reader cancels", async () => {
    const feed = new FlowFeed();
    const ac = new AbortController();
    const stream = sseStream(feed, ac.signal, { keepaliveMs: 60_000 });
    assert.equal(feed.stats().subscribers, 1);
    await stream.cancel();
    assert.equal(feed.stats().subscribers, 0);
    ac.abort(); // harmless after cancel
  });

  it("a client that stops reading costs bounded memory and is told what it missed", async () => {
    const feed = new FlowFeed();
    const ac = new AbortController();
    const reader = sseStream(feed, ac.signal, { keepaliveMs: 60_000, highWaterMark: 2, maxQueue: 3 }).getReader();
    for (let i = 0; i < 1000; i++) feed.write(flowRecord({ port: i }));
    await tick();
    await tick();
    const dropped = feed.stats().dropped;
    assert.ok(dropped >= 1000 - 2 - 1 - 3 - 1, `dropped ${dropped}`); // stream buffer + one in flight + queue
    const text = await readUntil(reader, (t) => t.includes("event: dropped") && /port":999/.test(t));
    const fs = frames(text);
    assert.ok(fs.length <= 2 + 1 + 3 + 1 + 1, `${fs.length} frames`);
    const dropFrame = fs.find((f) => f.startsWith("event: dropped"))!;
    assert.equal(JSON.parse(dropFrame.split("\ndata: ")[1]!).dropped, dropped);
    ac.abort();
  });

  it("can be a Response body with the SSE headers", async () => {
    const feed = new FlowFeed();
    const ac = new AbortController();
    const res = new Response(sseStream(feed, ac.signal, { keepaliveMs: 60_000 }), { headers: SSE_HEADERS });
    assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
    feed.write(flowRecord({ host: "r.test" }));
    setTimeout(() => ac.abort(), 20);
    const body = await res.text();
    assert.equal(body, CONNECTED + sseFrame("flow", feed.recent()[0]));
  });

  it("refuses bad options", () => {
    const feed = new FlowFeed();
    const ac = new AbortController();
    assert.throws(() => sseStream(feed, ac.signal, { keepaliveMs: 0 }), RangeError);
    assert.throws(() => sseStream(feed, ac.signal, { replay: -1 }), RangeError);
    assert.throws(() => sseStream(feed, ac.signal, { maxQueue: 0 }), RangeError);
    assert.equal(feed.stats().subscribers, 0);
  });
});
