import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  foldPathCase,
  MAX_PATH_PATTERN,
  normalizeUrlPath,
  parsePathPattern,
  pathPatternError,
  pathPatternMatches,
  removeDotSegments,
} from "../../src/policy/url-path.ts";

const matches = (pattern: string, path: string) => pathPatternMatches(parsePathPattern(pattern), normalizeUrlPath(path).path);

describe("removeDotSegments", () => {
  it("resolves . and .. as RFC 3986 5.2.4 does", () => {
    const cases: [string, string][] = [
      ["/", "/"],
      ["/a/b/c/./../../g", "/a/g"],
      ["/a/../b", "/b"],
      ["/a/b/..", "/a/"],
      ["/a/.", "/a/"],
      ["/..", "/"],
      ["/../../x", "/x"],
      ["/a//../b", "/a/b"],
      ["//admin", "//admin"],
      ["/a/.../b", "/a/.../b"],
      ["/a/..b/c", "/a/..b/c"],
    ];
    for (const [input, output] of cases) assert.equal(removeDotSegments(input), output, input);
  });
});

describe("normalizeUrlPath", () => {
  it("drops the query and fragment", () => {
    assert.deepEqual(normalizeUrlPath("/a/b?x=/admin#f"), { path: "/a/b" });
    assert.deepEqual(normalizeUrlPath("/a#/../admin"), { path: "/a" });
  });
  it("decodes unreserved escapes only, once, and uppercases the rest", () => {
    assert.deepEqual(normalizeUrlPath("/%61dmin/%7e%2D%5f%2E"), { path: "/admin/~-_." });
    assert.deepEqual(normalizeUrlPath("/a%20b/%3a%40"), { path: "/a%20b/%3A%40" });
    assert.deepEqual(normalizeUrlPath("/%2561dmin"), { path: "/%2561dmin" });
  });
  it("resolves dot-segments, also encoded ones", () => {
    assert.deepEqual(normalizeUrlPath("/public/../admin"), { path: "/admin", dotSegments: true });
    assert.deepEqual(normalizeUrlPath("/public/%2e%2e/admin"), { path: "/admin", dotSegments: true });
    assert.deepEqual(normalizeUrlPath("/public/%2E./%2e/admin/"), { path: "/admin/", dotSegments: true });
    assert.deepEqual(normalizeUrlPath("/a/..b/.c"), { path: "/a/..b/.c" }, "names that start with dots are no dot-segments");
  });
  it("keeps case and double slashes, with a lenient reading that merges runs of slashes (as nginx does)", () => {
    assert.deepEqual(normalizeUrlPath("/Admin//x"), { path: "/Admin//x", lenient: "/Admin/x" });
    assert.deepEqual(normalizeUrlPath("//admin"), { path: "//admin", lenient: "/admin" });
    assert.deepEqual(normalizeUrlPath("/.//admin"), { path: "//admin", lenient: "/admin", dotSegments: true });
    assert.deepEqual(normalizeUrlPath("/public///..//admin"), { path: "/public///admin", lenient: "/admin", dotSegments: true });
    assert.deepEqual(normalizeUrlPath("/;x/admin"), { path: "/;x/admin", lenient: "/admin" });
    assert.deepEqual(normalizeUrlPath("/%2fadmin"), { path: "/%2Fadmin", lenient: "/admin" });
  });
  it("keeps an encoded slash literal and adds a lenient reading", () => {
    assert.deepEqual(normalizeUrlPath("/public/..%2fadmin"), { path: "/public/..%2Fadmin", lenient: "/admin" });
    assert.deepEqual(normalizeUrlPath("/a%2Fb"), { path: "/a%2Fb", lenient: "/a/b" });
    assert.deepEqual(normalizeUrlPath("/public/..%5cadmin"), { path: "/public/..%5Cadmin", lenient: "/admin" });
    assert.deepEqual(normalizeUrlPath("/public\\..\\admin"), { path: "/public\\..\\admin", lenient: "/admin" });
    assert.deepEqual(normalizeUrlPath("/public/..;/admin"), { path: "/public/..;/admin", lenient: "/admin" });
    assert.deepEqual(normalizeUrlPath("/admin;jsessionid=1/x"), { path: "/admin;jsessionid=1/x", lenient: "/admin/x" });
  });
  it("passes the asterisk-form through", () => {
    assert.deepEqual(normalizeUrlPath("*"), { path: "*" });
  });
  it("rejects what it cannot normalise", () => {
    assert.throws(() => normalizeUrlPath("admin"), SyntaxError);
    assert.throws(() => normalizeUrlPath("http://x/admin"), /expected a path starting with "\/", got "http:\/\/x\/admin"/);
    assert.throws(() => normalizeUrlPath(""), SyntaxError);
    assert.throws(() => normalizeUrlPath("/a%zz"), /malformed percent-escape at index 2/);
    assert.throws(() => normalizeUrlPath("/a%2"), SyntaxError);
    assert.throws(() => normalizeUrlPath("/a b"), /character " " at index 2/);
    assert.throws(() => normalizeUrlPath("/caf\u00e9"), SyntaxError);
    assert.throws(() => normalizeUrlPath("/a\u0000"), SyntaxError);
  });
});

