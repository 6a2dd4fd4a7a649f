import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { PolicyDefinition } from "../../src/policy/types.ts";
import { createAddressGuard } from "../../src/policy/address-guard.ts";
import { type FlowHarness, type HarnessOptions, type Peer, withHarness, within } from "../helpers/flow-harness.ts";
import { alpnExt, echExt, encodeHello, type ExtSpec, recordize, sniExt, versionsExt } from "../protocol/client-hello-builder.ts";

/** A captured ClientHello (see test/fixtures/client-hello/README.md). */
function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../fixtures/client-hello/${name}.bin`, import.meta.url)));
}

/** The ALPN list `openssl s_server -trace` decoded from a fixture, as the flow log writes it. */
function fixtureAlpn(name: string): string | null {
  const meta = JSON.parse(readFileSync(new URL(`../fixtures/client-hello/${name}.json`, import.meta.url), "utf8")) as { expected: { alpn: string[] } };
  return meta.expected.alpn.length > 0 ? meta.expected.alpn.join(",") : null;
}

const CURL = fixture("curl-openssl"); // SNI example.com, ALPN h2,http/1.1, 517 bytes, 1 record
const BUN = fixture("bun-fetch"); // SNI example.com, 1502 bytes, 1 record
const FRAGMENTED = fixture("openssl-fragmented"); // SNI www.example.org, 3 records
const NO_SNI = fixture("openssl-noservername");

/** Offsets just past each TLS record (plain framing, independent of the code under test). */
function recordEnds(bytes: Uint8Array): number[] {
  const ends: number[] = [];
  for (let off = 0; off + 5 <= bytes.length;) {
    off += 5 + (((bytes[off + 3] ?? 0) << 8) | (bytes[off + 4] ?? 0));
    ends.push(off);
  }
  return ends;
}

/** A ClientHello made with the independent builder: TLS 1.3, the given SNI (none if undefined) and extensions. */
function hello(sni: string | undefined, extra: readonly ExtSpec[] = []): Uint8Array {
  return recordize(encodeHello({
    legacyVersion: 0x0303,
    sessionId: new Uint8Array(32).fill(7),
    cipherSuites: [0x1301, 0x1302],
    compressionMethods: [0],
    extensions: [...(sni === undefined ? [] : [sniExt(sni)]), versionsExt([0x0304]), ...extra],
  }));
}

/** Stand-in for the origin's first flight: arbitrary bytes, every value 0-255 present. */
const SERVER_HELLO = Uint8Array.from({ length: 700 }, (_, i) => (i === 0 ? 0x16 : (i * 37 + 11) & 0xff));
const enc = new TextEncoder();

/** The fatal alert record a refused client must get (content type 21, TLS 1.2 record version, level fatal). */
const alert = (description: number) => Uint8Array.of(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description);
const ACCESS_DENIED = alert(49);
const UNRECOGNIZED_NAME = alert(112);
const INTERNAL_ERROR = alert(80);

const TPOLICY: PolicyDefinition = {
  defaultAction: "deny",
  defaultLog: true,
  rules: [
    { id: "block-evil", hosts: ["evil.test"], action: "deny", log: true },
    { id: "fixtures", hosts: ["example.com", "www.example.org"], action: "allow", log: true },
    { id: "allow-test", hosts: [".test"], action: "allow", log: true },
  ],
};

/** The fixtures' SNIs resolve (statically) to addresses nothing else uses. */
const OPTIONS: HarnessOptions = {
  policy: TPOLICY,
  hosts: { "example.com": ["10.0.0.7"], "www.example.org": ["10.0.0.8"], "fallback.test": ["10.0.0.5"], "public.test": ["10.0.0.11"] },
};

/**
 * An origin that checks it receives exactly `expected` first, answers SERVER_HELLO, echoes
 * one application chunk with a prefix, and after the client's FIN still sends "late" before
 * its own FIN (half-close in both directions). Resolves `got` with the first bytes it saw.
 */
function spliceOrigin(h: FlowHarness, address: string, port: number, expected: Uint8Array): Promise<Uint8Array> {
  let resolve!: (b: Uint8Array) => void;
  const got = new Promise<Uint8Array>((r) => (resolve = r));
  h.origin(address, port, async (o) => {
    const first = await o.readBytes(expected.length);
    resolve(first.slice());
    await o.write(SERVER_HELLO);
    const app = await o.readBytes(5);
    await o.write(concat(enc.encode("echo:"), app));
    const rest = await o.readToEnd(); // the client's FIN
    assert.equal(rest.length, 0);
    await o.write("late");
    await o.end();
  });
  return got;
}

/** The client side of `spliceOrigin`: SERVER_HELLO back, an echo, a half-close, then "late" and EOF. */
async function spliceClient(c: Peer): Promise<void> {
  assert.deepEqual(await within(c.readBytes(SERVER_HELLO.length), 1500, "server hello"), SERVER_HELLO);
  const app = Uint8Array.of(0x17, 0x00, 0xff, 0x80, 0x0a);
  await c.write(app);
  assert.deepEqual(await within(c.readBytes(10), 1500, "echo"), concat(enc.encode("echo:"), app));
  await c.end();
  assert.equal(new TextDecoder().decode(await within(c.readToEnd(), 1500, "late bytes after the half-close")), "late");
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Writes the pieces of `bytes` cut at `cuts`, one write each. */
async function writeCut(c: Peer, bytes: Uint8Array, cuts: readonly number[]): Promise<void> {
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > prev) await c.write(bytes.subarray(prev, cut));
    prev = cut;
  }
}

/** What a refused client receives until the connection ends. */
async function readRefusal(c: Peer): Promise<Uint8Array> {
  const { data } = await within(c.readToEndOrReset(), 1500, "end of the refused connection");
  return data;
}

describe("transparent TLS: exception (splice) with real ClientHellos", () => {
  const cases: {
    name: string;
    bytes: Uint8Array;
    send: (c: Peer, b: Uint8Array) => Promise<void>;
    host: string;
    address: string;
    alpn: string | null;
  }[] = [
    { name: "curl, one byte at a time", bytes: CURL, send: (c, b) => c.writeSplit(b, [1]), host: "example.com", address: "10.0.0.7", alpn: fixtureAlpn("curl-openssl") },
    { name: "bun fetch (> 1500 bytes) in uneven pieces", bytes: BUN, send: (c, b) => c.writeSplit(b, [700, 1, 3, 1500]), host: "example.com", address: "10.0.0.7", alpn: fixtureAlpn("bun-fetch") },
    { name: "openssl, 3 records, split at the record boundaries", bytes: FRAGMENTED, send: (c, b) => writeCut(c, b, recordEnds(b)), host: "www.example.org", address: "10.0.0.8", alpn: fixtureAlpn("openssl-fragmented") },
    { name: "openssl, 3 records, split one byte after each record header", bytes: FRAGMENTED, send: (c, b) => writeCut(c, b, recordEnds(b).flatMap((e) => [e, e + 6])), host: "www.example.org", address: "10.0.0.8", alpn: fixtureAlpn("openssl-fragmented") },
  ];
  for (const k of cases) {
    it(`${k.name}: the origin gets the identical bytes, dialed at the SNI's static address`, async () => {
      await withHarness(OPTIONS, async (h) => {
        const got = spliceOrigin(h, k.address, 443, k.bytes);
        const c = h.transparentClient();
        await k.send(c, k.bytes);
        assert.deepEqual(await within(got, 1500, "ClientHello at the origin"), k.bytes);
        await spliceClient(c);
        await h.finish();
        assert.deepEqual(h.dials, [{ address: k.address, port: 443 }]);
        const r = h.record();
        assert.equal(r.mode, "transparent");
        assert.equal(r.kind, "tls");
        assert.equal(r.host, k.host);
        assert.equal(r.port, 443);
        assert.equal(r.resolved, k.address);
        assert.equal(r.dnsSource, "static");
        assert.equal(r.decision, "allow");
        assert.equal(r.rule, "fixtures");
        assert.equal(r.decryption, "exception");
        assert.equal(r.ech, false);
        assert.equal(r.alpn, k.alpn);
        assert.equal(r.bytesUp, k.bytes.length + 5);
        assert.equal(r.bytesDown, SERVER_HELLO.length + 10 + 4);
        assert.equal(r.end, "eof");
        assert.equal(r.error, null);
      });
    });
  }

  it("the first application bytes in the same chunk as the ClientHello follow it unchanged", async () => {
    await withHarness(OPTIONS, async (h) => {
      const early = Uint8Array.of(0x14, 0x03, 0x03, 0x00, 0x01, 0x01, 0x17, 0x03, 0x03);
      const got = spliceOrigin(h, "10.0.0.7", 443, concat(CURL, early));
      const c = h.transparentClient();
      await c.write(concat(CURL, early));
      assert.deepEqual(await within(got, 1500, "bytes at the origin"), concat(CURL, early));
      await spliceClient(c);
      await h.finish();
      assert.equal(h.record().bytesUp, CURL.length + early.length + 5);
    });
  });

  it("dials upstreamPort, and the log names it", async () => {
    await withHarness(OPTIONS, async (h) => {
      const got = spliceOrigin(h, "10.0.0.7", 8443, CURL);
      const c = h.transparentClient({ upstreamPort: 8443 });
      await c.write(CURL);
      assert.deepEqual(await within(got, 1500, "ClientHello"), CURL);
      await spliceClient(c);
      await h.finish();
      assert.deepEqual(h.dials, [{ address: "10.0.0.7", port: 8443 }]);
      assert.equal(h.record().port, 8443);
    });
  });

  it("a spliced connection quiet for idleTimeoutMs is torn down and logged as idle", async () => {
    await withHarness({ ...OPTIONS, limits: { idleTimeoutMs: 150 } }, async (h) => {
      h.origin("10.0.0.7", 443, async (o) => {
        await o.readBytes(CURL.length);
        await o.write(SERVER_HELLO);
        await o.readToEndOrReset();
      });
      const c = h.transparentClient();
      await c.write(CURL);
      assert.deepEqual(await within(c.readBytes(SERVER_HELLO.length), 1500, "server hello"), SERVER_HELLO);
      const { reset } = await within(c.readToEndOrReset(), 1500, "idle teardown");
      assert.equal(reset, true);
      await h.finish();
      assert.equal(h.record().end, "idle");
    });
  });

  it("a policy rule scoped to mode transparent applies (the flow queries with its mode)", async () => {
    const policy: PolicyDefinition = {
      defaultAction: "deny",
      defaultLog: true,
      rules: [
        { id: "explicit-only", hosts: ["example.com"], action: "deny", modes: ["explicit"], log: true },
        { id: "transparent-only", hosts: ["example.com"], action: "allow", modes: ["transparent"], log: true },
      ],
    };
    await withHarness({ ...OPTIONS, policy }, async (h) => {
      const got = spliceOrigin(h, "10.0.0.7", 443, CURL);
      const c = h.transparentClient();
      await c.write(CURL);
      await within(got, 1500, "ClientHello");
      await spliceClient(c);
      await h.finish();
      assert.equal(h.record().rule, "transparent-only");
    });
  });
});

