import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { explainConfig } from "../../src/admin/explain.ts";
import { parseConfig } from "../../src/config/parse.ts";
import { normalizeHost } from "../../src/core/host.ts";
import { compileUrlRules } from "../../src/policy/url-rules.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

const MONDAY_10 = Date.parse("2026-11-23T10:00:00+01:00"); // a Monday, Berlin winter time
const MONDAY_18 = Date.parse("2026-11-23T18:00:00+01:00");
const SATURDAY_10 = Date.parse("2026-11-28T10:00:00+01:00");

const rules = compileUrlRules([
  { id: "no-video-at-work", hosts: [".video.example"], paths: ["/watch"], action: "deny", schedule: { days: ["mon", "tue", "wed", "thu", "fri"], from: "09:00", to: "17:00", timeZone: "Europe/Berlin" } },
  { id: "no-live", paths: ["/live"], action: "deny", log: true },
]);
const host = normalizeHost("www.video.example");

describe("url rules with a schedule", () => {
  it("match only inside their window, and the reason says when", () => {
    const d = rules.decide({ host, path: "/watch?v=1", method: "GET", now: MONDAY_10 });
    assert.equal(d.action, "deny");
    assert.equal(d.reason, 'url rule "no-video-at-work" matched host "www.video.example" (pattern ".video.example") and path "/watch" during mon-fri 09:00-17:00 Europe/Berlin (now Mon 10:00 Europe/Berlin)');
    assert.equal(rules.decide({ host, path: "/watch", method: "GET", now: MONDAY_18 }).ruleId, "default");
    assert.equal(rules.decide({ host, path: "/watch", method: "GET", now: SATURDAY_10 }).ruleId, "default");
    assert.equal(rules.decide({ host, path: "/live", method: "GET", now: SATURDAY_10 }).ruleId, "no-live", "rules without a schedule always apply");
  });

  it("an unreadable path is denied by a scheduled rule only inside its window", () => {
    assert.equal(rules.decide({ host, path: "/wat%zzch", method: "GET", now: MONDAY_10 }).action, "deny");
    assert.equal(rules.decide({ host, path: "/wat%zzch", method: "GET", now: MONDAY_18 }).ruleId, "no-live", "the next rule that may match it");
  });

  it("come from the config, where a bad schedule is reported at its path", () => {
    const config = parseConfig({
      ca: { cert: "ca.pem", key: "ca.key" },
      policy: {
        defaultAction: "allow",
        rules: [{ id: "video", hosts: [".video.example"], action: "allow", decryption: "decrypt" }],
        urlRules: [{ id: "no-video-at-work", paths: ["/watch"], action: "deny", schedule: { from: "09:00", to: "17:00", timeZone: "Europe/Berlin" } }],
      },
    });
    assert.deepEqual(config.policy.urlRules[0]?.schedule, { from: "09:00", to: "17:00", timeZone: "Europe/Berlin" });
    const at = (iso: string) => explainConfig(config, { url: "https://www.video.example/watch", at: iso }).url?.action;
    assert.equal(at("2026-11-23T10:00:00+01:00"), "deny");
    assert.equal(at("2026-11-23T18:00:00+01:00"), "allow");
    assert.deepEqual(problems({ policy: { urlRules: [{ id: "u", action: "deny", schedule: { from: "9am" } }] } }), [
      'policy.urlRules[0].schedule.from: expected a time "HH:MM" (00:00-24:00), got "9am"',
    ]);
  });

  it("are checked by the compiler too", () => {
    assert.throws(() => compileUrlRules([{ id: "u", action: "deny", schedule: { timeZone: "Mars/Olympus" } }]), /^TypeError: urlRules\[0\]\.schedule\.timeZone: /);
  });
});
