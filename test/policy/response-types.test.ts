import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { normalizeHost } from "../../src/core/host.ts";
import { decideResponse, mediaRangeError, mediaRangeMatches, parseMediaRange } from "../../src/policy/response-types.ts";
import type { UrlDecision, UrlPolicy, UrlRuleDefinition } from "../../src/policy/types.ts";
import { compileUrlRules } from "../../src/policy/url-rules.ts";

const ask = (rules: UrlPolicy, path: string, method = "GET", host = "app.example") =>
  rules.decide({ host: normalizeHost(host), path, method });

/** The decision for a request and then its response of `types` (the request's when no response rule applies). */
function final(rules: UrlPolicy, path: string, types: readonly string[], method = "GET", host = "app.example"): UrlDecision {
  const request = ask(rules, path, method, host);
  return request.action === "deny" ? request : (decideResponse(request, types) ?? request);
}

describe("media ranges", () => {
  it("takes type/subtype, type/* and */*, in any case", () => {
    assert.deepEqual(parseMediaRange("Video/*"), { type: "video", subtype: "*" });
    assert.deepEqual(parseMediaRange("application/vnd.microsoft.portable-executable"), { type: "application", subtype: "vnd.microsoft.portable-executable" });
    assert.deepEqual(parseMediaRange("*/*"), { type: "*", subtype: "*" });
  });

  it("refuses what is no media range, saying why", () => {
    for (const bad of ["video", "video/", "/mp4", "*/mp4", "vid*/mp4", "video/mp*", "text/html; charset=utf-8", "a b/c", "", "video/mp4/x"]) {
      assert.notEqual(mediaRangeError(bad), undefined, bad);
      assert.throws(() => parseMediaRange(bad), TypeError, bad);
    }
    assert.match(mediaRangeError("text/html; charset=utf-8") ?? "", /parameters such as charset are not matched/);
    assert.match(mediaRangeError("*/mp4") ?? "", /expected "\*\/\*" or a type before "\/\*"/);
  });

  it("matches whole types and subtypes", () => {
    const video = parseMediaRange("video/*");
    assert.equal(mediaRangeMatches(video, "video/mp4"), true);
    assert.equal(mediaRangeMatches(video, "videos/mp4"), false);
    assert.equal(mediaRangeMatches(video, "application/video"), false);
    const pdf = parseMediaRange("application/pdf");
    assert.equal(mediaRangeMatches(pdf, "application/pdf"), true);
    assert.equal(mediaRangeMatches(pdf, "application/pdfx"), false);
    assert.equal(mediaRangeMatches(parseMediaRange("*/*"), "text/html"), true);
  });
});

const RULES: UrlRuleDefinition[] = [
  { id: "no-admin", paths: ["/admin"], action: "deny", log: true },
  { id: "partner-video", hosts: ["tv.partner.example"], responseTypes: ["video/*"], action: "allow", log: true },
  { id: "no-video", responseTypes: ["video/*", "application/vnd.apple.mpegurl"], action: "deny", log: true, message: "No streaming at work." },
  { id: "exempt", hosts: ["exempt.example"], action: "allow", log: true },
  { id: "no-exe", responseTypes: ["application/x-msdownload", "application/octet-stream"], action: "deny", log: true },
];

