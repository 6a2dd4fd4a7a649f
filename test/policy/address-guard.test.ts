import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseIp } from "../../src/core/ip.ts";
import { type AddressVerdict, createAddressGuard } from "../../src/policy/address-guard.ts";

function denied(v: AddressVerdict): { cls: string; reason: string } {
  assert.equal(v.allowed, false, `expected a denial, got ${JSON.stringify(v)}`);
  if (v.allowed) throw new Error("unreachable");
  return { cls: v.cls, reason: v.reason };
}

describe("createAddressGuard defaults", () => {
  const guard = createAddressGuard();

  it("allows public addresses in every text form", () => {
    for (const a of [
      "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
      "2001:0:4136:e378:8000:63bf:f7f7:f7f7", "[2606:4700::1]",
    ]) {
      assert.deepEqual(guard.check(a, 443), { allowed: true }, a);
    }
  });

  it("denies every non-public class, naming it", () => {
    const cases: [string, string][] = [
      ["127.0.0.1", "loopback"], ["::1", "loopback"], ["::ffff:127.0.0.1", "loopback"],
      ["10.0.0.1", "private"], ["172.16.0.1", "private"], ["192.168.1.1", "private"], ["fd12::1", "private"],
      ["169.254.1.1", "link-local"], ["fe80::1", "link-local"], ["fe80::1%eth0", "link-local"],
      ["169.254.169.254", "metadata"], ["fd00:ec2::254", "metadata"], ["100.100.100.200", "metadata"],
      ["100.64.0.1", "cgnat"], ["224.0.0.1", "multicast"], ["ff02::1", "multicast"],
      ["0.0.0.0", "unspecified"], ["::", "unspecified"], ["255.255.255.255", "broadcast"],
      ["240.0.0.1", "reserved"], ["192.0.2.1", "reserved"], ["2001:db8::1", "reserved"], ["198.18.0.1", "reserved"],
      ["64:ff9b::7f00:1", "loopback"], ["2002:a00:1::", "private"], ["::a00:1", "private"],
      ["2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"], ["2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"],
    ];
    for (const [a, cls] of cases) assert.equal(denied(guard.check(a, 80)).cls, cls, a);
  });

  it("explains denials", () => {
    const reasons: [string, string][] = [
      ["169.254.169.254", "169.254.169.254 is a cloud metadata address (link-local); not in any allowed CIDR"],
      ["10.1.2.3", "10.1.2.3 is a private address; not in any allowed CIDR"],
      ["::ffff:127.0.0.1", "::ffff:127.0.0.1 is a loopback address; not in any allowed CIDR"],
      ["fd00:ec2::254", "fd00:ec2::254 is a cloud metadata address (private); not in any allowed CIDR"],
      [
        "64:ff9b::a9fe:a9fe",
        "64:ff9b::a9fe:a9fe embeds 169.254.169.254 (NAT64), a cloud metadata address (link-local); not in any allowed CIDR",
      ],
      [
        "2001:0:4136:e378:8000:63bf:80ff:fffe",
        "2001:0:4136:e378:8000:63bf:80ff:fffe embeds 127.0.0.1 (Teredo client), a loopback address; not in any allowed CIDR",
      ],
    ];
    for (const [a, reason] of reasons) assert.equal(denied(guard.check(a, 80)).reason, reason, a);
  });
});

