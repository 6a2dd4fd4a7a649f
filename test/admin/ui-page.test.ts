import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { dashboardPage } from "../../src/admin/ui-page.ts";
import { DASHBOARD_SCRIPT } from "../../src/admin/ui-script.ts";

describe("dashboard page", () => {
  it("embeds a script that parses as JavaScript", () => {
    assert.doesNotThrow(() => new Function(DASHBOARD_SCRIPT));
  });

  it("never builds HTML from data (no innerHTML, outerHTML, insertAdjacentHTML, document.write)", () => {
    for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]) {
      assert.ok(!DASHBOARD_SCRIPT.includes(sink), sink);
    }
    assert.ok(!DASHBOARD_SCRIPT.toLowerCase().includes("</script"));
  });

  it("has the parts the script looks up by id", () => {
    const html = dashboardPage("n0nce");
    const ids = [...DASHBOARD_SCRIPT.matchAll(/\$\("([a-z-]+)"\)/g)].map((m) => m[1]!);
    assert.ok(ids.length > 10);
    for (const id of new Set(ids)) assert.ok(html.includes(`id="${id}"`), id);
    for (const column of ["time", "client", "mode", "host", "decision", "rule", "up", "down", "duration"]) assert.ok(html.includes(`<th${column === "up" || column === "down" || column === "duration" ? ' class="num"' : ""}>${column}</th>`), column);
  });

  it("escapes the nonce", () => {
    assert.ok(dashboardPage('"><x').includes('nonce="&quot;&gt;&lt;x"'));
  });
});
