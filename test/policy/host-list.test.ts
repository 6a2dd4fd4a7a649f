import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { normalizeHost } from "../../src/core/host.ts";
import { parseIp } from "../../src/core/ip.ts";
import { HostListBuilder, MAX_HOST_LIST_ENTRIES, parseHostList } from "../../src/policy/host-list.ts";
import { hostPatternMatches, parseHostPattern } from "../../src/policy/host-pattern.ts";
import type { Host } from "../../src/policy/types.ts";

const ipOf = (host: Host) => (host.kind === "dns" ? undefined : parseIp(host.address));
/** The pattern of `list` that matches `name`, or undefined. */
function hit(text: string, format: "patterns" | "domains" | "hosts", name: string): string | undefined {
  const list = parseHostList("l", text, format);
  const host = normalizeHost(name);
  return list.matches(host, ipOf(host)) ? list.matchText : undefined;
}

describe("host lists: the patterns format", () => {
  const text = [
    "# a feed",
    "",
    "tracker.example",
    ".ads.example   # and its subdomains",
    "*.cdn.example\r",
    "  Bücher.Example.  ",
    "192.0.2.7",
    "198.51.100.0/24",
    "2001:db8::/32",
  ].join("\n");
  it("matches as a rule's hosts do, and names the pattern", () => {
    assert.equal(hit(text, "patterns", "tracker.example"), "tracker.example");
    assert.equal(hit(text, "patterns", "a.tracker.example"), undefined, "a bare name is exact");
    assert.equal(hit(text, "patterns", "ads.example"), ".ads.example");
    assert.equal(hit(text, "patterns", "x.y.ads.example"), ".ads.example");
    assert.equal(hit(text, "patterns", "cdn.example"), undefined, "*. is strict");
    assert.equal(hit(text, "patterns", "img.cdn.example"), "*.cdn.example");
    assert.equal(hit(text, "patterns", "xn--bcher-kva.example"), "xn--bcher-kva.example", "normalised: case, dot, IDNA");
    assert.equal(hit(text, "patterns", "192.0.2.7"), "192.0.2.7");
    assert.equal(hit(text, "patterns", "198.51.100.200"), "198.51.100.0/24");
    assert.equal(hit(text, "patterns", "[2001:db8::1]"), "2001:db8::/32");
    assert.equal(hit(text, "patterns", "notads.example"), undefined);
    assert.equal(hit(text, "patterns", "192.0.2.8"), undefined);
  });
  it("counts the patterns read", () => {
    assert.equal(parseHostList("l", text, "patterns").size, 7);
    assert.equal(parseHostList("l", "", "patterns").size, 0);
    assert.equal(parseHostList("l", "a.example", "patterns").size, 1, "no newline at the end");
  });
  it("names the line of a malformed pattern", () => {
    assert.throws(() => parseHostList("l", "a.example\n\nexa mple.com\n", "patterns"), /^TypeError: line 3: expected one host pattern per line, got "exa mple.com"/);
    assert.throws(() => parseHostList("l", "a.example\na..b\n", "patterns"), /^TypeError: line 2: expected a host name, .*"a\.\.b"/);
    assert.throws(() => parseHostList("l", "*\n", "patterns"), /^TypeError: line 1: "\*" would match every host/);
  });
});

describe("host lists: the domains format", () => {
  it("reads a bare name as the name and its subdomains", () => {
    const text = "evil.example\n*.cdn.example\nexact.example\n192.0.2.7\n";
    assert.equal(hit(text, "domains", "evil.example"), ".evil.example");
    assert.equal(hit(text, "domains", "a.b.evil.example"), ".evil.example");
    assert.equal(hit(text, "domains", "notevil.example"), undefined);
    assert.equal(hit(text, "domains", "cdn.example"), undefined, "other patterns as written");
    assert.equal(hit(text, "domains", "192.0.2.7"), "192.0.2.7");
  });
});

describe("host lists: the hosts format", () => {
  const text = [
    "# hosts file",
    "127.0.0.1 localhost",
    "::1 localhost ip6-localhost ip6-loopback",
    "127.0.0.1 localhost.localdomain",
    "0.0.0.0 0.0.0.0",
    "0.0.0.0 ads.example tracker.example # two names",
    "0.0.0.0\tevil.example",
  ].join("\n");
  it("takes each name exactly, skipping local names and addresses", () => {
    const list = parseHostList("l", text, "hosts");
    assert.equal(list.size, 3);
    assert.equal(hit(text, "hosts", "ads.example"), "ads.example");
    assert.equal(hit(text, "hosts", "tracker.example"), "tracker.example");
    assert.equal(hit(text, "hosts", "evil.example"), "evil.example");
    assert.equal(hit(text, "hosts", "a.evil.example"), undefined, "exact");
    assert.equal(hit(text, "hosts", "localhost"), undefined);
    assert.equal(hit(text, "hosts", "localhost.localdomain"), undefined);
    assert.equal(hit(text, "hosts", "0.0.0.0"), undefined);
  });
  it("names a line that is not an address and names", () => {
    assert.throws(() => parseHostList("l", "ads.example\n", "hosts"), /^TypeError: line 1: expected an address and names \("0\.0\.0\.0 ads\.example"\), got "ads\.example"/);
    assert.throws(() => parseHostList("l", "0.0.0.0\n", "hosts"), /^TypeError: line 1: expected an address and names/);
    assert.throws(() => parseHostList("l", "# x\n0.0.0.0 *.ads.example\n", "hosts"), /^TypeError: line 2: expected a host name, got "\*\.ads\.example"/);
  });
});

