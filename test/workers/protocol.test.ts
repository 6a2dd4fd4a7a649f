import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { encodeMessage, LineSplitter, MAX_TO_WORKER_LINE, parseFromWorker, parseToWorker, type ToWorker } from "../../src/workers/protocol.ts";
import { MAX_JSON_LENGTH, parseJson } from "../../src/config/json.ts";
import { flowRecord } from "../metrics/_record.ts";

describe("LineSplitter", () => {
  it("reassembles lines split anywhere, multi-byte characters included", () => {
    const text = encodeMessage({ t: "config", raw: { note: "grüße — ✓" }, ports: { explicit: 3128 } }) + encodeMessage({ t: "rotate-leaf-key" });
    const bytes = new TextEncoder().encode(text);
    const splitter = new LineSplitter();
    const lines: string[] = [];
    for (const b of bytes) lines.push(...splitter.push(Uint8Array.of(b)));
    assert.equal(lines.length, 2);
    assert.deepEqual(parseToWorker(lines[0]!), { t: "config", raw: { note: "grüße — ✓" }, ports: { explicit: 3128 } });
    assert.deepEqual(parseToWorker(lines[1]!), { t: "rotate-leaf-key" });
    assert.equal(splitter.pending, "");
  });

  it("throws RangeError once a line outgrows the limit, finished or not", () => {
    assert.throws(() => new LineSplitter(16).push("x".repeat(17)), RangeError);
    assert.throws(() => new LineSplitter(16).push("x".repeat(17) + "\nok\n"), RangeError);
    assert.deepEqual(new LineSplitter(16).push("x".repeat(16) + "\n"), ["x".repeat(16)]);
  });
});

describe("a worker's channel from its primary", () => {
  it("carries a start message with the longest config the parser takes", () => {
    // one deny rule listing hosts, the text just under the parser's limit (over 8 MiB)
    const head = '{"workers": 2, "policy": {"rules": [{"id": "ads", "action": "deny", "hosts": [';
    const entry = (i: number) => `"h${String(i).padStart(7, "0")}.ads.example", `;
    const count = Math.floor((MAX_JSON_LENGTH - head.length - 20) / entry(0).length);
    const text = head + Array.from({ length: count }, (_, i) => entry(i)).join("") + '"last.example"]}]}}';
    assert.ok(text.length > MAX_JSON_LENGTH - 64 && text.length <= MAX_JSON_LENGTH, String(text.length));
    const raw = parseJson(text);
    const bytes = new TextEncoder().encode(encodeMessage({ t: "start", index: 1, count: 2, raw, base: "/", ports: {}, self: [] }));
    const splitter = new LineSplitter(MAX_TO_WORKER_LINE);
    const lines: string[] = [];
    for (let at = 0; at < bytes.length; at += 65_536) lines.push(...splitter.push(bytes.subarray(at, at + 65_536)));
    assert.equal(lines.length, 1);
    const start = parseToWorker(lines[0]!);
    assert.equal(start.t, "start");
    assert.deepEqual(start.t === "start" && start.raw, raw);
  });
});