describe("parsePathPattern", () => {
  it("reads prefixes and globs", () => {
    assert.deepEqual(parsePathPattern("/admin"), { kind: "prefix", source: "/admin", prefix: "/admin" });
    assert.deepEqual(parsePathPattern("/%61pi"), { kind: "prefix", source: "/%61pi", prefix: "/api" });
    assert.equal(parsePathPattern("/api/*/x").kind, "glob");
  });
  it("rejects bad patterns with a reason", () => {
    assert.equal(pathPatternError("admin"), 'expected a path starting with "/", got "admin"');
    assert.equal(pathPatternError(""), 'expected a path starting with "/", got ""');
    assert.equal(pathPatternError("/a?b"), 'expected a path without a query or fragment, got "/a?b"');
    assert.equal(pathPatternError("/a/../b"), 'expected a path pattern without "." or ".." segments, got "/a/../b"');
    assert.equal(pathPatternError("/a/%2e%2e/b"), 'expected a path pattern without "." or ".." segments, got "/a/%2e%2e/b"');
    assert.equal(pathPatternError("/a/***"), 'expected "*" or "**", not "***", got "/a/***"');
    assert.match(pathPatternError("/a%g0") ?? "", /^expected a path pattern, got "\/a%g0" \(malformed percent-escape/);
    assert.match(pathPatternError("/a b") ?? "", /not allowed in a path/);
    assert.match(pathPatternError(`/${"a".repeat(MAX_PATH_PATTERN)}`) ?? "", /at most 1024 characters/);
    assert.equal(pathPatternError("/ok/*/fine/**"), undefined);
  });
});

describe("pathPatternMatches", () => {
  it("matches a prefix at a segment boundary or exactly", () => {
    assert.ok(matches("/admin", "/admin"));
    assert.ok(matches("/admin", "/admin/"));
    assert.ok(matches("/admin", "/admin/x/y"));
    assert.ok(!matches("/admin", "/administrator"));
    assert.ok(!matches("/admin", "/Admin"));
    assert.ok(!matches("/admin", "/"));
    assert.ok(matches("/admin/", "/admin/x"));
    assert.ok(!matches("/admin/", "/admin"));
    assert.ok(matches("/", "/anything"));
  });
  it("matches the normalised path, not the raw one", () => {
    assert.ok(matches("/admin", "/public/../admin"));
    assert.ok(matches("/admin", "/public/%2e%2E/admin?x"));
    assert.ok(matches("/admin", "/%61dmin"));
    assert.ok(!matches("/admin", "/public/..%2Fadmin"));
    assert.ok(matches("/a%2Fb", "/a%2fb"));
  });
  it("keeps * within one segment, anchored", () => {
    assert.ok(matches("/api/*/private", "/api/v1/private"));
    assert.ok(matches("/api/*/private", "/api//private"));
    assert.ok(!matches("/api/*/private", "/api/v1/x/private"));
    assert.ok(!matches("/api/*/private", "/api/v1/private/x"));
    assert.ok(!matches("/api/*/private", "/x/api/v1/private"));
    assert.ok(matches("/files/*.pdf", "/files/a.pdf"));
    assert.ok(!matches("/files/*.pdf", "/files/a/b.pdf"));
    assert.ok(!matches("/files/*.pdf", "/files/a.pdfx"));
  });
  it("lets ** cross segments, and a /** segment match zero or more", () => {
    assert.ok(matches("/files/**.pdf", "/files/a/b.pdf"));
    assert.ok(matches("/a/**", "/a"));
    assert.ok(matches("/a/**", "/a/"));
    assert.ok(matches("/a/**", "/a/b/c"));
    assert.ok(!matches("/a/**", "/ab"));
    assert.ok(matches("/a/**/z", "/a/z"));
    assert.ok(matches("/a/**/z", "/a/b/c/z"));
    assert.ok(!matches("/a/**/z", "/a/bz"));
    assert.ok(!matches("/a/**/z", "/a/b/z/y"));
    assert.ok(matches("/**/secret", "/secret"));
    assert.ok(matches("/**/secret", "/x/y/secret"));
    assert.ok(!matches("/**/secret", "/x/notsecret"));
    assert.ok(matches("/**", "/"));
  });
  it("never matches the asterisk-form", () => {
    assert.ok(!matches("/", "*"));
    assert.ok(!matches("/**", "*"));
  });
  it("stays fast on adversarial globs", () => {
    const p = parsePathPattern(`/${"**/".repeat(20)}x`);
    const path = `/${"a/".repeat(5000)}y`;
    const t0 = performance.now();
    assert.equal(pathPatternMatches(p, path), false);
    assert.ok(performance.now() - t0 < 2000);
  });
});

describe("case-folded reading (caseSensitive: false)", () => {
  const folded = (pattern: string, path: string) => pathPatternMatches(parsePathPattern(pattern, true), foldPathCase(normalizeUrlPath(path).path));
  it("lowers ASCII letters and leaves escapes' hex digits alone", () => {
    assert.equal(foldPathCase("/Admin/X"), "/admin/x");
    assert.equal(foldPathCase("/A%2FB/%C3%A9"), "/a%2Fb/%C3%A9");
    assert.equal(foldPathCase("/plain"), "/plain");
  });
  it("matches prefixes and globs whatever the case, still at segment boundaries", () => {
    assert.ok(folded("/Admin", "/ADMIN/users"));
    assert.ok(folded("/admin", "/aDmIn"));
    assert.ok(!folded("/admin", "/ADMINISTRATOR"));
    assert.ok(folded("/files/*.PDF", "/FILES/report.pdf"));
    assert.ok(!folded("/files/*.pdf", "/files/a/b.pdf"));
    // decoded escapes of letters are letters: %41 is A
    assert.ok(folded("/admin", "/%41dmin"));
    // an encoded slash stays one in either spelling of its hex digits
    assert.ok(folded("/a%2Fb", "/A%2fB"));
    assert.ok(!folded("/a/b", "/a%2Fb"));
  });
  it("changes nothing without it", () => {
    assert.ok(!matches("/admin", "/ADMIN"));
    assert.equal(parsePathPattern("/Admin", true).source, "/Admin");
  });
});
