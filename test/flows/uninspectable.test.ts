import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TlsValidationError } from "../../src/core/tls.ts";
import { LiveFlows } from "../../src/flows/live-flows.ts";
import { compilePolicy } from "../../src/policy/compile.ts";
import type { PolicyDefinition, RuleDefinition } from "../../src/policy/types.ts";
import { ESTABLISHED, type FlowHarness, type Peer, readResponse, serveRequests, until, withHarness, within } from "../helpers/flow-harness.ts";
import { alpnExt, encodeHello, recordize, sniExt, versionsExt } from "../protocol/client-hello-builder.ts";

const CONNECT = "CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n";
/** A fatal no_application_protocol alert (RFC 7301 §3.2). */
const NO_APPLICATION_PROTOCOL = [21, 3, 3, 0, 2, 2, 120];

/** A ClientHello for `name` offering `alpn`. */
function hello(name: string, alpn: readonly string[]): Uint8Array {
  return recordize(encodeHello({
    legacyVersion: 0x0303,
    sessionId: new Uint8Array(32).fill(7),
    cipherSuites: [0x1301],
    compressionMethods: [0],
    extensions: [sniExt(name), versionsExt([0x0304]), alpnExt(alpn)],
  }));
}

function policy(host: string, extra: Partial<RuleDefinition> = {}): PolicyDefinition {
  return { defaultAction: "deny", rules: [{ id: "inspect", hosts: [host], action: "allow", decryption: "decrypt", log: true, ...extra }] };
}

/**
 * An origin for a blind relay: the connection that sends `expect` gets `answer` back, and
 * is ended once the gateway ends it. Other connections to it (the one opened for decryption) just end.
 */
function echoOrigin(h: FlowHarness, address: string, expect: Uint8Array, answer: string): Promise<void> {
  let spliced!: () => void;
  const done = new Promise<void>((r) => (spliced = r));
  h.origin(address, 443, async (o) => {
    const first = await o.readBytes(expect.byteLength).catch(() => undefined);
    if (!first) return;
    assert.deepEqual(first, expect, "the very same ClientHello bytes");
    await o.write(answer);
    await o.readToEndOrReset();
    await o.end().catch(() => {});
    spliced();
  });
  return done;
}

async function seesAlert(c: Peer): Promise<void> {
  const { data } = await within(c.readToEndOrReset(), 2000, "the alert and the close");
  assert.deepEqual([...data], NO_APPLICATION_PROTOCOL);
}

