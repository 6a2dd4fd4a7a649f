import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { normalizeHost } from "../../src/core/host.ts";
import { hostListProblems, loadHostLists } from "../../src/policy/load-host-lists.ts";

/** A reader of an in-memory directory; counts reads. */
function files(initial: Record<string, string>) {
  const texts = new Map(Object.entries(initial));
  const reader = {
    reads: 0,
    texts,
    readText: (path: string): string => {
      reader.reads++;
      const text = texts.get(path);
      if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return text;
    },
  };
  return reader;
}

describe("loadHostLists", () => {
  it("reads every list in its format", async () => {
    const fs = files({ "ads.txt": "ads.example\n", "hosts.txt": "0.0.0.0 evil.example\n" });
    const lists = await loadHostLists({ ads: { file: "ads.txt", format: "domains" }, bad: { file: "hosts.txt", format: "hosts" } }, fs.readText);
    assert.deepEqual([...lists.keys()], ["ads", "bad"]);
    assert.equal(lists.get("ads")?.matches(normalizeHost("x.ads.example"), undefined), true);
    assert.equal(lists.get("bad")?.matches(normalizeHost("evil.example"), undefined), true);
    assert.equal(lists.get("ads")?.name, "ads");
    assert.equal((await loadHostLists(undefined, fs.readText)).size, 0);
  });
  it("keeps a list whose text and format are the same, parses one that changed", async () => {
    const fs = files({ "a.txt": "a.example\n", "b.txt": "b.example\n" });
    const first = await loadHostLists({ a: { file: "a.txt" }, b: { file: "b.txt" } }, fs.readText);
    fs.texts.set("b.txt", "b.example\nc.example\n");
    const second = await loadHostLists({ a: { file: "a.txt" }, b: { file: "b.txt" } }, fs.readText, first);
    assert.equal(second.get("a"), first.get("a"), "unchanged: the same list");
    assert.notEqual(second.get("b"), first.get("b"));
    assert.equal(second.get("b")?.matches(normalizeHost("c.example"), undefined), true);
    const third = await loadHostLists({ a: { file: "a.txt", format: "domains" } }, fs.readText, second);
    assert.notEqual(third.get("a"), second.get("a"), "another format: parsed again");
    assert.equal(third.get("a")?.matches(normalizeHost("x.a.example"), undefined), true);
    assert.equal(fs.reads, 5, "every load reads every file");
  });
  it("names the list, the file and the line", async () => {
    const fs = files({ "ads.txt": "ok.example\nnot a name\n" });
    await assert.rejects(loadHostLists({ ads: { file: "ads.txt" } }, fs.readText), {
      message: 'policy.hostLists.ads: "ads.txt" line 2: expected one host pattern per line, got "not a name"',
    });
    await assert.rejects(loadHostLists({ gone: { file: "gone.txt" } }, fs.readText), {
      message: `policy.hostLists.gone: cannot read "gone.txt": ENOENT: no such file or directory, open 'gone.txt'`,
    });
  });
  it("parses a big list in slices, letting timers run in between", async () => {
    const text = Array.from({ length: 200_000 }, (_, i) => `h${i}.example`).join("\n");
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      const lists = await loadHostLists({ big: { file: "big.txt" } }, () => text);
      assert.equal(lists.get("big")?.size, 200_000);
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks >= 1, `the event loop ran during the parse (${ticks} ticks)`);
  });
});

describe("hostListProblems", () => {
  it("lists every list that cannot be used, not just the first", async () => {
    const fs = files({ "ok.txt": "a.example\n", "bad.txt": "0.0.0.0 x.example\n" });
    assert.deepEqual(await hostListProblems({ ok: { file: "ok.txt" }, bad: { file: "bad.txt" }, gone: { file: "gone.txt" } }, fs.readText), [
      'policy.hostLists.bad: "bad.txt" line 1: expected one host pattern per line, got "0.0.0.0 x.example"',
      `policy.hostLists.gone: cannot read "gone.txt": ENOENT: no such file or directory, open 'gone.txt'`,
    ]);
    assert.deepEqual(await hostListProblems(undefined, fs.readText), []);
  });
});
