import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HttpParseError } from "../../src/protocol/http-errors.ts";
import {
  isFieldValue,
  isToken,
  isVisibleAscii,
  parseFieldLine,
  parseFieldLines,
  quote,
  splitHeadLines,
  splitList,
  trimOws,
} from "../../src/protocol/http-head.ts";

function throwsStatus(fn: () => unknown, status: number, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HttpParseError, `expected HttpParseError, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}

describe("character classes", () => {
  it("isToken", () => {
    assert.ok(isToken("GET"));
    assert.ok(isToken("X-Custom_Header.v1!#$%&'*+^`|~"));
    for (const bad of ["", "a b", "a:b", "a\tb", "é", "a(b", "a\"b", "a,b", "a/b"]) assert.ok(!isToken(bad), bad);
  });
  it("isFieldValue", () => {
    assert.ok(isFieldValue("text/html; q=0.9\tx"));
    assert.ok(isFieldValue("caf\u00e9"));
    assert.ok(isFieldValue(""));
    for (const bad of ["a\r\nb", "a\nb", "a\0b", "a\x7fb", "a\x01", "\u20ac"]) assert.ok(!isFieldValue(bad), JSON.stringify(bad));
  });
  it("isVisibleAscii", () => {
    assert.ok(isVisibleAscii("/a?b=c"));
    for (const bad of ["", "/a b", "/\u00e9", "/\x7f"]) assert.ok(!isVisibleAscii(bad));
  });
  it("trimOws and splitList", () => {
    assert.equal(trimOws(" \t a b \t"), "a b");
    assert.deepEqual(splitList(" a , b,,c "), ["a", "b", "", "c"]);
  });
  it("quote escapes and truncates", () => {
    assert.equal(quote("a\r\n"), '"a\\r\\n"');
    assert.equal(quote("x".repeat(100)).length, 64 + 3);
  });
});

describe("splitHeadLines", () => {
  it("splits a head and drops the empty line", () => {
    assert.deepEqual(splitHeadLines("A\r\nB: c\r\n\r\n", 400, "Request head"), ["A", "B: c"]);
  });
  it("rejects bare CR, bare LF and a missing empty line with the given status", () => {
    throwsStatus(() => splitHeadLines("A\nB: c\r\n\r\n", 400, "Request head"), 400, /bare LF/);
    throwsStatus(() => splitHeadLines("A\rB: c\r\n\r\n", 502, "Response head"), 502, /bare CR/);
    throwsStatus(() => splitHeadLines("A\r\nB: c\r\n", 400, "Request head"), 400, /empty line/);
    throwsStatus(() => splitHeadLines("\nA\r\n\r\n", 400, "Request head"), 400, /bare LF at offset 0/);
  });
});

describe("parseFieldLine", () => {
  it("trims OWS around the value and keeps inner whitespace", () => {
    assert.deepEqual(parseFieldLine("X-A: \t a  b \t", 400), ["X-A", "a  b"]);
    assert.deepEqual(parseFieldLine("X-Empty:", 400), ["X-Empty", ""]);
    assert.deepEqual(parseFieldLine("X-Obs: caf\u00e9", 400), ["X-Obs", "caf\u00e9"]);
    assert.deepEqual(parseFieldLine("X-Tab: a\tb", 400), ["X-Tab", "a\tb"]);
  });
  it("rejects malformed lines", () => {
    throwsStatus(() => parseFieldLine(" folded", 400), 400, /folding/);
    throwsStatus(() => parseFieldLine("\tfolded", 502), 502, /folding/);
    throwsStatus(() => parseFieldLine("Host : a", 400), 400, /Whitespace between field name "Host" and colon/);
    throwsStatus(() => parseFieldLine("Host\t: a", 400), 400, /Whitespace/);
    throwsStatus(() => parseFieldLine("NoColon", 400), 400, /no colon/);
    throwsStatus(() => parseFieldLine(": v", 400), 400, /Empty field name/);
    throwsStatus(() => parseFieldLine("Bad(Name): v", 400), 400, /Invalid field name/);
    throwsStatus(() => parseFieldLine("X-A: a\0b", 400), 400, /Invalid character/);
    throwsStatus(() => parseFieldLine("X-A: a\x7f", 400), 400, /Invalid character/);
    throwsStatus(() => parseFieldLine("", 400), 400, /Empty line/);
  });
});

describe("parseFieldLines", () => {
  it("enforces the field count with its own status", () => {
    const lines = ["start", ...Array.from({ length: 5 }, (_, i) => `X-${i}: v`)];
    assert.equal(parseFieldLines(lines, 1, 5, 400, 431).size, 5);
    throwsStatus(() => parseFieldLines(lines, 1, 4, 400, 431), 431, /Too many header fields/);
  });
});
