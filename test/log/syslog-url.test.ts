import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseSyslogUrl, syslogUrlError } from "../../src/log/syslog-url.ts";

describe("parseSyslogUrl", () => {
  it("takes udp, tcp and tls with a host and a port, or the transport's default port", () => {
    assert.deepEqual(parseSyslogUrl("udp://10.0.0.5:5514"), { transport: "udp", host: { kind: "ipv4", address: "10.0.0.5" }, port: 5514, authority: "10.0.0.5:5514" });
    assert.deepEqual(parseSyslogUrl("TCP://SIEM.Corp.Example"), { transport: "tcp", host: { kind: "dns", name: "siem.corp.example" }, port: 514, authority: "siem.corp.example:514" });
    assert.equal(parseSyslogUrl("tls://siem.corp.example").port, 6514);
    assert.equal(parseSyslogUrl("udp://127.0.0.1").port, 514);
    assert.deepEqual(parseSyslogUrl("tls://[::1]:6514/").host, { kind: "ipv6", address: "::1" });
  });

  it("refuses anything else, saying why", () => {
    const cases: [string, RegExp][] = [
      ["siem:514", /not a URL/],
      ["http://siem:514", /scheme "http" is not udp, tcp or tls/],
      ["udp://", /no host/],
      ["tcp://user@siem:514", /no credentials/],
      ["tcp://siem:0", /a port 1-65535/],
      ["tcp://siem:70000", /a port 1-65535/],
      ["tls://siem:6514/path", /no path/],
    ];
    for (const [text, why] of cases) {
      assert.throws(() => parseSyslogUrl(text), SyntaxError, text);
      assert.match(syslogUrlError(text) ?? "", why, text);
    }
    assert.equal(syslogUrlError("udp://127.0.0.1:514"), undefined);
  });
});
