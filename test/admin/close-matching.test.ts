import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { closeMatching, filterText, unfiltered } from "../../src/admin/close-matching.ts";
import { parseConnectionQuery } from "../../src/admin/open-connections.ts";
import type { AdminState } from "../../src/admin/state.ts";
import { openFlow } from "./_fake-state.ts";

const query = (q: string) => parseConnectionQuery((name) => new URLSearchParams(q).get(name) ?? undefined);

describe("closeMatching", () => {
  it("needs a filter; names it in the reason", () => {
    assert.match(unfiltered(query("")) ?? "", /at least one filter/);
    assert.match(unfiltered(query("sort=bytes&limit=5")) ?? "", /at least one filter/, "sort and limit select nothing");
    assert.equal(unfiltered(query("minDurationMs=0")), undefined);
    assert.equal(filterText(query("user=alice&host=*.example.com&limit=3")), "user=alice&host=*.example.com");
  });

  it("closes what the listing shows: closed, ended meanwhile, silent workers, and what lay beyond the limit", async () => {
    const asked: string[] = [];
    const state: Pick<AdminState, "connections" | "closeConnections"> = {
      connections: (q) => {
        asked.push(`list limit ${q.limit}`);
        return Promise.resolve({ connections: [openFlow("0-1"), openFlow("1-2"), openFlow("2-3")], total: 5, unanswered: [3] });
      },
      closeConnections: (ids, reason) => {
        asked.push(`${ids.join(",")}: ${reason}`);
        return Promise.resolve(ids.map((id) => (id === "0-1" ? "closed" : id === "1-2" ? "not-found" : "no-answer")));
      },
    };
    const done = await closeMatching(state, query("user=alice"), false);
    assert.deepEqual(done, { closed: ["0-1"], ended: 1, remaining: 2, unanswered: [2, 3] });
    assert.deepEqual(asked, [
      "list limit 10000",
      "0-1,1-2,2-3: closed by an administrator (DELETE /connections?user=alice)",
    ]);
    asked.length = 0;
    await closeMatching(state, query("user=alice&limit=3"), true);
    assert.equal(asked[0], "list limit 3");
  });
});
