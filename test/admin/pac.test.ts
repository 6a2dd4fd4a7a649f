import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pacScript } from "../../src/admin/pac.ts";
import type { PacData } from "../../src/admin/state.ts";

/** Minimal PAC runtime helpers, as browsers define them (no DNS: names never resolve). */
const helpers = {
  isPlainHostName: (host: string) => !host.includes("."),
  dnsDomainIs: (host: string, domain: string) => host.length >= domain.length && host.endsWith(domain),
  shExpMatch: (text: string, pattern: string) => {
    const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    return new RegExp(`^${re}$`).test(text);
  },
  isInNet: (host: string, net: string, mask: string) => {
    const parse = (ip: string) => {
      const parts = ip.split(".").map(Number);
      if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) return undefined;
      return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
    };
    const h = parse(host);
    if (h === undefined) throw new Error(`isInNet called with a name (would resolve DNS): ${host}`);
    const n = parse(net)!;
    const m = parse(mask)!;
    return ((h & m) >>> 0) === ((n & m) >>> 0);
  },
  dnsResolve: (host: string): string => {
    throw new Error(`PAC must not resolve ${host}`);
  },
};

type FindProxy = (url: string, host: string) => string;

/** Evaluates the PAC script in a function scope with only the helpers in sight. */
function load(data: PacData): FindProxy {
  const script = pacScript(data);
  const names = Object.keys(helpers);
  const factory = new Function(...names, `"use strict";\n${script}\nreturn FindProxyForURL;`) as (...args: unknown[]) => FindProxy;
  return factory(...names.map((n) => helpers[n as keyof typeof helpers]));
}

function route(find: FindProxy, url: string): string {
  const host = new URL(url).hostname;
  return find(url, host);
}

const PROXY = "PROXY 127.0.0.1:3128";

describe("proxy.pac", () => {
  const find = load({
    proxy: "127.0.0.1:3128",
    bypass: ["Intranet.Example.", "*.svc.example", ".corp.example", "192.0.2.7", "198.51.100.0/24", "[2001:db8::1]", "2001:db8:1::/48"],
  });

  it("sends exact bypass names DIRECT, case and trailing dot ignored, and nothing around them", () => {
    assert.equal(route(find, "https://intranet.example/"), "DIRECT");
    assert.equal(find("https://INTRANET.example./", "INTRANET.example."), "DIRECT");
    assert.equal(route(find, "https://www.intranet.example/"), PROXY);
    assert.equal(route(find, "https://intranet.example.evil.net/"), PROXY);
    assert.equal(route(find, "https://xintranet.example/"), PROXY);
  });

  it('sends strict subdomains of "*.x" DIRECT but not x itself', () => {
    assert.equal(route(find, "https://api.svc.example/"), "DIRECT");
    assert.equal(route(find, "https://a.b.svc.example/"), "DIRECT");
    assert.equal(route(find, "https://svc.example/"), PROXY);
    assert.equal(route(find, "https://evilsvc.example/"), PROXY);
  });

  it('sends ".x" and all its subdomains DIRECT, and only at a label boundary', () => {
    assert.equal(route(find, "https://corp.example/"), "DIRECT");
    assert.equal(route(find, "https://git.corp.example/x"), "DIRECT");
    assert.equal(route(find, "https://notcorp.example/"), PROXY);
    assert.equal(route(find, "https://corp.example.com/"), PROXY);
  });

  it("sends plain host names, loopback and private IP literals DIRECT", () => {
    for (const url of ["http://printer/", "http://localhost:8080/", "http://127.0.0.1/", "http://10.1.2.3/", "http://172.16.0.1/", "http://172.31.255.255/", "http://192.168.1.1/", "http://169.254.169.254/", "http://[::1]:8080/", "http://[fd00::5]/", "http://[fe80::1]/"]) {
      assert.equal(route(find, url), "DIRECT", url);
    }
    for (const url of ["http://172.32.0.1/", "http://8.8.8.8/", "http://[2606:4700::1111]/", "http://11.0.0.1/"]) {
      assert.equal(route(find, url), PROXY, url);
    }
  });

  it("sends bypass IP addresses and IPv4 networks DIRECT", () => {
    assert.equal(route(find, "https://192.0.2.7/"), "DIRECT");
    assert.equal(route(find, "https://192.0.2.8/"), PROXY);
    assert.equal(route(find, "https://198.51.100.200/"), "DIRECT");
    assert.equal(route(find, "https://198.51.101.1/"), PROXY);
    assert.equal(route(find, "https://[2001:db8::1]/"), "DIRECT");
  });

  it("sends everything else through the proxy, IPv6 networks included (not expressible)", () => {
    assert.equal(route(find, "https://example.com/"), PROXY);
    assert.equal(route(find, "https://[2001:db8:1::5]/"), PROXY);
    assert.match(pacScript({ proxy: "p:1", bypass: ["2001:db8:1::/48"] }), /Not expressible in PAC.*2001:db8:1::\/48/);
  });

  it("names an HTTPS proxy listener as HTTPS, bypass unchanged", () => {
    const secure = load({ proxy: "proxy.corp.example:3129", bypass: [".corp.example"], tls: true });
    assert.equal(route(secure, "https://example.com/"), "HTTPS proxy.corp.example:3129");
    assert.equal(route(secure, "https://wiki.corp.example/"), "DIRECT");
  });

  it("never resolves names (isInNet only on IPv4 literals)", () => {
    for (const url of ["https://a.example/", "https://b.corp.example/", "http://printer/"]) route(find, url);
  });

  it('goes DIRECT everywhere for "*" and without a proxy address', () => {
    assert.equal(route(load({ proxy: "gw:3128", bypass: ["*"] }), "https://example.com/"), "DIRECT");
    assert.equal(route(load({ proxy: undefined, bypass: [] }), "https://example.com/"), "DIRECT");
  });

  it("keeps bypass text from breaking out of the script", () => {
    const find2 = load({ proxy: "127.0.0.1:3128", bypass: ['evil"\n;throw 1;//', "a.example\u2028x", "ok.example"] });
    assert.equal(route(find2, "https://ok.example/"), "DIRECT");
    assert.equal(route(find2, "https://other.example/"), PROXY);
  });
});