describe("transparent TLS: refusals end with a TLS alert and no dial", () => {
  it("a denied SNI gets an access_denied alert, the connection ends, nothing is dialed", async () => {
    await withHarness(OPTIONS, async (h) => {
      h.origin("10.0.0.66", 443, () => assert.fail("a denied host was dialed"));
      const c = h.transparentClient();
      await c.write(hello("evil.test", [alpnExt(["http/1.1"])]));
      assert.deepEqual(await readRefusal(c), ACCESS_DENIED);
      await h.finish();
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.equal(r.mode, "transparent");
      assert.equal(r.kind, "tls");
      assert.equal(r.host, "evil.test");
      assert.equal(r.decision, "deny");
      assert.equal(r.rule, "block-evil");
      assert.equal(r.end, "denied");
      assert.equal(r.resolved, null);
      assert.equal(r.alpn, "http/1.1");
    });
  });

  it("an SNI resolving to loopback: access_denied by the address guard, logged as a deny without a decryption mode", async () => {
    await withHarness({ ...OPTIONS, hosts: { "internal.test": ["127.0.0.1"] }, addressGuard: createAddressGuard() }, async (h) => {
      const c = h.transparentClient();
      await c.write(hello("internal.test"));
      assert.deepEqual(await readRefusal(c), ACCESS_DENIED);
      await h.finish();
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.deepEqual([r.decision, r.rule, r.decryption, r.end], ["deny", "address-guard", null, "denied"]);
    });
  });

  it("after the alert, the connection is released as soon as the client closes, not on a timer", async () => {
    // finish() fails unless every flow released its client connection within 300 ms; the
    // refusal lingers up to REFUSAL_LINGER_MS (500) only for a client that does not close
    await withHarness({ ...OPTIONS, finishTimeoutMs: 300 }, async (h) => {
      const c = h.transparentClient();
      // the rest of a first flight the gateway never reads as TLS: drained, not left to cause a reset
      await c.write(concat(hello("evil.test"), Uint8Array.of(0x17, 3, 3, 0, 5, 1, 2, 3, 4, 5)));
      assert.deepEqual(await within(c.readBytes(ACCESS_DENIED.length), 1500, "alert"), ACCESS_DENIED);
      assert.deepEqual(await within(c.readToEnd(), 1500, "the gateway's FIN"), new Uint8Array(0));
      await c.end();
      await h.finish();
      assert.equal(h.record().end, "denied");
    });
  });

  it("no SNI (real openssl hello): denied with rule no-sni, the upstream port logged", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.transparentClient({ upstreamPort: 8443 });
      await c.write(NO_SNI);
      assert.deepEqual(await readRefusal(c), UNRECOGNIZED_NAME);
      await h.finish();
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.equal(r.decision, "deny");
      assert.equal(r.rule, "no-sni");
      assert.equal(r.port, 8443);
      assert.equal(r.host, null);
      assert.equal(r.end, "denied");
    });
  });

  it("no SNI with noSni allow: spliced to the fixed upstream, byte-identical", async () => {
    await withHarness(OPTIONS, async (h) => {
      const got = spliceOrigin(h, "10.0.0.5", 9443, NO_SNI);
      const c = h.transparentClient({ noSni: { action: "allow", upstream: { host: "fallback.test", port: 9443 } } });
      await c.writeSplit(NO_SNI, [10, 1]);
      assert.deepEqual(await within(got, 1500, "ClientHello at the fallback"), NO_SNI);
      await spliceClient(c);
      await h.finish();
      assert.deepEqual(h.dials, [{ address: "10.0.0.5", port: 9443 }]);
      const r = h.record();
      assert.equal(r.host, "fallback.test");
      assert.equal(r.port, 9443);
      assert.equal(r.resolved, "10.0.0.5");
      assert.equal(r.rule, "allow-test");
      assert.equal(r.decryption, "exception");
    });
  });

  it("noSni allow still goes through the policy: a denied fixed upstream is refused", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.transparentClient({ noSni: { action: "allow", upstream: { host: "evil.test", port: 443 } } });
      await c.write(NO_SNI);
      assert.deepEqual(await readRefusal(c), ACCESS_DENIED);
      await h.finish();
      assert.deepEqual(h.dials, []);
      assert.equal(h.record().rule, "block-evil");
    });
  });

  it("ECH offered, ech policy: decided on the outer SNI, spliced, ech logged", async () => {
    await withHarness(OPTIONS, async (h) => {
      const bytes = hello("public.test", [echExt()]);
      const got = spliceOrigin(h, "10.0.0.11", 443, bytes);
      const c = h.transparentClient({ ech: "policy" });
      await c.write(bytes);
      assert.deepEqual(await within(got, 1500, "ClientHello"), bytes);
      await spliceClient(c);
      await h.finish();
      const r = h.record();
      assert.equal(r.ech, true);
      assert.equal(r.host, "public.test");
      assert.equal(r.decision, "allow");
    });
  });

  it("ECH offered, ech block: access_denied alert, logged with ech true, no dial", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.transparentClient({ ech: "block" });
      await c.write(hello("public.test", [echExt()]));
      assert.deepEqual(await readRefusal(c), ACCESS_DENIED);
      await h.finish();
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.equal(r.ech, true);
      assert.equal(r.decision, "deny");
      assert.equal(r.rule, "ech-block");
    });
  });

  it("ech block lets a hello without ECH through", async () => {
    await withHarness(OPTIONS, async (h) => {
      const got = spliceOrigin(h, "10.0.0.7", 443, CURL);
      const c = h.transparentClient({ ech: "block" });
      await c.write(CURL);
      await within(got, 1500, "ClientHello");
      await spliceClient(c);
      await h.finish();
      assert.equal(h.record().ech, false);
    });
  });

  it("DNS failure for the SNI: internal_error alert, the DNS error logged, no dial", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.transparentClient();
      await c.write(hello("nxdomain.test"));
      assert.deepEqual(await readRefusal(c), INTERNAL_ERROR);
      await h.finish();
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.equal(r.host, "nxdomain.test");
      assert.equal(r.decision, "allow");
      assert.equal(r.end, "error");
      assert.match(String(r.error), /^DNS: .*nxdomain\.test/);
    });
  });

  it("an upstream that never answers the dial: internal_error alert after connectTimeoutMs, logged", async () => {
    await withHarness({ ...OPTIONS, limits: { connectTimeoutMs: 100 } }, async (h) => {
      h.hang("10.0.0.9", 443, true); // slow.test
      const started = Date.now();
      const c = h.transparentClient();
      await c.write(hello("slow.test"));
      assert.deepEqual(await readRefusal(c), INTERNAL_ERROR);
      assert.ok(Date.now() - started >= 90, "refused before the connect timeout");
      await h.finish();
      assert.match(String(h.record().error), /timed out after 100 ms/);
    });
  });

  it("an upstream refusing the connection: internal_error alert, the connect error logged", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.transparentClient();
      await c.write(hello("other.test"));
      assert.deepEqual(await readRefusal(c), INTERNAL_ERROR);
      await h.finish();
      assert.deepEqual(h.dials, [{ address: "10.0.0.2", port: 443 }]);
      assert.match(String(h.record().error), /Connect to other\.test:443 .*failed/);
    });
  });
});

