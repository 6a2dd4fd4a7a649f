import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { localText, localTime, parseSchedule, scheduleMatches, scheduleText, timeZoneError } from "../../src/policy/schedule.ts";

/** Monday 23 November 2026 at `hhmm` UTC. */
const mondayUtc = (hhmm: string) => Date.parse(`2026-11-23T${hhmm}:00Z`);
const WORKDAYS = ["mon", "tue", "wed", "thu", "fri"];

describe("schedules", () => {
  it("a weekday window in a time zone, from inclusive, to exclusive", () => {
    // Berlin is UTC+1 in November
    const lunch = parseSchedule({ days: WORKDAYS, from: "12:00", to: "13:30", timeZone: "Europe/Berlin" });
    assert.equal(scheduleMatches(lunch, mondayUtc("10:59")), false, "11:59 in Berlin");
    assert.equal(scheduleMatches(lunch, mondayUtc("11:00")), true, "12:00 in Berlin");
    assert.equal(scheduleMatches(lunch, mondayUtc("12:29")), true);
    assert.equal(scheduleMatches(lunch, mondayUtc("12:30")), false, "13:30 is the end");
    assert.equal(scheduleMatches(lunch, Date.parse("2026-11-22T11:15:00Z")), false, "Sunday");
    assert.equal(scheduleText(lunch), "mon-fri 12:00-13:30 Europe/Berlin");
    assert.equal(localText(lunch, mondayUtc("11:15")), "Mon 12:15 Europe/Berlin");
  });

  it("the zone's own daylight saving time: New York is UTC-4 in July, UTC-5 in November", () => {
    const nine = parseSchedule({ from: "09:00", to: "10:00", timeZone: "America/New_York" });
    assert.equal(scheduleMatches(nine, Date.parse("2026-07-06T13:30:00Z")), true);
    assert.equal(scheduleMatches(nine, Date.parse("2026-11-23T13:30:00Z")), false);
    assert.equal(scheduleMatches(nine, Date.parse("2026-11-23T14:30:00Z")), true);
  });

  it("over midnight: from after to; each part on its own calendar day", () => {
    const night = parseSchedule({ days: ["fri"], from: "22:00", to: "06:00", timeZone: "UTC" });
    assert.equal(scheduleMatches(night, Date.parse("2026-11-27T23:00:00Z")), true, "Friday 23:00");
    assert.equal(scheduleMatches(night, Date.parse("2026-11-27T05:00:00Z")), true, "Friday 05:00");
    assert.equal(scheduleMatches(night, Date.parse("2026-11-28T05:00:00Z")), false, "Saturday 05:00: not a listed day");
    assert.equal(scheduleMatches(night, Date.parse("2026-11-27T12:00:00Z")), false);
  });

  it("defaults: every day, the whole day; days shown in runs", () => {
    const always = parseSchedule({ timeZone: "UTC" });
    assert.equal(scheduleText(always), "every day 00:00-24:00 UTC");
    assert.equal(scheduleMatches(always, mondayUtc("23:59")), true);
    assert.equal(scheduleText(parseSchedule({ days: ["sat", "sun"], timeZone: "UTC" })), "sat,sun 00:00-24:00 UTC");
    assert.equal(scheduleText(parseSchedule({ days: ["mon", "wed", "thu", "fri"], timeZone: "UTC" })), "mon,wed-fri 00:00-24:00 UTC");
    assert.equal(parseSchedule({}).timeZone, new Intl.DateTimeFormat().resolvedOptions().timeZone, "the host's zone");
  });

  it("refuses bad fields, naming them", () => {
    assert.throws(() => parseSchedule({ days: ["mon", "someday"] }), /^TypeError: days\[1\]: expected "mon"/);
    assert.throws(() => parseSchedule({ days: [] }), /^TypeError: days: expected a non-empty array/);
    assert.throws(() => parseSchedule({ from: "9:00" }), /^TypeError: from: expected a time "HH:MM"/);
    assert.throws(() => parseSchedule({ to: "24:30" }), /^TypeError: to: expected a time "HH:MM"/);
    assert.throws(() => parseSchedule({ from: "10:00", to: "10:00", timeZone: "UTC" }), /^TypeError: to: expected a time other than "from"/);
    assert.throws(() => parseSchedule({ timeZone: "Mars/Olympus" }), /^TypeError: timeZone: expected an IANA time zone/);
    assert.equal(timeZoneError("Asia/Kolkata"), undefined);
  });

  it("local time is computed once a minute per zone and stays right across minutes", () => {
    const a = localTime("Asia/Kolkata", mondayUtc("00:00")); // UTC+5:30
    assert.deepEqual([a.day, a.minute], [1, 5 * 60 + 30]);
    const b = localTime("Asia/Kolkata", mondayUtc("00:01"));
    assert.deepEqual([b.day, b.minute], [1, 5 * 60 + 31]);
    const c = localTime("Asia/Kolkata", Date.parse("2026-11-22T18:30:00Z"));
    assert.deepEqual([c.day, c.minute], [1, 0], "midnight Monday in Kolkata");
  });
});
