import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { basicAuthorization } from "../../src/parent/tunnel.ts";
import { testParent } from "../helpers/parent-proxy.ts";
import type { UrlRuleDefinition } from "../../src/policy/types.ts";
import { type HarnessOptions, okResponse, type ParsedHead, readResponse, refusal, withHarness } from "../helpers/flow-harness.ts";

/** Url rules as a user would write them for decrypted traffic — and now for plain HTTP too. */
const URL_RULES: UrlRuleDefinition[] = [
  { id: "no-admin", hosts: ["origin.test"], paths: ["/admin"], action: "deny", log: true, message: "Admin pages are off limits." },
  { id: "no-uploads", paths: ["/upload/**"], methods: ["POST", "PUT"], action: "deny", log: true },
  {
    id: "tenants",
    paths: ["/login"],
    action: "allow",
    log: true,
    requestHeaders: { remove: ["X-Internal"], set: [["Restrict-Access-To-Tenants", "contoso.com"]], add: [] },
    responseHeaders: { remove: ["Alt-Svc"], set: [], add: [] },
  },
  { id: "quiet", paths: ["/health"], action: "allow", log: false },
];

const OPTIONS: HarnessOptions = { urlRules: URL_RULES };

/** An origin at 10.0.0.1:80 that answers one request with `response`, keeping its head in `seen`. */
function originOnce(h: Parameters<Parameters<typeof withHarness>[1]>[0], seen: ParsedHead[], response = okResponse("ok")): void {
  h.origin("10.0.0.1", 80, async (o) => {
    seen.push(await o.readHead());
    await o.write(response);
    await o.readToEndOrReset();
  });
}