/** Tunnel slots with room for `max`, counting what is taken. */
function slots(max: number): NonNullable<HarnessOptions["tunnels"]> & { taken: number; refused: number } {
  return {
    taken: 0,
    refused: 0,
    acquire() {
      if (this.taken >= max) return (this.refused++, false);
      this.taken++;
      return true;
    },
    release() {
      this.taken--;
    },
  };
}

describe("transparent TLS: a splice takes a tunnel slot (limits.maxTunnels)", () => {
  it("with every slot taken: internal_error alert, nothing dialed, logged; the slot is back when the splice ends", async () => {
    const tunnels = slots(1);
    await withHarness({ ...OPTIONS, tunnels }, async (h) => {
      const got = spliceOrigin(h, "10.0.0.7", 443, CURL);
      const first = h.transparentClient();
      await first.write(CURL);
      await within(got, 1500, "the first ClientHello at the origin");
      assert.equal(tunnels.taken, 1);
      const second = h.transparentClient();
      await second.write(hello("www.example.org"));
      assert.deepEqual(await readRefusal(second), INTERNAL_ERROR);
      assert.equal(tunnels.refused, 1);
      await spliceClient(first);
      await h.finish();
      assert.equal(tunnels.taken, 0, "the splice gave its slot back");
      assert.deepEqual(h.dials, [{ address: "10.0.0.7", port: 443 }]);
      const refused = h.records.find((r) => r.host === "www.example.org");
      assert.equal(refused?.decision, "allow");
      assert.equal(refused?.end, "error");
      assert.match(String(refused?.error), /Too many tunnels \(limits\.maxTunnels\)/);
    });
  });

  it("a splice whose dial fails gives its slot back; a denied connection takes none", async () => {
    const tunnels = slots(1);
    await withHarness({ ...OPTIONS, tunnels }, async (h) => {
      const c = h.transparentClient();
      await c.write(hello("nxdomain.test"));
      assert.deepEqual(await readRefusal(c), INTERNAL_ERROR);
      const d = h.transparentClient();
      await d.write(hello("evil.test"));
      assert.deepEqual(await readRefusal(d), ACCESS_DENIED);
      await h.finish();
      assert.equal(tunnels.taken, 0);
      assert.equal(tunnels.refused, 0);
    });
  });
});