describe("allow and deny CIDRs", () => {
  it("allow opens internal addresses inside it only", () => {
    const guard = createAddressGuard({ allow: ["10.1.0.0/16", "fd00:1::/32"] });
    assert.deepEqual(guard.check("10.1.2.3", 80), { allowed: true });
    assert.deepEqual(guard.check("::ffff:10.1.2.3", 80), { allowed: true });
    assert.deepEqual(guard.check("fd00:1::5", 80), { allowed: true });
    assert.equal(denied(guard.check("10.2.0.1", 80)).cls, "private");
    assert.equal(denied(guard.check("10.0.255.255", 80)).cls, "private");
    assert.equal(denied(guard.check("127.0.0.1", 80)).cls, "loopback");
  });

  it("deny overrides allow, allowClasses and public", () => {
    const guard = createAddressGuard({
      allow: ["10.0.0.0/8"],
      allowClasses: ["private"],
      deny: ["10.9.0.0/16", "93.184.216.0/24", "2606:4700::/32"],
    });
    assert.deepEqual(guard.check("10.8.0.1", 80), { allowed: true });
    for (const a of ["10.9.0.1", "::ffff:10.9.0.1", "93.184.216.34", "2606:4700::1111"]) {
      assert.equal(denied(guard.check(a, 80)).cls, "denied-cidr", a);
    }
    assert.deepEqual(guard.check("93.184.217.1", 80), { allowed: true });
    assert.equal(denied(guard.check("10.9.0.1", 80)).reason, "10.9.0.1 is in denied CIDR 10.9.0.0/16");
  });

  it("deny matches addresses embedded in IPv6", () => {
    const guard = createAddressGuard({ deny: ["93.184.216.0/24"] });
    for (const a of ["64:ff9b::5db8:d822", "2002:5db8:d822::", "2001:0:4136:e378:8000:63bf:a247:27dd"]) {
      assert.equal(denied(guard.check(a, 443)).cls, "denied-cidr", a);
    }
    assert.equal(
      denied(guard.check("64:ff9b::5db8:d822", 443)).reason,
      "64:ff9b::5db8:d822 embeds 93.184.216.34 (NAT64), in denied CIDR 93.184.216.0/24",
    );
  });

  it("allowClasses opens whole classes, but not metadata with link-local or private", () => {
    const guard = createAddressGuard({ allowClasses: ["private", "link-local"] });
    for (const a of ["10.0.0.1", "192.168.0.1", "fd00::1", "169.254.1.1", "fe80::1", "64:ff9b::a00:1"]) {
      assert.deepEqual(guard.check(a, 80), { allowed: true }, a);
    }
    for (const a of ["169.254.169.254", "fd00:ec2::254", "127.0.0.1", "100.64.0.1"]) {
      assert.equal(guard.check(a, 80).allowed, false, a);
    }
    assert.deepEqual(createAddressGuard({ allowClasses: ["metadata"] }).check("169.254.169.254", 80), {
      allowed: true,
    });
  });

  it("metadata and unspecified addresses open only with an exact-address CIDR", () => {
    const broad = createAddressGuard({ allow: ["169.254.0.0/16", "0.0.0.0/0", "fd00::/8"] });
    assert.deepEqual(broad.check("169.254.1.1", 80), { allowed: true });
    assert.deepEqual(broad.check("127.0.0.1", 80), { allowed: true });
    const v = denied(broad.check("169.254.169.254", 80));
    assert.equal(v.cls, "metadata");
    assert.equal(
      v.reason,
      '169.254.169.254 is a cloud metadata address (link-local); allowed CIDR 169.254.0.0/16 is too broad to open it: allow exactly 169.254.169.254/32 or the "metadata" class',
    );
    assert.equal(denied(broad.check("0.0.0.0", 80)).cls, "unspecified");
    assert.match(
      denied(broad.check("64:ff9b::a9fe:a9fe", 80)).reason,
      /embeds 169\.254\.169\.254 \(NAT64\), a cloud metadata address \(link-local\); allowed CIDR 169\.254\.0\.0\/16 is too broad/,
    );
    assert.equal(denied(broad.check("fd00:ec2::254", 80)).cls, "metadata");
    const exact = createAddressGuard({ allow: ["169.254.169.254/32", "fd00:ec2::254", "0.0.0.0"] });
    for (const a of ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254", "0.0.0.0"]) {
      assert.deepEqual(exact.check(a, 80), { allowed: true }, a);
    }
  });

  it("an embedded address opens when every non-public embedded address is allowed", () => {
    const guard = createAddressGuard({ allow: ["10.0.0.0/8"] });
    for (const a of ["64:ff9b::a00:1", "2002:a00:1::", "::a00:1", "2001:0:4136:e378:8000:63bf:f5ff:fffe"]) {
      assert.deepEqual(guard.check(a, 80), { allowed: true }, a);
    }
    // Teredo with a private server and a loopback client: both must be opened
    const teredo = "2001:0:a00:1::80ff:fffe";
    const loopbackOnly = createAddressGuard({ allow: ["127.0.0.0/8"] });
    const v = denied(loopbackOnly.check(teredo, 80));
    assert.equal(v.cls, "private");
    assert.match(v.reason, /embeds 10\.0\.0\.1 \(Teredo server\), a private address/);
    assert.equal(denied(guard.check(teredo, 80)).cls, "loopback");
    assert.deepEqual(createAddressGuard({ allow: ["10.0.0.0/8", "127.0.0.0/8"] }).check(teredo, 80), {
      allowed: true,
    });
    // an allowance on the raw IPv6 address opens it too
    assert.deepEqual(createAddressGuard({ allow: ["64:ff9b::/96"] }).check("64:ff9b::a00:1", 80), { allowed: true });
  });

  it("a local-use NAT64 address off the /96 layout needs the reserved class opened", () => {
    const a = "64:ff9b:1:1::808:808";
    assert.equal(denied(createAddressGuard().check(a, 80)).cls, "reserved");
    assert.deepEqual(createAddressGuard({ allowClasses: ["reserved"] }).check(a, 80), { allowed: true });
    assert.deepEqual(createAddressGuard().check("64:ff9b:1::808:808", 80), { allowed: true });
  });
});