describe("url rules with responseTypes", () => {
  const rules = compileUrlRules(RULES);

  it("a request they match is allowed and carries them, in rule order", () => {
    const d = ask(rules, "/watch");
    assert.equal(d.action, "allow");
    assert.equal(d.ruleId, "default");
    assert.deepEqual(d.byResponse?.map((p) => p.id), ["no-video", "no-exe"]);
  });

  it("the first one whose types match the response decides it, naming the type and the pattern", () => {
    const d = final(rules, "/watch", ["video/mp4"]);
    assert.deepEqual(d, {
      action: "deny",
      ruleId: "no-video",
      reason: 'url rule "no-video" matched response type "video/mp4" (pattern "video/*")',
      log: true,
      message: "No streaming at work.",
    });
    assert.equal(final(rules, "/setup", ["application/x-msdownload"]).reason, 'url rule "no-exe" matched response type "application/x-msdownload"');
  });

  it("a response none matches keeps the request's decision", () => {
    assert.equal(decideResponse(ask(rules, "/page"), ["text/html"]), undefined);
  });

  it("an allow ahead of a deny is an exception, with the request parts it matched in the reason", () => {
    const d = final(rules, "/live", ["video/mp2t"], "GET", "tv.partner.example");
    assert.equal(d.action, "allow");
    assert.equal(d.ruleId, "partner-video");
    assert.equal(d.reason, 'url rule "partner-video" matched host "tv.partner.example" and response type "video/mp2t" (pattern "video/*")');
    // the exception is for video only: its executables are still denied
    assert.equal(final(rules, "/x", ["application/octet-stream"], "GET", "tv.partner.example").ruleId, "no-exe");
  });

  it("a request rule ahead of them decides alone: the exempt host's responses are not checked", () => {
    const d = ask(rules, "/watch", "GET", "exempt.example");
    assert.equal(d.ruleId, "exempt");
    assert.equal(d.byResponse?.map((p) => p.id).join(), "no-video", "no-exe comes after the deciding rule");
    assert.equal(final(rules, "/x", ["application/x-msdownload"], "GET", "exempt.example").ruleId, "exempt");
  });

  it("a request denied by its own conditions is not sent to learn the type: no response rule is carried", () => {
    const d = ask(compileUrlRules([
      { id: "video-ok", responseTypes: ["video/*"], action: "allow" },
      { id: "no-uploads", methods: ["POST"], action: "deny" },
    ]), "/upload", "POST");
    assert.equal(d.action, "deny");
    assert.equal(d.byResponse, undefined);
  });

  it("several declared types: a deny needs one of them, an allow all of them", () => {
    const exception = compileUrlRules([
      { id: "images-ok", responseTypes: ["image/*"], action: "allow" },
      { id: "no-exe", responseTypes: ["application/x-msdownload"], action: "deny" },
    ]);
    assert.equal(final(exception, "/a", ["image/png", "application/x-msdownload"]).ruleId, "no-exe", "a second type cannot carry a response past the deny");
    assert.equal(final(exception, "/a", ["image/png", "image/gif"]).ruleId, "images-ok");
    assert.equal(final(rules, "/a", ["text/html", "video/webm"]).reason, 'url rule "no-video" matched response type "text/html", "video/webm" (pattern "video/*")');
  });

  it("their other conditions count, and a schedule shows in the reason", () => {
    const timed = compileUrlRules([{
      id: "no-video-at-work", hosts: [".video.example"], methods: ["GET"], responseTypes: ["video/*"], action: "deny",
      schedule: { days: ["mon"], from: "09:00", to: "17:00", timeZone: "UTC" },
    }]);
    const monday = Date.parse("2026-11-23T10:00:00Z");
    const d = timed.decide({ host: normalizeHost("www.video.example"), path: "/", method: "GET", now: monday });
    assert.equal(decideResponse(d, ["video/mp4"])?.reason,
      'url rule "no-video-at-work" matched host "www.video.example" (pattern ".video.example"), method GET and response type "video/mp4" (pattern "video/*") during mon 09:00-17:00 UTC (now Mon 10:00 UTC)');
    assert.equal(timed.decide({ host: normalizeHost("www.video.example"), path: "/", method: "GET", now: monday + 8 * 3600_000 }).byResponse, undefined, "outside the schedule");
    assert.equal(timed.decide({ host: normalizeHost("www.video.example"), path: "/", method: "POST", now: monday }).byResponse, undefined, "another method");
  });

  it("a path read two ways: a response the lenient reading denies is denied", () => {
    const r = compileUrlRules([
      { id: "media-ok", paths: ["/public"], responseTypes: ["video/*"], action: "allow" },
      { id: "no-private-video", paths: ["/private"], responseTypes: ["video/*"], action: "deny" },
    ]);
    // strict: under /public (an allow); lenient: /public/x/../../private/y = /private/y (a deny)
    assert.deepEqual(ask(r, "/public/x%2F..%2F..%2Fprivate/y").byResponse?.map((p) => p.id), ["media-ok"]);
    const d = final(r, "/public/x%2F..%2F..%2Fprivate/y", ["video/mp4"]);
    assert.equal(d.ruleId, "no-private-video");
    assert.match(d.reason, /read leniently\)$/);
    assert.equal(final(r, "/public/x", ["video/mp4"]).ruleId, "media-ok");
  });

  it("a path that cannot be normalised: a deny with paths cannot be ruled out, an allow with paths cannot be confirmed", () => {
    const r = compileUrlRules([
      { id: "media-ok", paths: ["/public"], responseTypes: ["video/*"], action: "allow" },
      { id: "no-private-video", paths: ["/private"], responseTypes: ["video/*"], action: "deny" },
    ]);
    const d = final(r, "/%zz", ["video/mp4"]);
    assert.equal(d.ruleId, "no-private-video");
    assert.match(d.reason, /^url rule "no-private-video" matched response type "video\/mp4" \(pattern "video\/\*"\) \(it may match path "\/%zz", which cannot be normalised: /);
    assert.equal(final(r, "/%zz", ["text/html"]).ruleId, "default");
  });

  it("refuses header edits on them and bad types, naming the field", () => {
    assert.throws(() => compileUrlRules([{ id: "x", responseTypes: ["video"], action: "deny" }]), /urlRules\[0\]\.responseTypes\[0\]: expected a media type like "video\/\*"/);
    assert.throws(
      () => compileUrlRules([{ id: "x", responseTypes: ["video/*"], action: "allow", responseHeaders: { remove: ["Alt-Svc"], set: [], add: [] } }]),
      /urlRules\[0\]\.responseTypes: a rule decided by the response takes no requestHeaders or responseHeaders/,
    );
  });
});
