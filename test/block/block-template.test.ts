import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type BlockInfo, compileBlockTemplate, DEFAULT_MESSAGE, escapeHtml, escapeUrlComponent, fillBlockTemplate, PLACEHOLDERS } from "../../src/block/block-template.ts";
import { MAX_TEMPLATE_BYTES } from "../../src/block/page-template.ts";

const INFO: BlockInfo = {
  host: "ads.example",
  port: 443,
  url: "https://ads.example/a?b=<c>&d='e'",
  rule: "no-ads",
  reason: 'rule "no-ads" matched host pattern "*.example"',
  client: "10.0.0.7",
  listener: "explicit",
  time: "2026-11-23T09:00:00.000Z",
};

describe("block templates", () => {
  it("fills every placeholder, spaces inside the braces allowed", () => {
    const t = compileBlockTemplate(PLACEHOLDERS.map((p) => `${p}={{ ${p} }}`).join("|"));
    assert.equal(
      fillBlockTemplate(t, { ...INFO, user: "alice" }, (x) => x),
      `host=ads.example|port=443|url=https://ads.example/a?b=<c>&d='e'|rule=no-ads|reason=rule "no-ads" matched host pattern "*.example"|message=${DEFAULT_MESSAGE}|client=10.0.0.7|user=alice|listener=explicit|time=2026-11-23T09:00:00.000Z`,
    );
  });

  it("uses the rule's message when it has one, and an empty user without one", () => {
    const t = compileBlockTemplate("[{{message}}][{{user}}]");
    assert.equal(fillBlockTemplate(t, { ...INFO, message: "Ask IT" }, (x) => x), "[Ask IT][]");
  });

  it("escapes what it inserts, never the template's own text", () => {
    const t = compileBlockTemplate('<a title="{{reason}}">{{url}}</a>');
    assert.equal(
      fillBlockTemplate(t, INFO, escapeHtml),
      '<a title="rule &quot;no-ads&quot; matched host pattern &quot;*.example&quot;">https://ads.example/a?b=&lt;c&gt;&amp;d=&#39;e&#39;</a>',
    );
  });

  it("escapes to well-formed text: a lone surrogate becomes U+FFFD, a whole emoji stays", () => {
    assert.equal(escapeHtml("a\ud83d<b\ude00 \ud83d\ude00"), "a\ufffd&lt;b\ufffd \ud83d\ude00");
    assert.equal(escapeUrlComponent("a\ud83d b\ud83d\ude00"), "a%EF%BF%BD%20b%F0%9F%98%80");
  });

  it("leaves text that is not a placeholder alone: single or spaced braces, an unclosed pair, more than 64 characters between", () => {
    const text = `{ {host} } {host} { {1} } {{ unclosed } {{${"x".repeat(65)}}} {{a{b}}`;
    assert.equal(fillBlockTemplate(compileBlockTemplate(text), INFO, escapeHtml), text);
  });

  it("refuses anything else between {{ and }} that is not a placeholder, not only letters", () => {
    for (const typo of ["client_ip", "rule-id", "user.name", "host1", "", " ", "1", "Host", "host name", "x".repeat(64)]) {
      assert.throws(() => compileBlockTemplate(`<p>{{${typo}}}</p>`), (e: unknown) =>
        e instanceof Error && e.message.startsWith(`unknown placeholder {{${typo.trim()}}} at line 1; known: {{host}}`) && e.message.endsWith("{{time}}"), JSON.stringify(typo));
    }
    assert.throws(() => compileBlockTemplate("a\n{{ user\n name }}"), /^Error: unknown placeholder \{\{user name\}\} at line 2;/);
    assert.equal(fillBlockTemplate(compileBlockTemplate("{{\n host\t}}{{{host}}}"), INFO, escapeHtml), "ads.example{ads.example}", "spaces and line breaks around a name are fine");
  });

  it("refuses an unknown placeholder, naming its line and the known ones", () => {
    assert.throws(() => compileBlockTemplate("<p>\n{{hots}}</p>"), /^Error: unknown placeholder \{\{hots\}\} at line 2; known: \{\{host\}\} \{\{port\}\}/);
  });

  it("refuses a template over the size limit", () => {
    assert.throws(() => compileBlockTemplate("x".repeat(MAX_TEMPLATE_BYTES + 1)), /at most 262144/);
  });
});