describe("per-rule allowances", () => {
  const guard = createAddressGuard({ allow: ["192.168.0.0/16"], deny: ["10.1.9.0/24"] });
  const rule = ["10.1.0.0/16", "fd00:2::/32"] as const;

  it("open addresses for that check only", () => {
    assert.deepEqual(guard.check("10.1.2.3", 80, rule), { allowed: true });
    assert.deepEqual(guard.check("fd00:2::1", 80, rule), { allowed: true });
    assert.equal(denied(guard.check("10.1.2.3", 80)).cls, "private");
    assert.equal(denied(guard.check("10.2.0.1", 80, rule)).cls, "private");
    assert.deepEqual(guard.check("192.168.1.1", 80, rule), { allowed: true });
    assert.deepEqual(guard.check("10.1.2.3", 80, []), { allowed: false, cls: "private", reason: "10.1.2.3 is a private address; not in any allowed CIDR" });
  });

  it("never override deny", () => {
    assert.equal(denied(guard.check("10.1.9.1", 80, rule)).cls, "denied-cidr");
  });

  it("follow the pinpoint rule for metadata", () => {
    assert.equal(denied(guard.check("169.254.169.254", 80, ["169.254.0.0/16"])).cls, "metadata");
    assert.deepEqual(guard.check("169.254.169.254", 80, ["169.254.169.254/32"]), { allowed: true });
  });

  it("reject a malformed CIDR", () => {
    assert.throws(() => guard.check("10.0.0.1", 80, ["10.0.0.0/33"]), SyntaxError);
    assert.throws(() => guard.check("10.0.0.1", 80, ["nope"]), /rule allowance\[0\]/);
  });
});

describe("self", () => {
  it("denies the gateway's own listener even when allowed", () => {
    const guard = createAddressGuard({
      self: ["127.0.0.1:3128", "[::1]:8443", { address: "93.184.216.34", port: 443 }],
      allow: ["127.0.0.0/8", "::1"],
      allowClasses: ["loopback"],
    });
    assert.deepEqual(denied(guard.check("127.0.0.1", 3128)), {
      cls: "self",
      reason: "127.0.0.1:3128 is the gateway's own listener 127.0.0.1:3128",
    });
    assert.equal(
      denied(guard.check("::ffff:127.0.0.1", 3128)).reason,
      "[::ffff:127.0.0.1]:3128 is the gateway's own listener 127.0.0.1:3128",
    );
    assert.equal(denied(guard.check("::1", 8443)).reason, "[::1]:8443 is the gateway's own listener [::1]:8443");
    assert.equal(denied(guard.check("93.184.216.34", 443)).cls, "self");
    assert.equal(denied(guard.check("0.0.0.0", 3128)).cls, "self");
    assert.deepEqual(guard.check("127.0.0.1", 3129), { allowed: true });
    assert.deepEqual(guard.check("127.0.0.2", 3128), { allowed: true });
    assert.deepEqual(guard.check("::1", 3128), { allowed: true });
    assert.deepEqual(guard.check("93.184.216.34", 80), { allowed: true });
  });

  it("an IPv4 wildcard listener covers loopback, local and unspecified IPv4 on its port", () => {
    const guard = createAddressGuard({
      self: ["0.0.0.0:3128"],
      localAddresses: ["10.0.0.5", "fd00::5"],
      allowClasses: ["loopback", "private"],
    });
    for (const a of ["127.0.0.1", "127.8.9.10", "::ffff:127.0.0.1", "10.0.0.5", "0.0.0.0", "::"]) {
      assert.equal(denied(guard.check(a, 3128)).cls, "self", a);
    }
    assert.equal(
      denied(guard.check("10.0.0.5", 3128)).reason,
      "10.0.0.5:3128 is the gateway's own listener 0.0.0.0:3128 (all local addresses)",
    );
    for (const a of ["::1", "fd00::5", "10.0.0.6"]) assert.deepEqual(guard.check(a, 3128), { allowed: true }, a);
    assert.deepEqual(guard.check("10.0.0.5", 3129), { allowed: true });
  });

  it("an IPv6 wildcard listener covers both families", () => {
    const guard = createAddressGuard({
      self: ["[::]:8080"],
      localAddresses: ["fd00::5%eth0"],
      allowClasses: ["loopback", "private"],
    });
    for (const a of ["::1", "127.0.0.1", "fd00::5", "::"]) assert.equal(denied(guard.check(a, 8080)).cls, "self", a);
    assert.match(denied(guard.check("::1", 8080)).reason, /listener \[::\]:8080 \(all local addresses\)$/);
    assert.deepEqual(guard.check("fd00::6", 8080), { allowed: true });
  });

  it("catches a listener reached through an embedded IPv4 address", () => {
    const guard = createAddressGuard({ self: ["127.0.0.1:3128"], allowClasses: ["loopback"] });
    const v = denied(guard.check("64:ff9b::7f00:1", 3128));
    assert.equal(v.cls, "self");
    assert.equal(
      v.reason,
      "[64:ff9b::7f00:1]:3128 embeds 127.0.0.1 (NAT64), which is the gateway's own listener 127.0.0.1:3128",
    );
  });
});

