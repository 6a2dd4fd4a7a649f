/**
 * Every README example written as a whole config file parses: each ```json block that is
 * a JSON object made only of top-level config keys (not a fragment such as one listener or
 * one rule) goes through `parseConfig`, with the README's placeholder for a password hash
 * ("pbkdf2-sha256$600000$…") replaced by a well-formed one. A reader who copies one gets a
 * config the gateway takes.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseConfig } from "../../src/config/parse.ts";
import { parseJson } from "../../src/config/json.ts";

const TOP = new Set(["$schema", "listeners", "policy", "ca", "interception", "dns", "limits", "log", "reverse", "addressGuard", "admin", "proxyAuth", "parents", "blockPage", "workers", "deno"]);
const HASH = `pbkdf2-sha256$600000$${btoa("0123456789abcdef")}$${btoa("0123456789abcdef0123456789abcdef")}`;

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const blocks: { line: number; text: string }[] = [];
{
  const lines = readme.split("\n");
  let start = -1;
  lines.forEach((l, i) => {
    if (start < 0 && /^```json\s*$/.test(l)) start = i + 1;
    else if (start >= 0 && /^```\s*$/.test(l)) {
      blocks.push({ line: start, text: lines.slice(start, i).join("\n") });
      start = -1;
    }
  });
}

describe("README whole-config examples", () => {
  const whole = blocks.flatMap((b) => {
    let value: unknown;
    try {
      value = parseJson(b.text.replaceAll("pbkdf2-sha256$600000$…", HASH));
    } catch {
      return []; // a fragment ("policy": {…}, two rules, …)
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) return [];
    return Object.keys(value).every((k) => TOP.has(k)) ? [{ ...b, value }] : [];
  });

  it("finds the examples", () => assert.ok(whole.length >= 10, String(whole.length)));
  for (const b of whole) {
    it(`README.md line ${b.line}`, () => {
      assert.doesNotThrow(() => parseConfig(b.value), (e: Error) => e.message);
    });
  }
});