describe("host lists: bounds and slices", () => {
  it("stops at the entry limit, naming the line", () => {
    const b = new HostListBuilder("l", "patterns");
    // the limit is checked per entry: reach it without a four-million-line text
    const line = "a.example\n";
    let added = 0;
    assert.throws(() => {
      for (;;) {
        b.add(line, 0);
        added++;
      }
    }, new RegExp(`^TypeError: line ${MAX_HOST_LIST_ENTRIES + 1}: more than ${MAX_HOST_LIST_ENTRIES} entries$`));
    assert.equal(added, MAX_HOST_LIST_ENTRIES);
  });
  it("reads a text in slices of lines, to the same list", () => {
    const names = Array.from({ length: 1000 }, (_, i) => `h${i}.example`);
    const text = names.join("\n") + "\n";
    const b = new HostListBuilder("l", "patterns");
    let slices = 0;
    for (let at = 0; at >= 0; at = b.add(text, at, 64)) slices++;
    const list = b.finish("d");
    assert.equal(slices, Math.ceil(1000 / 64), "64 lines a slice");
    assert.equal(list.size, 1000);
    assert.equal(list.digest, "d");
    for (const n of ["h0.example", "h999.example", "h512.example"]) assert.equal(list.matches(normalizeHost(n), undefined), true, n);
    assert.equal(list.matches(normalizeHost("h1000.example"), undefined), false);
  });
});

describe("host lists: the index agrees with the patterns", () => {
  const patterns = ["example.com", "*.example.com", ".example.net", "a.b.example.org", "*.org", "10.0.0.0/8", "192.0.2.1", "::1", "bücher.de"];
  const hosts = ["example.com", "a.example.com", "example.net", "x.example.net", "b.example.org", "a.b.example.org", "org", "10.2.3.4", "192.0.2.1", "192.0.2.2", "[::1]", "xn--bcher-kva.de", "c.com"];
  it("a host matches the list when one of its patterns matches it", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...patterns), { maxLength: 6 }), fc.constantFrom(...hosts), (chosen, name) => {
        const list = parseHostList("l", chosen.join("\n"), "patterns");
        const host = normalizeHost(name);
        const expected = chosen.some((p) => hostPatternMatches(parseHostPattern(p), host, ipOf(host)));
        assert.equal(list.matches(host, ipOf(host)), expected, `${name} in ${JSON.stringify(chosen)}`);
        if (expected) assert.ok(hostPatternMatches(parseHostPattern(list.matchText), host, ipOf(host)), `${list.matchText} matches ${name}`);
      }),
      { numRuns: 500 },
    );
  });
});

describe("host lists: the hosts format, as published", () => {
  it("takes a link-local address with a zone id in the address column (StevenBlack's header, macOS's /etc/hosts)", () => {
    const header = [
      "127.0.0.1 localhost",
      "127.0.0.1 localhost.localdomain",
      "255.255.255.255 broadcasthost",
      "::1 localhost",
      "::1 ip6-localhost ip6-loopback",
      "fe80::1%lo0 localhost",
      "ff00::0 ip6-localnet",
      "0.0.0.0 0.0.0.0",
      "0.0.0.0 ads.example.com",
      "0.0.0.0 tracker.example.net",
    ].join("\n");
    const list = parseHostList("steven", header, "hosts");
    assert.equal(list.size, 2);
  });
});

describe("host lists: the legacy RegExp statics", () => {
  /** `RegExp.input` and `RegExp.lastMatch` (Annex B): the last successful match, on both runtimes. */
  const statics = RegExp as unknown as { readonly input: string; readonly lastMatch: string };

  it("do not hold a line of the text once a slice is read: the line would keep the whole text alive", () => {
    "kept until the next match".split(/\s+/);
    assert.equal(statics.input, "kept until the next match", "the runtime keeps the last subject");
    const text = "0.0.0.0 ads.example tracker.example\n0.0.0.0 last.example\n";
    const b = new HostListBuilder("ads", "hosts");
    assert.equal(b.add(text, 0, 1), text.indexOf("\n") + 1);
    assert.deepEqual([statics.input, statics.lastMatch], ["", ""], "after a slice");
    assert.equal(b.add(text, text.indexOf("\n") + 1), -1);
    assert.deepEqual([statics.input, statics.lastMatch], ["", ""], "at the end");
    assert.equal(b.finish().size, 3);
  });

  it("nor after a malformed line", () => {
    let error: unknown;
    try {
      parseHostList("ads", "0.0.0.0 ads.example\nads.example tracker.example\n", "hosts");
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof TypeError && error.message.startsWith("line 2: "), String(error)); // no regex here: it would set the statics
    assert.deepEqual([statics.input, statics.lastMatch], ["", ""]);
  });
});
