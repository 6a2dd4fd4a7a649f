import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HeaderList } from "../../src/protocol/http-headers.ts";
import { clientAddressText, forwardedHeaders, forwardedUserValue, IDENTITY_FIELDS, originalClient, TrustList, UNKNOWN_CLIENT, withoutFields } from "../../src/reverse/forwarded.ts";

const SPOOFED = new HeaderList([
  ["Accept", "*/*"],
  ["X-Forwarded-For", "6.6.6.6"],
  ["x-forwarded-for", "7.7.7.7"],
  ["X-Forwarded-Proto", "http"],
  ["X-Forwarded-Host", "evil.test"],
  ["X-Forwarded-Port", "1"],
  ["X-Real-IP", "6.6.6.6"],
  ["Forwarded", "for=6.6.6.6;proto=http"],
]);

describe("reverse forwarding fields", () => {
  it("from an untrusted peer: every client-sent forwarding field is replaced by ours", () => {
    const h = forwardedHeaders(SPOOFED, { peer: "192.0.2.7", proto: "https", host: "app.test", trusted: false });
    assert.deepEqual(h.getAll("x-forwarded-for"), ["192.0.2.7"]);
    assert.deepEqual(h.getAll("x-forwarded-proto"), ["https"]);
    assert.deepEqual(h.getAll("x-forwarded-host"), ["app.test"]);
    assert.deepEqual(h.getAll("forwarded"), ["for=192.0.2.7;host=app.test;proto=https"]);
    assert.equal(h.has("x-real-ip"), false);
    assert.equal(h.has("x-forwarded-port"), false);
    assert.equal(h.get("accept"), "*/*");
  });

  it("from an untrusted peer: other proxies' and CDNs' client address, scheme and prefix fields go too", () => {
    const fields = ["X-Client-IP", "Client-IP", "True-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP", "X-Cluster-Client-IP", "X-Forwarded", "Forwarded-For", "X-Forwarded-Scheme", "X-Forwarded-Ssl", "X-Forwarded-Prefix", "X-Forwarded-Server", "Front-End-Https", "X-Url-Scheme", "X-Original-Forwarded-For"];
    const spoofed = new HeaderList([["Accept", "*/*"], ...fields.map((n): [string, string] => [n, "6.6.6.6"])]);
    const h = forwardedHeaders(spoofed, { peer: "192.0.2.7", proto: "https", host: "app.test", trusted: false });
    assert.deepEqual(h.entries.map(([n]) => n), ["Accept", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded"]);
    // a trusted proxy's own are its to set
    const trusted = forwardedHeaders(spoofed, { peer: "192.0.2.7", proto: "https", host: "app.test", trusted: true });
    assert.equal(trusted.get("true-client-ip"), "6.6.6.6");
  });

  it("from an untrusted peer: look-alikes with _ for - go too (CGI-style backends read them as the same field)", () => {
    const lookalikes = new HeaderList([["X_Forwarded_For", "6.6.6.6"], ["x-real_ip", "6.6.6.6"], ["X_Request_Thing", "kept"]]);
    const h = forwardedHeaders(lookalikes, { peer: "192.0.2.7", proto: "https", host: "app.test", trusted: false });
    assert.deepEqual(h.entries.map(([n]) => n), ["X_Request_Thing", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded"]);
    assert.deepEqual(withoutFields(new HeaderList([["Client_Cert", ":AA:"], ["x_forwarded_USER", "root"], ["Accept", "*/*"]]), IDENTITY_FIELDS).entries, [["Accept", "*/*"]]);
  });

  it("a user name as X-Forwarded-User: printable ASCII as it is, the rest percent-encoded UTF-8, one value per name", () => {
    const names = ["alice", "Carol Smith", "José", "Łukasz Nowak", "50%", " alice", "alice ", "a\x7fb", "\u{1D49C}x", "alice%20"];
    const values = names.map(forwardedUserValue);
    assert.deepEqual(values, ["alice", "Carol Smith", "Jos%C3%A9", "%C5%81ukasz Nowak", "50%25", "%20alice", "alice%20", "a%7Fb", "%F0%9D%92%9Cx", "alice%2520"]);
    assert.deepEqual(values.map(decodeURIComponent), names);
    assert.ok(values.every((v) => /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(v)), "a valid field value");
  });

  it("from a trusted peer: ours are appended, their proto and host kept", () => {
    const h = forwardedHeaders(SPOOFED, { peer: "10.0.0.5", proto: "https", host: "app.test", trusted: true });
    assert.deepEqual(h.getAll("x-forwarded-for"), ["6.6.6.6, 7.7.7.7, 10.0.0.5"]);
    assert.deepEqual(h.getAll("x-forwarded-proto"), ["http"]);
    assert.deepEqual(h.getAll("x-forwarded-host"), ["evil.test"]);
    assert.deepEqual(h.getAll("forwarded"), ["for=6.6.6.6;proto=http, for=10.0.0.5;host=app.test;proto=https"]);
  });

  it("a trusted peer that sent nothing gets the same fields as an untrusted one", () => {
    const h = forwardedHeaders(new HeaderList([]), { peer: "10.0.0.5", proto: "http", host: "app.test:8080", trusted: true });
    assert.deepEqual(h.entries.map(([n, v]) => `${n}: ${v}`), [
      "X-Forwarded-For: 10.0.0.5",
      "X-Forwarded-Proto: http",
      "X-Forwarded-Host: app.test:8080",
      'Forwarded: for=10.0.0.5;host="app.test:8080";proto=http',
    ]);
  });

  it("quotes IPv6 nodes in Forwarded, shows IPv4-mapped addresses as IPv4, leaves host out when absent", () => {
    const h = forwardedHeaders(new HeaderList([]), { peer: "2001:db8::1", proto: "https", host: undefined, trusted: false });
    assert.equal(h.get("forwarded"), 'for="[2001:db8::1]";proto=https');
    assert.equal(h.get("x-forwarded-for"), "2001:db8::1");
    assert.equal(h.has("x-forwarded-host"), false);
    assert.equal(clientAddressText("::ffff:192.0.2.1"), "192.0.2.1");
  });

  it("finds the original client: the peer unless trusted, else the rightmost untrusted X-Forwarded-For entry", () => {
    const trust = new TrustList(["10.0.0.0/8", "::1"]);
    const xff = (v: string) => new HeaderList([["X-Forwarded-For", v]]);
    assert.equal(originalClient(xff("1.1.1.1"), "192.0.2.7", trust), "192.0.2.7");
    assert.equal(originalClient(xff("1.1.1.1, 2.2.2.2"), "10.0.0.5", trust), "2.2.2.2");
    assert.equal(originalClient(xff("1.1.1.1, 10.9.9.9"), "::ffff:10.0.0.5", trust), "1.1.1.1");
    assert.equal(originalClient(xff("10.1.1.1"), "10.0.0.5", trust), "10.1.1.1");
    assert.equal(originalClient(xff("garbage, 10.1.1.1"), "10.0.0.5", trust), UNKNOWN_CLIENT, "a trusted proxy's client it did not name");
    assert.equal(originalClient(xff("1.1.1.1, garbage"), "10.0.0.5", trust), UNKNOWN_CLIENT, "not the proxy itself");
    assert.equal(originalClient(xff("unknown"), "10.0.0.5", trust), UNKNOWN_CLIENT);
    assert.equal(originalClient(xff("garbage, 2.2.2.2"), "10.0.0.5", trust), "2.2.2.2", "left of the client: not read");
    // with a port, or in brackets, as some proxies write it
    assert.equal(originalClient(xff("203.0.113.5:4711"), "10.0.0.5", trust), "203.0.113.5");
    assert.equal(originalClient(xff("[2001:db8::1]"), "10.0.0.5", trust), "2001:db8::1");
    assert.equal(originalClient(xff("[2001:db8::1]:443, 10.1.1.1:80"), "10.0.0.5", trust), "2001:db8::1");
    assert.equal(originalClient(xff("203.0.113.5:99999"), "10.0.0.5", trust), UNKNOWN_CLIENT);
    assert.equal(originalClient(new HeaderList([]), "::1", trust), "::1");
    assert.equal(trust.has("10.255.0.1"), true);
    assert.equal(trust.has("11.0.0.1"), false);
    assert.equal(new TrustList([]).has("10.0.0.1"), false);
    assert.throws(() => new TrustList(["10.0.0.0/33"]), TypeError);
  });
});
