import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { JsonSyntaxError, parseJson } from "../../src/config/json.ts";

function syntaxError(text: string, limits?: Parameters<typeof parseJson>[1]): JsonSyntaxError {
  try {
    parseJson(text, limits);
  } catch (error) {
    assert.ok(error instanceof JsonSyntaxError, String(error));
    assert.ok(error instanceof SyntaxError);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be rejected`);
}

describe("parseJson", () => {
  it("parses what JSON.parse parses", () => {
    for (const text of [
      '{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n\\"",{}],"b":{"c":[]}}',
      " \n\t[ 0 , 1e-2 , \"\" ] \r\n",
      "\uFEFF{}",
      '"\\/\\\\\\b\\f\\r\\t"',
      "-0",
    ]) {
      assert.deepEqual(parseJson(text), JSON.parse(text.replace(/^\uFEFF/, "")));
    }
  });

  it("keeps __proto__ as an own key", () => {
    const value = parseJson('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    assert.ok(Object.hasOwn(value, "__proto__"));
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  });

  it("gives the line and column of the first error", () => {
    const error = syntaxError('{\n  "a": 1\n  "b": 2\n}');
    assert.equal(error.line, 3);
    assert.equal(error.column, 3);
    assert.equal(error.offset, 13);
    assert.equal(error.reason, 'expected "," or "}" after a property value, got "\\""');
    assert.equal(error.message, 'expected "," or "}" after a property value, got "\\"" at line 3, column 3');
  });

  it("names common mistakes", () => {
    assert.equal(syntaxError('{"a": 1,}').reason, 'expected a property name in double quotes, got "}" (trailing comma)');
    assert.equal(syntaxError("[1,]").reason, 'expected a value, got "]" (trailing comma)');
    assert.equal(syntaxError("{a: 1}").reason, 'expected a property name in double quotes, got "a"');
    assert.equal(syntaxError("{'a': 1}").reason, "expected a property name in double quotes, got \"'\"");
    assert.equal(syntaxError('{"a" 1}').reason, 'expected ":" after property name "a", got "1"');
    assert.equal(syntaxError('{"a": 1').reason, 'expected "," or "}" after a property value, got the end of the text');
    assert.equal(syntaxError('"abc').reason, "expected a closing double quote, got the end of the text");
    assert.equal(syntaxError('"a\tb"').reason, 'expected no control characters in a string (escape them), got "\\t"');
    assert.equal(syntaxError('"\\x"').reason, 'expected a valid escape sequence, got "x"');
    assert.equal(syntaxError('"\\u12g4"').reason, 'expected 4 hex digits after \\u, got "1"');
    assert.equal(syntaxError("01").reason, 'expected the end of the text, got "1"');
    assert.equal(syntaxError("-").reason, 'expected a number, got "-"');
    assert.equal(syntaxError("tru").reason, 'expected a value, got "t"');
    assert.equal(syntaxError("").reason, "expected a value, got the end of the text");
    assert.equal(syntaxError("{} {}").reason, 'expected the end of the text, got "{"');
  });

  it("rejects duplicate keys at the second one", () => {
    const error = syntaxError('{"a": 1,\n "a": 2}');
    assert.equal(error.reason, 'duplicate key "a"');
    assert.deepEqual([error.line, error.column], [2, 2]);
  });

  it("bounds nesting and length", () => {
    assert.deepEqual(parseJson("[[[]]]", { maxDepth: 3 }), [[[]]]);
    assert.equal(syntaxError("[[[[]]]]", { maxDepth: 3 }).reason, 'expected nesting of at most 3, got "["');
    assert.equal(syntaxError("[".repeat(100_000)).reason, 'expected nesting of at most 64, got "["');
    assert.equal(syntaxError('"abcdef"', { maxLength: 4 }).reason, "text is longer than 4 characters");
  });
});