describe("a decrypting rule and a client offering only protocols it cannot inspect", () => {
  it("CONNECT, by default: a no_application_protocol alert, a flow line that says why, no handshake", async () => {
    await withHarness({ policy: policy("origin.test"), interception: {} }, async (h) => {
      serveRequests(h, "10.0.0.1", 443, []);
      const c = h.client();
      await c.write(CONNECT);
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await c.write(hello("origin.test", ["h2"]));
      await seesAlert(c);
      await h.finish();
      assert.deepEqual(h.tls.accepts, [], "no handshake with the minted certificate");
      const r = h.record();
      assert.equal(r.decryption, "decrypt");
      assert.equal(r.alpn, "h2");
      assert.equal(r.end, "error");
      assert.equal(
        r.error,
        'Cannot inspect: the client offers only "h2" (ALPN), and decrypted connections speak http/1.1. Rule "inspect" refuses such clients (uninspectable: "tunnel" relays them without decryption)',
      );
    });
  });

  it('CONNECT with uninspectable: "tunnel": the ClientHello looked at first, then relayed blind, unchanged; the line says so', async () => {
    const h2 = hello("origin.test", ["h2"]);
    await withHarness({ policy: policy("origin.test", { uninspectable: "tunnel" }), interception: {} }, async (h) => {
      const spliced = echoOrigin(h, "10.0.0.1", h2, "server hello");
      const c = h.client();
      await c.write(CONNECT);
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await c.write(h2);
      assert.equal(await c.readText(12), "server hello");
      await c.end();
      await c.readToEndOrReset();
      await within(spliced, 1000, "the splice");
      await h.finish();
      assert.deepEqual(h.tls.accepts, []);
      assert.deepEqual(h.tls.connects, [], "no TLS of the gateway's own: an h2-only server would refuse it");
      assert.deepEqual(h.tls.leaves, []);
      assert.deepEqual(h.dials, [{ address: "10.0.0.1", port: 443 }]);
      const r = h.record();
      assert.equal(r.decryption, "exception");
      assert.equal(r.status, 200);
      assert.equal(r.end, "eof");
      assert.match(r.reason ?? "", /^rule "inspect" matched host pattern "origin\.test"; the client offers only "h2" \(ALPN\), and decrypted connections speak http\/1\.1: relayed without decryption \(uninspectable: "tunnel"\)$/);
      assert.deepEqual([r.bytesUp, r.bytesDown], [h2.byteLength, 12]);
    });
  });

  it('CONNECT with uninspectable: "tunnel": a client that also offers http/1.1 is decrypted, its ClientHello the handshake\'s first bytes', async () => {
    const both = hello("origin.test", ["h2", "http/1.1"]);
    await withHarness({ policy: policy("origin.test", { uninspectable: "tunnel" }), interception: {} }, async (h) => {
      serveRequests(h, "10.0.0.1", 443, ["inspected"]);
      const c = h.client();
      await c.write(CONNECT);
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await c.write(both);
      await c.write("GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "inspected");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(h.tls.acceptedBytes, [both]);
      assert.deepEqual(h.tls.events, ["connect origin.test", "connected origin.test", "leaf origin.test", "accept"]);
      const r = h.records.find((x) => x.kind === "connect");
      assert.equal(r?.decryption, "decrypt");
      assert.equal(r?.alpn, "h2,http/1.1");
    });
  });

  it('CONNECT with uninspectable: "tunnel": an upstream certificate that fails validation gets handshake_failure; nothing minted', async () => {
    const both = hello("origin.test", ["h2", "http/1.1"]);
    await withHarness({ policy: policy("origin.test", { uninspectable: "tunnel" }), interception: {} }, async (h) => {
      serveRequests(h, "10.0.0.1", 443, []);
      h.tls.beforeConnect = () => {
        throw new TlsValidationError("ERR_TLS_CERT_ALTNAME_INVALID", "Hostname/IP does not match certificate's altnames");
      };
      const c = h.client();
      await c.write(CONNECT);
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED, "the tunnel opens before the ClientHello is looked at");
      await c.write(both);
      const { data } = await within(c.readToEndOrReset(), 2000, "the alert");
      assert.deepEqual([...data], [21, 3, 3, 0, 2, 2, 40]);
      await h.finish();
      assert.deepEqual(h.tls.leaves, []);
      assert.deepEqual(h.tls.accepts, []);
      const r = h.record();
      assert.equal(r.end, "error");
      assert.match(r.error ?? "", /^Upstream certificate rejected \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
    });
  });

  it('CONNECT with uninspectable: "tunnel": a client that sends no TLS after the 200 is closed; no server is bothered', async () => {
    await withHarness({ policy: policy("origin.test", { uninspectable: "tunnel" }), interception: {} }, async (h) => {
      const c = h.client();
      await c.write(CONNECT);
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await c.write("GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      await within(c.readToEndOrReset(), 1000, "the close");
      await h.finish();
      assert.deepEqual(h.dials, []);
      assert.deepEqual(h.tls.connects, []);
      const r = h.record();
      assert.equal(r.end, "error");
      assert.match(r.error ?? "", /^Client TLS handshake failed: /);
    });
  });

  it("a tunnelled client stays open while the policy tunnels or exempts it, and is closed once it refuses such clients", async () => {
    const h2 = hello("origin.test", ["h2"]);
    const live = new LiveFlows();
    const tunnels = policy("origin.test", { uninspectable: "tunnel" });
    await withHarness({ liveFlows: live, policy: tunnels, interception: {} }, async (h) => {
      const spliced = echoOrigin(h, "10.0.0.1", h2, "server hello");
      const c = h.client();
      await c.write(CONNECT);
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await c.write(h2);
      assert.equal(await c.readText(12), "server hello");
      await until(() => live.list()[0]?.decryption === "exception", 1000, "listed as relayed blind");
      assert.equal(live.recheck(compilePolicy(tunnels)), 0, "the same policy");
      assert.equal(live.recheck(compilePolicy(policy("origin.test", { decryption: "exception" }))), 0, "exempt now: it runs blind already");
      assert.equal(live.recheck(compilePolicy(policy("origin.test"))), 1, "refuses such clients now");
      await within(c.readToEndOrReset(), 1000, "the client closed");
      await within(spliced, 1000, "the upstream closed");
      await h.finish();
      const r = h.record();
      assert.equal(r.end, "revoked");
      assert.match(r.error ?? "", /^the policy refuses clients it cannot inspect now: rule "inspect" matched/);
    });
  });

  it("transparent, by default: refused before anything is dialed", async () => {
    const options = { policy: policy("example.com"), hosts: { "example.com": ["10.0.0.7"] }, interception: {} };
    await withHarness(options, async (h) => {
      const c = h.transparentClient();
      await c.write(hello("example.com", ["h2"]));
      await seesAlert(c);
      await h.finish();
      assert.deepEqual(h.dials, []);
      assert.deepEqual(h.tls.connects, []);
      const r = h.record();
      assert.equal(r.alpn, "h2");
      assert.equal(r.end, "error");
      assert.match(r.error ?? "", /^Cannot inspect: the client offers only "h2" \(ALPN\)/);
    });
  });

  it('transparent with uninspectable: "tunnel": spliced as an exception, no upstream TLS', async () => {
    const offer = hello("example.com", ["h2", "grpc-exp"]);
    const options = { policy: policy("example.com", { uninspectable: "tunnel" }), hosts: { "example.com": ["10.0.0.7"] }, interception: {} };
    await withHarness(options, async (h) => {
      const spliced = echoOrigin(h, "10.0.0.7", offer, "server hello");
      const c = h.transparentClient();
      await c.write(offer);
      assert.equal(await c.readText(12), "server hello");
      await c.end();
      await c.readToEndOrReset();
      await within(spliced, 1000, "the splice");
      await h.finish();
      assert.deepEqual(h.tls.connects, []);
      assert.deepEqual(h.dials, [{ address: "10.0.0.7", port: 443 }]);
      const r = h.record();
      assert.equal(r.decryption, "exception");
      assert.match(r.reason ?? "", /offers only "h2", "grpc-exp" \(ALPN\).*relayed without decryption/);
    });
  });
});
