import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { declaredMediaTypes, DEFAULT_MEDIA_TYPE } from "../../src/protocol/media-type.ts";

describe("declaredMediaTypes", () => {
  it("reads type/subtype, lowercased, without parameters", () => {
    assert.deepEqual(declaredMediaTypes(["Text/HTML; charset=UTF-8"]), ["text/html"]);
    assert.deepEqual(declaredMediaTypes(["  video/mp4  "]), ["video/mp4"]);
  });

  it("reads every field and every list item, keeping commas inside quoted strings", () => {
    assert.deepEqual(declaredMediaTypes(["image/png", "application/x-msdownload"]), ["image/png", "application/x-msdownload"]);
    assert.deepEqual(declaredMediaTypes(['text/plain; note="a, b/c", video/mp4']), ["text/plain", "video/mp4"]);
    assert.deepEqual(declaredMediaTypes(['text/plain; note="a \\" , b/c"']), ["text/plain"]);
    assert.deepEqual(declaredMediaTypes(["text/html", "TEXT/html; q=1"]), ["text/html"], "duplicates once");
  });

  it("skips what is no media type; with none left, assumes application/octet-stream (RFC 9110 §8.3)", () => {
    assert.deepEqual(declaredMediaTypes([]), [DEFAULT_MEDIA_TYPE]);
    assert.deepEqual(declaredMediaTypes([""]), [DEFAULT_MEDIA_TYPE]);
    assert.deepEqual(declaredMediaTypes(["html", "text /html", "a/b/c"]), [DEFAULT_MEDIA_TYPE]);
    assert.deepEqual(declaredMediaTypes(["nonsense", "image/gif"]), ["image/gif"]);
  });

  it("reads at most 16 types", () => {
    const many = Array.from({ length: 40 }, (_, i) => `x/t${i}`).join(",");
    assert.equal(declaredMediaTypes([many]).length, 16);
  });
});
