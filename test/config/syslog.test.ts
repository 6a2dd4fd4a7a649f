import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

describe("config: log.syslog", () => {
  it("is absent by default; takes a URL and fills in the rest", () => {
    assert.equal(parseConfig({}).log.syslog, undefined);
    assert.deepEqual(parseConfig({ log: { syslog: { url: "udp://127.0.0.1:514" } } }).log, {
      flows: "stdout",
      syslog: { url: "udp://127.0.0.1:514", facility: "local0", appName: "tollgate", framing: "octet-counting", queueBytes: 16 * 1024 * 1024 },
    });
    const full = { url: "tls://siem.corp.example", facility: "auth", appName: "gw-edge", hostname: "gw1.corp.example", framing: "newline", queueBytes: 1048576, caFile: "siem-ca.pem", certFile: "gw.pem", keyFile: "gw.key" };
    assert.deepEqual(parseConfig({ log: { flows: "off", syslog: full } }).log, { flows: "off", syslog: full });
  });

  it("refuses what a collector would not take, saying why", () => {
    assert.deepEqual(
      problems({
        log: {
          syslog: { url: "http://siem:514", facility: "local9", appName: "toll gate", queueBytes: 10, verbose: true },
        },
      }),
      [
        'log.syslog.url: expected a "udp://", "tcp://" or "tls://host:port" URL, got "http://siem:514" (scheme "http" is not udp, tcp or tls)',
        "log.syslog.facility: expected a syslog facility (kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, security, console, solaris-cron, local0, local1, local2, local3, local4, local5, local6, local7), got \"local9\"",
        'log.syslog.appName: expected an APP-NAME: 1-48 printable ASCII characters without spaces, got "toll gate"',
        "log.syslog.queueBytes: expected an integer 65536-1073741824, got 10",
        'log.syslog.verbose: unknown key (expected one of "url", "facility", "appName", "hostname", "framing", "queueBytes", "caFile", "certFile", "keyFile")',
      ],
    );
    assert.deepEqual(problems({ log: { syslog: { url: "tls://siem", certFile: "gw.pem" } } }), ['log.syslog: expected "certFile" and "keyFile" together']);
    assert.deepEqual(problems({ log: { syslog: { url: "tcp://siem", caFile: "ca.pem" } } }), ['log.syslog: "caFile", "certFile" and "keyFile" are for a "tls://" URL']);
    assert.deepEqual(problems({ log: { syslog: { url: "udp://siem", framing: "newline" } } }), ['log.syslog: "framing" is for a "tcp://" or "tls://" URL (UDP sends one message per datagram)']);
    assert.deepEqual(problems({ log: { syslog: "udp://siem" } }), ["log.syslog: expected an object, got \"udp://siem\""]);
  });
});
