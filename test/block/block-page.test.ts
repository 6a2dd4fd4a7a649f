import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BlockPage, blockedText, wantsHtml } from "../../src/block/block-page.ts";
import type { BlockInfo } from "../../src/block/block-template.ts";
import { blockPageFromConfig } from "../../src/block/from-config.ts";

const INFO: BlockInfo = {
  host: "ads.example",
  port: 443,
  url: "https://ads.example/x",
  rule: "no-ads",
  reason: "r",
  client: "10.0.0.7",
  user: "bob",
  listener: "explicit",
  time: "2026-11-23T09:00:00.000Z",
};

function parse(bytes: Uint8Array): { status: string; headers: Map<string, string>; body: string } {
  const text = new TextDecoder().decode(bytes);
  const [head, body = ""] = text.split("\r\n\r\n");
  const [start, ...lines] = (head ?? "").split("\r\n");
  return { status: start ?? "", headers: new Map(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 2)])), body };
}

describe("BlockPage.answer", () => {
  it("gives a framed, uncacheable 403 that closes the connection", () => {
    const a = BlockPage.default.answer(INFO, { method: "GET", accept: "text/html" });
    const r = parse(a.bytes);
    assert.equal(a.status, 403);
    assert.equal(r.status, "HTTP/1.1 403 Forbidden");
    assert.equal(Number(r.headers.get("content-length")), new TextEncoder().encode(r.body).byteLength);
    assert.equal(r.headers.get("connection"), "close");
    assert.equal(r.headers.get("cache-control"), "no-store");
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    assert.equal(r.headers.get("proxy-status"), 'tollgate; error=destination_denied; details="rule no-ads"');
  });

  it("counts Content-Length in bytes, not characters", () => {
    const a = BlockPage.default.answer({ ...INFO, message: "Zugriff verweigert: Glücksspiel ✋" }, { method: "GET", accept: "text/html" });
    const r = parse(a.bytes);
    assert.equal(Number(r.headers.get("content-length")), new TextEncoder().encode(r.body).byteLength);
    assert.match(r.body, /Glücksspiel ✋/);
  });

  it("answers text to clients that do not ask for HTML", () => {
    for (const accept of [undefined, "*/*", "application/json", "text/html;q=0"]) {
      const r = parse(BlockPage.default.answer(INFO, { method: "GET", accept }).bytes);
      assert.equal(r.headers.get("content-type"), "text/plain; charset=utf-8", String(accept));
      assert.equal(r.body, blockedText(INFO));
    }
  });

  it("a redirect with no page and no placeholders is used as it is", () => {
    const page = new BlockPage({ redirect: "https://portal.example/blocked", interceptDenied: false });
    const a = page.answer(INFO, { method: "POST", accept: undefined });
    assert.equal(a.status, 302);
    assert.equal(parse(a.bytes).headers.get("location"), "https://portal.example/blocked");
  });

  it("a redirect carries a lone surrogate in a value (half an emoji) as U+FFFD instead of failing", () => {
    const page = new BlockPage({ redirect: "https://portal.example/blocked?m={{message}}&u={{user}}", interceptDenied: false });
    const a = page.answer({ ...INFO, message: "Blocked \ud83d - ask", user: "\udc00bob\ud83d\ude00" }, { method: "GET", accept: "text/html" });
    assert.equal(a.status, 302);
    assert.equal(parse(a.bytes).headers.get("location"), "https://portal.example/blocked?m=Blocked%20%EF%BF%BD%20-%20ask&u=%EF%BF%BDbob%F0%9F%98%80");
    const html = parse(BlockPage.default.answer({ ...INFO, message: "Blocked \ud83d" }, { method: "GET", accept: "text/html" }).bytes);
    assert.match(html.body, /Blocked \ufffd/);
  });

  it("refuses a template with an unknown placeholder and a redirect that is no http(s) URL", () => {
    assert.throws(() => new BlockPage({ template: "{{nope}}", interceptDenied: false }), /unknown placeholder \{\{nope\}\}/);
    assert.throws(() => new BlockPage({ redirect: "mailto:it@corp.example", interceptDenied: false }), /expected an http or https URL/);
  });
});

describe("wantsHtml", () => {
  it("is true for browser navigations, false for the rest", () => {
    assert.equal(wantsHtml("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), true);
    assert.equal(wantsHtml("application/xhtml+xml"), true);
    assert.equal(wantsHtml("TEXT/HTML ; q=0.5"), true);
    assert.equal(wantsHtml("text/html;q=0"), false);
    assert.equal(wantsHtml("*/*"), false);
    assert.equal(wantsHtml("text/*"), false);
    assert.equal(wantsHtml("image/avif,image/webp,*/*"), false);
    assert.equal(wantsHtml(undefined), false);
  });
});

describe("blockPageFromConfig", () => {
  it("reads the template file and names it when it cannot", () => {
    const read = (path: string) => {
      if (path === "good.html") return "<b>{{host}}</b>";
      if (path === "typo.html") return "{{hots}}";
      throw new Error("ENOENT: no such file");
    };
    const page = blockPageFromConfig({ template: "good.html", interceptDenied: true }, read);
    assert.equal(page.interceptDenied, true);
    assert.equal(parse(page.answer(INFO, { method: "GET", accept: "text/html" }).bytes).body, "<b>ads.example</b>");
    assert.throws(() => blockPageFromConfig({ template: "missing.html", interceptDenied: false }, read), /^Error: blockPage\.template: cannot read "missing\.html": ENOENT/);
    assert.throws(() => blockPageFromConfig({ template: "typo.html", interceptDenied: false }, read), /^Error: blockPage\.template "typo\.html": unknown placeholder \{\{hots\}\}/);
    for (const typo of ["{{client_ip}}", "{{rule-id}}", "{{user.name}}", "{{host1}}"]) {
      assert.throws(() => blockPageFromConfig({ template: "t.html", interceptDenied: false }, () => `<p>Blocked for ${typo}</p>`), /unknown placeholder/, typo);
    }
    assert.throws(() => blockPageFromConfig({ redirect: "https://portal.example/?c={{client_ip}}", interceptDenied: false }, read), /unknown placeholder \{\{client_ip\}\}/);
  });
});