describe("transparent TLS: bad or slow ClientHellos are closed and logged", () => {
  it("non-TLS first bytes: closed without an answer, logged as Non-TLS", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.transparentClient();
      await c.write("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
      assert.equal((await readRefusal(c)).length, 0);
      await h.finish();
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.equal(r.kind, "tls");
      assert.equal(r.end, "error");
      assert.match(String(r.error), /^Non-TLS bytes/);
      assert.equal(r.decision, null);
    });
  });

  it("a truncated ClientHello then EOF: closed, logged", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.transparentClient();
      await c.write(CURL.subarray(0, 300));
      await c.end();
      assert.equal((await readRefusal(c)).length, 0);
      await h.finish();
      assert.deepEqual(h.dials, []);
      assert.match(String(h.record().error), /closed before a complete ClientHello/);
    });
  });

  it("a client resetting mid-hello: logged as client-reset (the ClientHello was not at fault)", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.transparentClient();
      await c.write(CURL.subarray(0, 300));
      c.conn.close();
      await h.finish();
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.equal(r.end, "client-reset");
      assert.match(String(r.error), /reset/i);
    });
  });

  it("a client stalling mid-hello: closed after headerTimeoutMs, logged", async () => {
    await withHarness({ ...OPTIONS, limits: { headerTimeoutMs: 150 } }, async (h) => {
      const started = Date.now();
      const c = h.transparentClient();
      await c.write(BUN.subarray(0, 1000));
      assert.equal((await readRefusal(c)).length, 0);
      const took = Date.now() - started;
      assert.ok(took >= 140 && took < 1400, `closed after ${took} ms`);
      await h.finish();
      assert.deepEqual(h.dials, []);
      assert.equal(h.record().error, "No complete ClientHello within 150 ms");
    });
  });

  it("a client that trickles bytes cannot extend the deadline", async () => {
    await withHarness({ ...OPTIONS, limits: { headerTimeoutMs: 200 } }, async (h) => {
      const started = Date.now();
      const c = h.transparentClient();
      const trickle = (async () => {
        for (let i = 0; i < 40 && Date.now() - started < 1500; i++) {
          await c.write(BUN.subarray(i, i + 1));
          await new Promise((r) => setTimeout(r, 25));
        }
      })().catch(() => {});
      assert.equal((await readRefusal(c)).length, 0);
      const took = Date.now() - started;
      assert.ok(took >= 190 && took < 1000, `closed after ${took} ms`);
      await trickle;
      await h.finish();
      assert.match(String(h.record().error), /^No complete ClientHello within 200 ms/);
    });
  });

  it("a ClientHello larger than maxClientHelloBytes: closed, logged, nothing dialed", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.transparentClient({ maxClientHelloBytes: 1024 });
      await c.write(BUN);
      assert.equal((await readRefusal(c)).length, 0);
      await h.finish();
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.equal(r.end, "error");
      assert.match(String(r.error), /exceeds 1024 bytes/);
    });
  });

  it("a ClientHello over more records than maxClientHelloRecords: closed, logged", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.transparentClient({ maxClientHelloRecords: 2 });
      await c.write(FRAGMENTED);
      assert.equal((await readRefusal(c)).length, 0);
      await h.finish();
      assert.deepEqual(h.dials, []);
      assert.match(String(h.record().error), /more than 2 records/);
    });
  });
});
