import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ErrorFacts, ReverseErrorPages } from "../../src/reverse/error-pages.ts";

/** A 502 about backends, from a client at 203.0.113.5. */
const FACTS: ErrorFacts = {
  status: 502,
  message: 'No backend of pool "api" could be reached: Connect to backend http://10.0.2.21:8443 (10.0.2.21): ECONNREFUSED',
  client: "203.0.113.5",
  requestId: "req-1",
  method: "GET",
  accept: "*/*",
  host: "www.example.com",
  url: "https://www.example.com/api/x",
  proxyError: "connection_refused",
  headers: [["X-Request-Id", "req-1"]],
};

/** The answer's head lines and body. */
function parse(bytes: Uint8Array): { lines: string[]; body: string } {
  const text = new TextDecoder().decode(bytes);
  const at = text.indexOf("\r\n\r\n");
  return { lines: text.slice(0, at).split("\r\n"), body: text.slice(at + 4) };
}

function field(lines: string[], name: string): string | undefined {
  const line = lines.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

describe("reverse error pages", () => {
  it("a 5xx: the status's sentence and the request id, nothing of the inside, in the body or in Proxy-Status", () => {
    const { lines, body } = parse(ReverseErrorPages.default.answer(FACTS));
    assert.equal(lines[0], "HTTP/1.1 502 Bad Gateway");
    assert.equal(body, "The service could not be reached (request id req-1)\n");
    assert.equal(field(lines, "proxy-status"), 'tollgate; error=connection_refused; details="The service could not be reached (request id req-1)"');
    assert.equal(field(lines, "cache-control"), "no-store");
    assert.equal(field(lines, "x-request-id"), "req-1");
    assert.ok(!lines.join("\n").includes("10.0.2.21") && !lines.join("\n").includes("api"), lines.join("\n"));
  });

  it("each status has its sentence; an unlisted 5xx a general one; a 4xx marked internal its reason phrase", () => {
    const pages = ReverseErrorPages.default;
    const shown = (status: number, internal?: boolean) =>
      pages.shown({ status, message: "inside", client: "203.0.113.5", requestId: "r", ...(internal === undefined ? {} : { internal }) });
    assert.deepEqual([403, 429, 502, 503, 504, 500, 421].map((s) => shown(s, true)), [
      "Access denied (request id r)",
      "Too many requests (request id r)",
      "The service could not be reached (request id r)",
      "The service is unavailable (request id r)",
      "The service did not answer in time (request id r)",
      "The gateway could not serve this request (request id r)",
      "Misdirected Request (request id r)",
    ]);
    assert.equal(shown(502), "The service could not be reached (request id r)", "a 5xx is internal unless said otherwise");
    assert.equal(shown(503, false), "inside", "a 5xx said to be for the user (a sign-in) is shown");
    assert.equal(shown(404), "inside", "a 4xx is shown unless marked internal");
    assert.equal(shown(403), "inside");
  });

  it("detailsFor: those clients are shown the full reason, by address or CIDR, IPv4 and IPv6", () => {
    const pages = new ReverseErrorPages({ detailsFor: ["10.0.0.0/8", "2001:db8::/32"] });
    for (const client of ["10.1.2.3", "2001:db8::7", "::ffff:10.0.0.1"]) {
      assert.equal(pages.shown({ ...FACTS, client }), FACTS.message, client);
    }
    for (const client of ["11.0.0.1", "2001:db9::1", "not an address"]) {
      assert.equal(pages.shown({ ...FACTS, client }), "The service could not be reached (request id req-1)", client);
    }
    assert.throws(() => new ReverseErrorPages({ detailsFor: ["10.0.0.0/33"] }), /10\.0\.0\.0\/33/);
  });

  it("a template: a browser gets the page, escaped, as HTML; another client the text; HEAD the head alone", () => {
    const pages = new ReverseErrorPages({
      template: "<title>{{status}} {{title}}</title><p>{{message}}</p><p>{{ requestId }} {{host}} {{url}} {{client}} {{time}}</p>",
      detailsFor: [],
    });
    const html = parse(pages.answer({ ...FACTS, accept: "text/html,application/xhtml+xml;q=0.9", url: "https://www.example.com/<script>" }));
    assert.equal(field(html.lines, "content-type"), "text/html; charset=utf-8");
    assert.equal(field(html.lines, "x-content-type-options"), "nosniff");
    assert.match(
      html.body,
      /^<title>502 Bad Gateway<\/title><p>The service could not be reached \(request id req-1\)<\/p><p>req-1 www\.example\.com https:\/\/www\.example\.com\/&lt;script&gt; 203\.0\.113\.5 \d{4}-\d\d-\d\dT[\d:.]+Z<\/p>$/,
    );
    assert.equal(field(html.lines, "content-length"), String(new TextEncoder().encode(html.body).byteLength));
    const text = parse(pages.answer(FACTS));
    assert.equal(field(text.lines, "content-type"), "text/plain; charset=utf-8");
    assert.equal(text.body, "The service could not be reached (request id req-1)\n");
    const head = parse(pages.answer({ ...FACTS, method: "HEAD", accept: "text/html" }));
    const get = parse(pages.answer({ ...FACTS, accept: "text/html" }));
    assert.equal(head.body, "");
    assert.equal(field(head.lines, "content-length"), field(get.lines, "content-length"));
    assert.equal(field(head.lines, "content-type"), "text/html; charset=utf-8");
  });

  it("a template with an unknown placeholder is refused, naming it, its line and the known ones", () => {
    assert.throws(
      () => new ReverseErrorPages({ template: "<p>\n{{status}}\n{{backend}}</p>", detailsFor: [] }),
      /^Error: unknown placeholder \{\{backend\}\} at line 3; known: \{\{status\}\} \{\{title\}\} \{\{message\}\} \{\{requestId\}\} \{\{host\}\} \{\{url\}\} \{\{client\}\} \{\{time\}\}$/,
    );
  });
});
