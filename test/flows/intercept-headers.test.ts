import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DECRYPT_POLICY, ESTABLISHED, type FlowHarness, okResponse, type ParsedHead, readResponse, withHarness, within } from "../helpers/flow-harness.ts";

/** An origin on 10.0.0.1:443 answering every request with `response`; the heads it read. */
function answeringOrigin(h: FlowHarness, response: string): ParsedHead[] {
  const seen: ParsedHead[] = [];
  h.origin("10.0.0.1", 443, async (o) => {
    for (;;) {
      const head = await o.readHead().catch(() => undefined);
      if (!head) return;
      seen.push(head);
      await o.write(response);
    }
  });
  return seen;
}

describe("interception: a url rule's requestHeaders and responseHeaders", () => {
  it("the origin gets the rule's fields (the client's same-named ones replaced, removed ones gone), the client its response edits; other requests go as sent", async () => {
    const urlRules = [{
      id: "tenants",
      hosts: ["origin.test"],
      paths: ["/login"],
      action: "allow" as const,
      log: true,
      requestHeaders: { remove: ["X-Internal"], set: [["Restrict-Access-To-Tenants", "contoso.com"]] as [string, string][], add: [["X-Via-Gateway", "1"]] as [string, string][] },
      responseHeaders: { remove: ["Alt-Svc"], set: [], add: [] },
    }];
    await withHarness({ policy: DECRYPT_POLICY, interception: { urlRules } }, async (h) => {
      const seen = answeringOrigin(h, okResponse("ok", 'Alt-Svc: h3=":443"; ma=86400\r\n'));
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200 to the CONNECT"), ESTABLISHED);
      const forged = "Restrict-Access-To-Tenants: evil.example\r\nrestrict-access-to-tenants: also.evil\r\nX-Internal: 1\r\nX-Kept: yes\r\n";
      await c.write(`GET /login/oauth2 HTTP/1.1\r\nHost: origin.test\r\n${forged}\r\n`);
      assert.equal((await readResponse(c)).head.get("alt-svc"), undefined, "the rule's responseHeaders removed it");
      await c.write(`GET /other HTTP/1.1\r\nHost: origin.test\r\n${forged}\r\n`);
      assert.equal((await readResponse(c)).head.get("alt-svc"), 'h3=":443"; ma=86400');
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      const [login, other] = seen;
      assert.deepEqual(login?.all("restrict-access-to-tenants"), ["contoso.com"]);
      assert.deepEqual(login?.all("x-internal"), []);
      assert.deepEqual(login?.all("x-via-gateway"), ["1"]);
      assert.deepEqual(login?.all("x-kept"), ["yes"]);
      assert.deepEqual(other?.all("restrict-access-to-tenants"), ["evil.example", "also.evil"], "no rule matched: as sent");
      assert.deepEqual(other?.all("x-internal"), ["1"]);
      assert.deepEqual(h.requestRecords.map((q) => q.rule), ["tenants", "default"]);
    });
  });
});

describe("interception: override fields are judged by the url rules", () => {
  const cases = [
    // [what names the method, request line and fields allowed, then denied, as the reason says it]
    ["X-HTTP-Method-Override", "POST /items/1 HTTP/1.1\r\nX-HTTP-Method-Override: GET", "POST /items/1 HTTP/1.1\r\nX-HTTP-Method-Override: DELETE", 'X-HTTP-Method-Override: "DELETE"'],
    ["a _method query parameter", "POST /items/1?_method=PATCH HTTP/1.1", "POST /items/1?x=1&_method=delete HTTP/1.1", '?_method: "DELETE"'],
  ] as const;
  for (const [how, allowed, denied, shown] of cases) {
    it(`${how} naming DELETE on a decrypted POST is denied by a rule on DELETE; the session ends with the block page`, async () => {
      const urlRules = [{ id: "no-delete", hosts: ["origin.test"], methods: ["DELETE"], action: "deny" as const, log: true }];
      await withHarness({ policy: DECRYPT_POLICY, interception: { urlRules } }, async (h) => {
        const seen = answeringOrigin(h, okResponse("ok"));
        const c = h.client();
        await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
        assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200 to the CONNECT"), ESTABLISHED);
        await c.write(`${allowed}\r\nHost: origin.test\r\nContent-Length: 0\r\n\r\n`);
        assert.equal((await readResponse(c)).head.status, 200);
        await c.write(`${denied}\r\nHost: origin.test\r\nContent-Length: 0\r\n\r\n`);
        assert.equal((await readResponse(c)).head.status, 403);
        await c.readToEndOrReset();
        await h.finish();
        assert.equal(seen.length, 1);
        assert.deepEqual(h.requestRecords.map((q) => [q.rule, q.status]), [["default", 200], ["no-delete", 403]]);
        assert.equal(h.requestRecords[1]?.reason, `url rule "no-delete" matched host "origin.test" and method DELETE (the request read with ${shown})`);
      });
    });
  }
});
