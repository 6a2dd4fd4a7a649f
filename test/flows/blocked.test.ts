import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { BlockPage } from "../../src/block/block-page.ts";
import type { PolicyDefinition } from "../../src/policy/types.ts";
import { bytes, socksRequest } from "../protocol/socks5-builder.ts";
import { dec, ESTABLISHED, type HarnessOptions, type Peer, withHarness, within } from "../helpers/flow-harness.ts";

/** curl's real ClientHello: SNI example.com (see test/fixtures/client-hello/README.md). */
const CURL = new Uint8Array(readFileSync(new URL("../fixtures/client-hello/curl-openssl.bin", import.meta.url)));

const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

const POLICY: PolicyDefinition = {
  defaultAction: "deny",
  defaultLog: true,
  rules: [
    { id: "no-gambling", hosts: ["evil.test", "example.com"], action: "deny", log: true, message: "Gambling <sites> are blocked.\nAsk it@corp.example." },
    { id: "inspect", hosts: ["origin.test"], action: "allow", decryption: "decrypt", log: true },
    { id: "allow-test", hosts: [".test"], action: "allow", log: true },
  ],
};

const URL_RULES = [{ id: "no-admin", paths: ["/admin"], action: "deny" as const, log: true, message: "Admin pages are off limits." }];

function options(blockPage?: BlockPage): HarnessOptions {
  return { policy: POLICY, hosts: { "example.com": ["10.0.0.7"] }, interception: { urlRules: URL_RULES }, ...(blockPage ? { blockPage } : {}) };
}

/** Reads a whole answer and the end of the connection. */
async function answer(c: Peer): Promise<{ status: number; headers: (name: string) => string | undefined; body: string }> {
  const head = await within(c.readHead(), 1500, "answer");
  const length = Number(head.get("content-length") ?? "0");
  const body = dec.decode(await c.readBytes(length));
  await c.end().catch(() => {});
  const rest = await within(c.readToEndOrReset(), 3000, "end of the connection");
  assert.equal(rest.data.byteLength, 0, "nothing after the block answer");
  return { status: head.status, headers: (n) => head.get(n), body };
}

const INTERCEPT_DENIED = new BlockPage({ interceptDenied: true });

