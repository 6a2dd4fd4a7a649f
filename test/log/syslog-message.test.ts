import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { headerField, severityOf, syslogMessage, type SyslogOrigin } from "../../src/log/syslog-message.ts";
import { flowRecord, requestRecord } from "../metrics/_record.ts";

const origin: SyslogOrigin = { facility: "local0", hostname: "gw1.corp.example", appName: "tollgate", procId: "4242" };

/** The parts of an RFC 5424 message: PRI, VERSION, TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID, SD, MSG. */
function parse(message: string) {
  const m = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-) (.*)$/s.exec(message);
  assert.ok(m, `not an RFC 5424 message: ${message}`);
  return { pri: Number(m[1]), timestamp: m[2], hostname: m[3], appName: m[4], procId: m[5], msgId: m[6], sd: m[7], msg: m[8]! };
}

describe("syslogMessage", () => {
  it("is an RFC 5424 message whose MSG is the record's JSON line", () => {
    const record = flowRecord({ time: "2026-11-23T10:15:00.123Z", host: "bücher.example", reason: 'a "quoted"\nreason' });
    const message = syslogMessage(record, origin);
    const p = parse(message);
    assert.deepEqual(
      [p.pri, p.timestamp, p.hostname, p.appName, p.procId, p.msgId, p.sd],
      [16 * 8 + 6, "2026-11-23T10:15:00.123Z", "gw1.corp.example", "tollgate", "4242", "flow", "-"],
    );
    assert.deepEqual(JSON.parse(p.msg), record);
    assert.ok(!message.includes("\n"), "one line: JSON escapes the newline in a field");
    assert.equal(parse(syslogMessage(requestRecord(), origin)).msgId, "request");
  });

  it("takes the facility and, from the record, the severity", () => {
    const pri = (facility: SyslogOrigin["facility"], record = flowRecord()) => parse(syslogMessage(record, { ...origin, facility })).pri;
    assert.equal(pri("kern"), 6);
    assert.equal(pri("auth"), 4 * 8 + 6);
    assert.equal(pri("local7"), 23 * 8 + 6);
    assert.equal(severityOf(flowRecord()), 6, "informational");
    assert.equal(severityOf(flowRecord({ decision: "deny", end: "denied" })), 5, "a denied connection: notice");
    assert.equal(severityOf(flowRecord({ decision: "deny", end: "denied", error: "Could not issue a certificate" })), 5, "still a denial");
    assert.equal(severityOf(flowRecord({ end: "revoked", error: "the policy denies it now: …" })), 5, "revoked: notice");
    assert.equal(severityOf(flowRecord({ end: "error", error: "Upstream TLS handshake failed" })), 4, "a failure: warning");
    assert.equal(severityOf(requestRecord({ decision: "deny" })), 5);
    assert.equal(severityOf(requestRecord({ error: "upstream reset" })), 4);
  });

  it("keeps header fields printable and within their lengths", () => {
    assert.equal(headerField("gw 1\tä", 255), "gw_1__");
    assert.equal(headerField("", 48), "-");
    assert.equal(headerField("x".repeat(60), 48), "x".repeat(48));
    const p = parse(syslogMessage(flowRecord(), { ...origin, hostname: "", appName: "a b" }));
    assert.deepEqual([p.hostname, p.appName], ["-", "a_b"]);
  });

  it("stamps a record without a time with the current one", () => {
    const p = parse(syslogMessage(flowRecord({ time: "" }), origin, () => new Date("2026-11-23T11:00:00Z")));
    assert.equal(p.timestamp, "2026-11-23T11:00:00.000Z");
  });
});
