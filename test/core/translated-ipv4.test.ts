import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatIp, parseIp } from "../../src/core/ip.ts";
import { designatesIPv4, translatedIPv4 } from "../../src/core/translated-ipv4.ts";

function ip(text: string): Uint8Array {
  const bytes = parseIp(text);
  assert.ok(bytes, `test address ${text} parses`);
  return bytes;
}

describe("translatedIPv4", () => {
  it("reads the IPv4 address of the forms that designate it by translation", () => {
    const forms: [string, string][] = [
      ["::ffff:93.184.216.34", "93.184.216.34"],
      ["::93.184.216.34", "93.184.216.34"],
      ["::ffff:0:93.184.216.34", "93.184.216.34"],
      ["64:ff9b::5db8:d822", "93.184.216.34"],
      ["64:ff9b:1::5db8:d822", "93.184.216.34"],
      ["64:ff9b::a00:1", "10.0.0.1"],
    ];
    for (const [text, v4] of forms) {
      assert.equal(formatIp(translatedIPv4(ip(text)) ?? new Uint8Array(4)), v4, text);
      assert.equal(designatesIPv4(ip(text)), true, text);
    }
  });
  it("reads none from IPv4, plain IPv6, tunnels and NAT64 prefixes of unknown layout", () => {
    for (
      const text of [
        "93.184.216.34", "::", "::1", "2606:4700::1", "2002:5db8:d822::1", "2001:0:a00:1:0:0:80ff:fffe", "64:ff9b:1:1::5db8:d822",
        "64:ff9b:0:0:1::5db8:d822", "65:ff9b::5db8:d822",
      ]
    ) {
      assert.equal(translatedIPv4(ip(text)), undefined, text);
      assert.equal(designatesIPv4(ip(text)), false, text);
    }
  });
});