describe("block page: plain HTTP", () => {
  it("a browser gets the HTML page naming the host, the rule and its message, escaped", async () => {
    await withHarness(options(), async (h) => {
      const c = h.client();
      await c.write(`GET http://evil.test/x?a=<b> HTTP/1.1\r\nHost: evil.test\r\nAccept: ${BROWSER_ACCEPT}\r\n\r\n`);
      const a = await answer(c);
      await h.finish();
      assert.equal(a.status, 403);
      assert.equal(a.headers("content-type"), "text/html; charset=utf-8");
      assert.equal(a.headers("cache-control"), "no-store");
      assert.match(a.headers("content-security-policy") ?? "", /default-src 'none'/);
      assert.match(a.headers("proxy-status") ?? "", /error=destination_denied/);
      assert.match(a.body, /^<!doctype html>/);
      assert.match(a.body, /<h1>Access to evil\.test is blocked<\/h1>/);
      assert.match(a.body, /Gambling &lt;sites&gt; are blocked\.\nAsk it@corp\.example\./);
      assert.match(a.body, /<dd>http:\/\/evil\.test\/x\?a=%3Cb%3E<\/dd>/);
      assert.match(a.body, /<dd>no-gambling<\/dd>/);
      assert.match(a.body, /<dd>127\.0\.0\.1<\/dd>/);
      assert.doesNotMatch(a.body, /<b>/, "request text must not reach the page unescaped");
      assert.deepEqual(h.dials, [], "a denied host is never contacted");
      const r = h.record();
      assert.equal(r.decision, "deny");
      assert.equal(r.rule, "no-gambling");
      assert.equal(r.status, 403);
      assert.equal(r.end, "denied");
    });
  });

  it("any other client gets the text answer, with the rule's message on its own line", async () => {
    await withHarness(options(), async (h) => {
      const c = h.client();
      await c.write("GET http://evil.test/ HTTP/1.1\r\nHost: evil.test\r\nAccept: */*\r\n\r\n");
      const a = await answer(c);
      await h.finish();
      assert.equal(a.status, 403);
      assert.equal(a.headers("content-type"), "text/plain; charset=utf-8");
      assert.equal(a.body, 'Blocked by Tollgate policy: rule "no-gambling" (rule "no-gambling" matched host pattern "evil.test")\nGambling <sites> are blocked.\nAsk it@corp.example.\n');
    });
  });

  it("a HEAD gets the head of the page and no body", async () => {
    await withHarness(options(), async (h) => {
      const c = h.client();
      await c.write(`HEAD http://evil.test/ HTTP/1.1\r\nHost: evil.test\r\nAccept: text/html\r\n\r\n`);
      const head = await within(c.readHead(), 1500, "answer");
      await c.end();
      const rest = await within(c.readToEndOrReset(), 3000, "end");
      await h.finish();
      assert.equal(head.status, 403);
      assert.ok(Number(head.get("content-length")) > 500, "Content-Length of the page a GET would get");
      assert.equal(rest.data.byteLength, 0, "no body after the head of a HEAD answer");
    });
  });

  it("with a redirect, every client is sent to the block portal, the values percent-encoded", async () => {
    const page = new BlockPage({ redirect: "https://portal.corp.example/blocked?url={{url}}&rule={{rule}}&user={{user}}", interceptDenied: false });
    await withHarness(options(page), async (h) => {
      const c = h.client();
      await c.write("GET http://evil.test/a%20b?q=1&r=2 HTTP/1.1\r\nHost: evil.test\r\n\r\n");
      const a = await answer(c);
      await h.finish();
      assert.equal(a.status, 302);
      assert.equal(a.headers("location"), "https://portal.corp.example/blocked?url=http%3A%2F%2Fevil.test%2Fa%2520b%3Fq%3D1%26r%3D2&rule=no-gambling&user=");
      assert.equal(a.headers("cache-control"), "no-store");
      assert.equal(h.record().status, 302);
      assert.equal(h.record().decision, "deny");
    });
  });

  it("a custom template replaces the page (and gets no CSP of ours)", async () => {
    const page = new BlockPage({ template: "<p>{{host}}:{{port}} by {{rule}} for {{client}} on {{listener}}</p>", interceptDenied: false });
    await withHarness(options(page), async (h) => {
      const c = h.transparentHttpClient(8080);
      await c.write("GET /x HTTP/1.1\r\nHost: evil.test:8080\r\nAccept: text/html\r\n\r\n");
      const a = await answer(c);
      await h.finish();
      assert.equal(a.body, "<p>evil.test:8080 by no-gambling for 127.0.0.1 on test</p>");
      assert.equal(a.headers("content-security-policy"), undefined);
    });
  });
});