describe("input checks", () => {
  const guard = createAddressGuard();

  it("rejects text that is not an IP address", () => {
    for (const a of ["localhost", "", "127.1", "1.2.3.4:80", "::g", "10.0.0.0/8", "10.0.0.1%eth0", "[::1", "[[::1]]"]) {
      assert.throws(() => guard.check(a, 80), SyntaxError, a);
    }
    assert.throws(() => guard.check("[fe80::x%eth0]", 80), /^SyntaxError: Invalid IP address "\[fe80::x%eth0\]"$/);
  });

  it("takes brackets and IPv6 zone ids, and judges each address on its own, one after another", () => {
    const cases: [string, string][] = [
      ["[fe80::1%eth0]", "fe80::1 is a link-local address; not in any allowed CIDR"],
      ["[10.0.0.1]", "10.0.0.1 is a private address; not in any allowed CIDR"],
      ["fe80::1%25en0", "fe80::1 is a link-local address; not in any allowed CIDR"],
      ["[64:ff9b::a00:1]", "64:ff9b::a00:1 embeds 10.0.0.1 (NAT64), a private address; not in any allowed CIDR"],
      ["::ffff:127.0.0.1", "::ffff:127.0.0.1 is a loopback address; not in any allowed CIDR"],
    ];
    for (const order of [cases, [...cases].reverse()]) {
      for (const [a, reason] of order) {
        assert.equal(denied(guard.check(a, 80)).reason, reason, a);
        assert.deepEqual(guard.check("[2606:4700::1]", 80), { allowed: true });
      }
    }
  });

  it("rejects ports out of range", () => {
    for (const p of [-1, 65536, 1.5, Number.NaN]) assert.throws(() => guard.check("8.8.8.8", p), RangeError);
    assert.deepEqual(guard.check("8.8.8.8", 0), { allowed: true });
    assert.deepEqual(guard.check("8.8.8.8", 65535), { allowed: true });
  });

  it("checkIp takes parsed bytes", () => {
    assert.deepEqual(guard.checkIp(parseIp("8.8.8.8")!, 443), { allowed: true });
    assert.equal(denied(guard.checkIp(parseIp("::ffff:10.0.0.1")!, 443)).cls, "private");
    assert.throws(() => guard.checkIp(new Uint8Array(5), 443), RangeError);
  });

  it("rejects bad options", () => {
    assert.throws(() => createAddressGuard({ allow: ["10.0.0.0/8", "10.0.0.0/40"] }), /allow\[1\]/);
    assert.throws(() => createAddressGuard({ deny: ["x"] }), SyntaxError);
    assert.throws(() => createAddressGuard({ self: ["localhost:3128"] }), SyntaxError);
    assert.throws(() => createAddressGuard({ self: ["::1:3128"] }), SyntaxError);
    assert.throws(() => createAddressGuard({ self: ["127.0.0.1:0"] }), RangeError);
    assert.throws(() => createAddressGuard({ self: ["127.0.0.1:70000"] }), RangeError);
    assert.throws(() => createAddressGuard({ localAddresses: ["eth0"] }), SyntaxError);
    // @ts-expect-error an unknown class is a type error, and a TypeError at run time
    assert.throws(() => createAddressGuard({ allowClasses: ["intranet"] }), TypeError);
  });
});

describe("address guard properties", () => {
  const guard = createAddressGuard({ allow: ["10.1.0.0/16"], deny: ["8.8.0.0/16"], self: ["0.0.0.0:3128"] });
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
  const port = fc.constantFrom(80, 443, 3128);
  const key = (v: AddressVerdict) => (v.allowed ? "allowed" : v.cls);

  it("an IPv4 address and its ::ffff: form get the same verdict", () => {
    fc.assert(
      fc.property(v4, port, (v, p) => {
        const text = v.join(".");
        assert.equal(key(guard.check(`::ffff:${text}`, p)), key(guard.check(text, p)));
      }),
      { numRuns: 2000 },
    );
  });

  it("an IPv4 address and its 64:ff9b::/96 form get the same verdict off the listener port", () => {
    fc.assert(
      fc.property(v4, fc.constantFrom(80, 443), (v, p) => {
        const text = v.join(".");
        assert.equal(key(guard.check(`64:ff9b::${text}`, p)), key(guard.check(text, p)));
      }),
      { numRuns: 2000 },
    );
  });
});