describe("worker messages", () => {
  it("round-trips every message kind", () => {
    const toWorker: ToWorker[] = [
      { t: "start", index: 1, count: 2, raw: { workers: 2 }, base: "/etc/tollgate", ports: { proxy: 3128 }, self: [{ address: "127.0.0.1", port: 9090 }] },
      { t: "config", raw: { policy: {} }, ports: {} },
      { t: "rotate-leaf-key" },
      { t: "drain", graceMs: 10_000 },
      { t: "connections", req: 7, query: { filter: { host: "*.example.com", user: "alice" }, sort: "bytes", limit: 50 } },
      { t: "close-connections", req: 8, ids: ["2-17", "2-18"], reason: "closed by an administrator" },
      { t: "sign-in", req: 9, verdict: { ok: true } },
      { t: "sign-in", req: 10, verdict: { ok: false, by: "user", reason: 'too many failed sign-ins for user "alice"', retryAfterMs: 900_000 } },
    ];
    for (const m of toWorker) assert.deepEqual(parseToWorker(encodeMessage(m).trimEnd()), m);
    const record = flowRecord();
    assert.deepEqual(parseFromWorker(encodeMessage({ t: "flow", record, quiet: true }).trimEnd()), { t: "flow", record, quiet: true });
    assert.deepEqual(parseFromWorker('{"t":"ready","pid":42}'), { t: "ready", pid: 42 });
    assert.deepEqual(parseFromWorker('{"t":"metrics","text":"x 1\\n"}'), { t: "metrics", text: "x 1\n" });
    assert.deepEqual(parseFromWorker('{"t":"reloaded","generation":3,"error":"bad"}'), { t: "reloaded", generation: 3, error: "bad" });
    const open = { ...flowRecord({ end: null }), id: "2-17", since: "2026-11-23T10:00:00.000Z" };
    const listed = { t: "connections", req: 7, connections: [open], total: 40 } as const;
    assert.deepEqual(parseFromWorker(encodeMessage(listed).trimEnd()), listed);
    assert.deepEqual(parseFromWorker('{"t":"closed","req":8,"closed":["2-18"]}'), { t: "closed", req: 8, closed: ["2-18"] });
    assert.deepEqual(parseFromWorker('{"t":"closed","req":8,"closed":[]}'), { t: "closed", req: 8, closed: [] });
    assert.deepEqual(parseFromWorker('{"t":"sign-in","req":3,"name":"alice","client":"2001:db8::1"}'), { t: "sign-in", req: 3, name: "alice", client: "2001:db8::1" });
    for (const outcome of ["succeeded", "failed", "unasked", "uncounted"] as const) {
      assert.deepEqual(parseFromWorker(`{"t":"sign-in-end","req":3,"outcome":"${outcome}"}`), { t: "sign-in-end", req: 3, outcome });
    }
  });

  it("rejects what is not a message with SyntaxError", () => {
    for (const line of ["", "hello", "[]", "{}", '{"t":"nope"}', '{"t":"ready"}', '{"t":"flow","record":{"type":"x"},"quiet":false}', '{"t":"metrics","text":1}', '{"t":"connections","req":1,"connections":[{"type":"flow"}],"total":1}', '{"t":"closed","req":-1,"closed":[]}', '{"t":"closed","req":1}', '{"t":"closed","req":1,"closed":true}', '{"t":"closed","req":1,"closed":[1]}', '{"t":"sign-in","req":1,"name":"a"}', `{"t":"sign-in","req":1,"name":"${"a".repeat(257)}","client":"192.0.2.1"}`, '{"t":"sign-in-end","req":1,"outcome":"maybe"}']) {
      assert.throws(() => parseFromWorker(line), SyntaxError, line);
    }
    for (const line of ['{"t":"start","index":-1,"count":2,"raw":null,"base":"/","ports":{},"self":[]}', '{"t":"start","index":1,"count":2,"raw":null,"base":"/","ports":{"p":70000},"self":[]}', '{"t":"drain"}', '{"t":"ready","pid":1}', '{"t":"connections","req":1,"query":{"filter":{"hostname":"x"},"sort":"age","limit":1}}', '{"t":"connections","req":1,"query":{"filter":{},"sort":"age","limit":0}}', '{"t":"close-connections","req":1,"ids":["0-1"]}', '{"t":"close-connections","req":1,"ids":"0-1","reason":"r"}', `{"t":"close-connections","req":1,"ids":${JSON.stringify(Array.from({ length: 10_001 }, (_, i) => `1-${i}`))},"reason":"r"}`, '{"t":"sign-in","req":1,"verdict":{"ok":false,"by":"user"}}', '{"t":"sign-in","req":1,"verdict":{"ok":false,"by":"mood","reason":"r","retryAfterMs":1}}']) {
      assert.throws(() => parseToWorker(line), SyntaxError, line);
    }
  });
});
