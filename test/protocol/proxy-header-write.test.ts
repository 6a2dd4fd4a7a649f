import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeLatin1 } from "../../src/core/bytes.ts";
import { ProxyHeaderReader } from "../../src/protocol/proxy-header.ts";
import { proxyHeader, type ProxyHeaderFields } from "../../src/protocol/proxy-header-write.ts";
import { v1, v2 } from "./proxy-header-builder.ts";

const relayed = (src: string, sport: number, dst: string, dport: number, authority?: string): ProxyHeaderFields => ({
  command: "proxy",
  source: { address: src, port: sport },
  destination: { address: dst, port: dport },
  ...(authority === undefined ? {} : { authority }),
});

/** What the gateway's own reader makes of a header, checking it takes every byte. */
function read(bytes: Uint8Array) {
  const reader = new ProxyHeaderReader();
  const header = reader.push(bytes);
  assert.ok(header);
  assert.equal(header.length, bytes.byteLength);
  assert.equal(reader.rest().byteLength, 0);
  return header;
}

describe("proxyHeader (writing PROXY protocol headers for backends)", () => {
  it("v1 over IPv4 and IPv6 is the spec's line, byte for byte", () => {
    assert.equal(decodeLatin1(proxyHeader("v1", relayed("192.0.2.7", 51000, "10.0.0.1", 443))), "PROXY TCP4 192.0.2.7 10.0.0.1 51000 443\r\n");
    assert.deepEqual(proxyHeader("v1", relayed("192.0.2.7", 51000, "10.0.0.1", 443)), v1("TCP4", "192.0.2.7", "10.0.0.1", 51000, 443));
    assert.equal(decodeLatin1(proxyHeader("v1", relayed("2001:db8::7", 1, "2001:db8::1", 65535))), "PROXY TCP6 2001:db8::7 2001:db8::1 1 65535\r\n");
  });

  it("v2 over IPv4 and IPv6 is what a load balancer sends, byte for byte", () => {
    assert.deepEqual(proxyHeader("v2", relayed("192.0.2.7", 5555, "198.51.100.1", 443)), v2({ src: "192.0.2.7", dst: "198.51.100.1", sport: 5555, dport: 443 }));
    assert.deepEqual(proxyHeader("v2", relayed("2001:db8::7", 5555, "2001:db8::1", 443)), v2({ src: "2001:db8::7", dst: "2001:db8::1", sport: 5555, dport: 443 }));
  });

  it("round-trips through the gateway's reader, both versions and families", () => {
    for (const version of ["v1", "v2"] as const) {
      for (const [src, dst] of [["203.0.113.9", "127.0.0.1"], ["2001:db8::9", "::1"]] as const) {
        const h = read(proxyHeader(version, relayed(src, 40000, dst, 8443)));
        assert.equal(h.version, version === "v1" ? 1 : 2);
        assert.equal(h.command, "proxy");
        assert.deepEqual(h.source, { address: src, port: 40000 });
        assert.deepEqual(h.destination, { address: dst, port: 8443 });
      }
    }
  });

  it("an IPv4 client on an IPv6 socket: both addresses in one family", () => {
    // a dual-stack listener sees IPv4 clients as IPv4-mapped addresses
    assert.equal(decodeLatin1(proxyHeader("v1", relayed("::ffff:192.0.2.7", 1000, "192.0.2.1", 443))), "PROXY TCP4 192.0.2.7 192.0.2.1 1000 443\r\n");
    assert.equal(decodeLatin1(proxyHeader("v1", relayed("192.0.2.7", 1000, "2001:db8::1", 443))), "PROXY TCP6 ::ffff:192.0.2.7 2001:db8::1 1000 443\r\n");
    const h = read(proxyHeader("v2", relayed("192.0.2.7", 1000, "2001:db8::1", 443)));
    assert.deepEqual(h.source, { address: "192.0.2.7", port: 1000 }); // the reader gives mapped addresses as IPv4
    assert.deepEqual(h.destination, { address: "2001:db8::1", port: 443 });
  });

  it("LOCAL (a health check): v1 UNKNOWN, v2 LOCAL without addresses", () => {
    assert.equal(decodeLatin1(proxyHeader("v1", { command: "local" })), "PROXY UNKNOWN\r\n");
    assert.deepEqual(read(proxyHeader("v2", { command: "local" })), { version: 2, command: "local", tlvs: [], length: 16 });
    assert.equal(read(proxyHeader("v1", { command: "local" })).command, "local");
  });

  it("addresses that are not IPs are sent as UNKNOWN / LOCAL rather than made up", () => {
    assert.equal(decodeLatin1(proxyHeader("v1", relayed("unix", 0, "10.0.0.1", 443))), "PROXY UNKNOWN\r\n");
    assert.equal(read(proxyHeader("v2", relayed("10.0.0.1", 1, "", 0))).command, "local");
  });

  it("v2 carries the client's server name as the authority TLV", () => {
    const h = read(proxyHeader("v2", relayed("192.0.2.7", 5555, "10.0.0.1", 443, "app.example.com")));
    assert.deepEqual(h.tlvs.map((t) => [t.type, new TextDecoder().decode(t.value)]), [[0x02, "app.example.com"]]);
    assert.deepEqual(proxyHeader("v2", relayed("192.0.2.7", 5555, "10.0.0.1", 443, "app.example.com")), v2({
      src: "192.0.2.7",
      dst: "10.0.0.1",
      sport: 5555,
      dport: 443,
      tlvs: [{ type: 0x02, value: new TextEncoder().encode("app.example.com") }],
    }));
    // v1 has no room for it
    assert.equal(decodeLatin1(proxyHeader("v1", relayed("192.0.2.7", 5555, "10.0.0.1", 443, "app.example.com"))), "PROXY TCP4 192.0.2.7 10.0.0.1 5555 443\r\n");
  });

  it("refuses ports out of range and an oversized authority", () => {
    assert.throws(() => proxyHeader("v1", relayed("192.0.2.7", 70000, "10.0.0.1", 443)), RangeError);
    assert.throws(() => proxyHeader("v2", relayed("192.0.2.7", 1, "10.0.0.1", -1)), RangeError);
    assert.throws(() => proxyHeader("v2", relayed("192.0.2.7", 1, "10.0.0.1", 443, "a".repeat(256))), /over 255/);
  });
});