describe("block page: decrypted requests", () => {
  it("a url rule's denial shows the page with its message; the request line says deny", async () => {
    await withHarness(options(), async (h) => {
      h.origin("10.0.0.1", 443, async (o) => {
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
      await c.write(`GET /admin/users HTTP/1.1\r\nHost: origin.test\r\nAccept: ${BROWSER_ACCEPT}\r\n\r\n`);
      const a = await answer(c);
      await h.finish();
      assert.equal(a.status, 403);
      assert.match(a.body, /Admin pages are off limits\./);
      assert.match(a.body, /<dd>https:\/\/origin\.test\/admin\/users<\/dd>/);
      assert.match(a.body, /<dd>no-admin<\/dd>/);
      assert.match(a.body, /<dd>url rule &quot;no-admin&quot; matched path &quot;\/admin\/users&quot;/);
      const [req] = h.requestRecords;
      assert.equal(req?.status, 403);
      assert.equal(req?.decision, "deny");
      assert.equal(req?.rule, "no-admin");
    });
  });
});

describe("block page over TLS (interceptDenied)", () => {
  it("a denied CONNECT is answered 200, decrypted with a minted leaf and shown the page; the host is never dialed", async () => {
    await withHarness(options(INTERCEPT_DENIED), async (h) => {
      const c = h.client();
      await c.write("CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
      await c.write(`GET /spin?x=1 HTTP/1.1\r\nHost: evil.test\r\nAccept: ${BROWSER_ACCEPT}\r\nUser-Agent: Firefox\r\n\r\n`);
      const a = await answer(c);
      await h.finish();
      assert.equal(a.status, 403);
      assert.match(a.body, /Access to evil\.test is blocked/);
      assert.match(a.body, /<dd>https:\/\/evil\.test\/spin\?x=1<\/dd>/);
      assert.deepEqual(h.tls.leaves, [{ host: "evil.test", sans: undefined }]);
      assert.equal(h.tls.accepts.length, 1);
      assert.deepEqual(h.tls.connects, [], "no upstream TLS");
      assert.deepEqual(h.dials, [], "no upstream connection");
      const r = h.record();
      assert.equal(r.decision, "deny");
      assert.equal(r.rule, "no-gambling");
      assert.equal(r.status, 403);
      assert.equal(r.end, "denied");
      assert.equal(r.requests, 1);
      assert.match(r.reason ?? "", /; block page shown over TLS$/);
      const [req] = h.requestRecords;
      assert.equal(req?.url, "https://evil.test/spin?x=1");
      assert.equal(req?.decision, "deny");
      assert.equal(req?.rule, "no-gambling");
      assert.equal(req?.userAgent, "Firefox");
      assert.equal(req?.status, 403);
    });
  });

  it("a denied SOCKS5 request is answered success, then the page over TLS", async () => {
    await withHarness(options(INTERCEPT_DENIED), async (h) => {
      const c = h.socksClient();
      await c.write(bytes(5, 1, 0, socksRequest("evil.test", 443)));
      assert.deepEqual(Array.from(await within(c.readBytes(12), 1500, "choice and reply")), [5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
      await c.write(`GET / HTTP/1.1\r\nHost: evil.test\r\nAccept: ${BROWSER_ACCEPT}\r\n\r\n`);
      const a = await answer(c);
      await h.finish();
      assert.equal(a.status, 403);
      assert.match(a.body, /Access to evil\.test is blocked/);
      assert.deepEqual(h.dials, [], "no upstream connection");
      const r = h.record();
      assert.equal(r.mode, "socks5");
      assert.equal(r.rule, "no-gambling");
      assert.equal(h.requestRecords[0]?.url, "https://evil.test/");
    });
  });

  it("a denied transparent TLS connection with SNI is shown the page too, without resolving the SNI", async () => {
    await withHarness({ ...options(INTERCEPT_DENIED), lookup: () => Promise.reject(new Error("must not resolve")) }, async (h) => {
      const c = h.transparentClient();
      await c.write(CURL);
      await c.write("GET / HTTP/1.1\r\nHost: example.com\r\nAccept: text/html\r\n\r\n");
      const a = await answer(c);
      await h.finish();
      assert.equal(a.status, 403);
      assert.match(a.body, /Access to example\.com is blocked/);
      assert.deepEqual(h.tls.acceptedBytes[0], CURL, "the ClientHello goes to our handshake");
      assert.deepEqual(h.dials, []);
      assert.equal(h.record().status, 403);
      assert.equal(h.requestRecords[0]?.url, "https://example.com/");
    });
  });

  it("a client that never sends a request is closed after headerTimeoutMs, the line says denied", async () => {
    await withHarness({ ...options(INTERCEPT_DENIED), limits: { headerTimeoutMs: 200 } }, async (h) => {
      const c = h.client();
      await c.write("CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
      const rest = await within(c.readToEndOrReset(), 3000, "close after the header timeout");
      assert.match(dec.decode(rest.data), /^HTTP\/1\.1 408 /);
      await h.finish();
      assert.equal(h.record().end, "denied");
      assert.equal(h.record().decision, "deny");
      assert.equal(h.requestRecords.length, 0);
    });
  });

  it("without interceptDenied a denied CONNECT still gets 403 (with the message) and no TLS", async () => {
    await withHarness(options(), async (h) => {
      const c = h.client();
      await c.write("CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n");
      const a = await answer(c);
      await h.finish();
      assert.equal(a.status, 403);
      assert.match(a.body, /rule "no-gambling".*\nGambling <sites> are blocked\./);
      assert.deepEqual(h.tls.accepts, []);
      assert.deepEqual(h.tls.leaves, []);
    });
  });

  it("with interceptDenied but no CA, a denied CONNECT gets the 403", async () => {
    await withHarness({ policy: POLICY, blockPage: INTERCEPT_DENIED }, async (h) => {
      const c = h.client();
      await c.write("CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n");
      const a = await answer(c);
      await h.finish();
      assert.equal(a.status, 403);
    });
  });
});