describe("url rules on plain HTTP (explicit and transparent)", () => {
  it("a denying url rule answers 403 with its message, logs the url rule, never dials", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.client();
      await c.write("GET http://origin.test/admin/users HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      const a = await refusal(c);
      await h.finish();
      assert.equal(a.status, 403);
      assert.match(a.body, /url rule "no-admin" matched .*\nAdmin pages are off limits\.\n$/);
      assert.deepEqual(h.dials, []);
      const r = h.record();
      assert.equal(r.decision, "deny");
      assert.equal(r.rule, "no-admin");
      assert.match(r.reason ?? "", /^url rule "no-admin" matched host "origin\.test"/);
      assert.equal(r.status, 403);
    });
  });

  it("a path or method named in an override field is judged too: X-Original-URL and X-HTTP-Method-Override cannot walk past a rule", async () => {
    await withHarness(OPTIONS, async (h) => {
      const seen: ParsedHead[] = [];
      originOnce(h, seen);
      const c = h.client();
      await c.write("GET http://origin.test/public HTTP/1.1\r\nHost: origin.test\r\nX-Original-URL: /admin/users\r\n\r\n");
      const a = await refusal(c);
      assert.equal(a.status, 403);
      const d = h.client();
      await d.write("GET http://origin.test/upload/a HTTP/1.1\r\nHost: origin.test\r\nX-HTTP-Method-Override: put\r\n\r\n");
      assert.equal((await refusal(d)).status, 403);
      const e = h.client();
      await e.write("GET http://origin.test/upload/a HTTP/1.1\r\nHost: origin.test\r\nX-HTTP-Method-Override: PATCH\r\n\r\n");
      assert.equal((await readResponse(e)).head.status, 200);
      await h.finish();
      assert.deepEqual(h.records.map((r) => [r.decision, r.rule, r.status]), [["deny", "no-admin", 403], ["deny", "no-uploads", 403], ["allow", "allow-test", 200]]);
      assert.match(h.records[0]?.reason ?? "", /\(the request read with X-Original-URL: "\/admin\/users"\)$/);
      assert.match(h.records[1]?.reason ?? "", /\(the request read with X-HTTP-Method-Override: "PUT"\)$/);
      assert.equal(seen.length, 1, "only the allowed request reached the origin");
      assert.deepEqual(seen[0]?.all("x-http-method-override"), ["PATCH"], "an allowed request's fields go as sent");
    });
  });

  it("paths are normalised before matching, as for decrypted requests", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.client();
      await c.write("GET http://origin.test/x/../%61dmin HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await refusal(c)).status, 403);
      await h.finish();
      assert.equal(h.record().rule, "no-admin");
    });
  });

  it("methods count: a POST to /upload is denied, a GET is not", async () => {
    await withHarness(OPTIONS, async (h) => {
      const seen: ParsedHead[] = [];
      originOnce(h, seen);
      const c = h.client();
      await c.write("GET http://origin.test/upload/a HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).head.status, 200);
      await c.write("POST http://origin.test/upload/a HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 3\r\n\r\nabc");
      assert.equal((await refusal(c)).status, 403);
      await h.finish();
      assert.deepEqual(h.records.map((r) => [r.decision, r.rule, r.status]), [["allow", "allow-test", 200], ["deny", "no-uploads", 403]]);
    });
  });

  it("an allowing url rule's header edits apply: the client cannot bring its own tenant list", async () => {
    await withHarness(OPTIONS, async (h) => {
      const seen: ParsedHead[] = [];
      originOnce(h, seen, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nAlt-Svc: h3=\":443\"\r\nX-Kept: 1\r\n\r\nok");
      const c = h.client();
      await c.write("GET http://origin.test/login HTTP/1.1\r\nHost: origin.test\r\nRestrict-Access-To-Tenants: evil.example\r\nX-Internal: 1\r\n\r\n");
      const res = await readResponse(c);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(seen[0]?.get("restrict-access-to-tenants"), "contoso.com");
      assert.equal(seen[0]?.get("x-internal"), undefined);
      assert.equal(res.head.get("alt-svc"), undefined);
      assert.equal(res.head.get("x-kept"), "1");
      const r = h.record();
      assert.equal(r.decision, "allow");
      assert.equal(r.rule, "tenants");
    });
  });

  it("a url rule with log false keeps its requests out of the log; no url rule leaves the connection rule", async () => {
    await withHarness(OPTIONS, async (h) => {
      const seen: ParsedHead[] = [];
      h.origin("10.0.0.1", 80, async (o) => {
        for (let i = 0; i < 2; i++) {
          seen.push(await o.readHead());
          await o.write(okResponse("ok"));
        }
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://origin.test/health HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      await readResponse(c);
      await c.write("GET http://origin.test/page HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      await readResponse(c);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(seen.length, 2);
      assert.deepEqual(h.records.map((r) => [r.rule, r.reason]), [["allow-test", 'rule "allow-test" matched host pattern ".test"']]);
    });
  });

  it("on a transparent HTTP listener too", async () => {
    await withHarness(OPTIONS, async (h) => {
      const c = h.transparentHttpClient();
      await c.write("GET /admin HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await refusal(c)).status, 403);
      await h.finish();
      assert.equal(h.record().rule, "no-admin");
      assert.equal(h.record().mode, "transparent-http");
    });
  });

  it("through a parent proxy: the edits and our parent credentials both reach the parent", async () => {
    const corp = testParent("corp", { authorization: basicAuthorization("gw", "pw") });
    const policy = { defaultAction: "deny" as const, defaultLog: true, defaultParent: "corp", rules: [{ id: "all", hosts: [".test"], action: "allow" as const, log: true }] };
    await withHarness({ ...OPTIONS, policy, parents: [corp], hosts: { "corp.test": ["10.9.0.1"] } }, async (h) => {
      let seen: ParsedHead | undefined;
      h.origin("10.9.0.1", 3128, async (p) => {
        seen = await p.readHead();
        await p.write(okResponse("ok"));
        await p.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://a.test/login HTTP/1.1\r\nHost: a.test\r\nX-Internal: 1\r\n\r\n");
      await readResponse(c);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(seen?.startLine, "GET http://a.test/login HTTP/1.1");
      assert.equal(seen?.get("proxy-authorization"), corp.authorization);
      assert.equal(seen?.get("restrict-access-to-tenants"), "contoso.com");
      assert.equal(seen?.get("x-internal"), undefined);
    });
  });
});
