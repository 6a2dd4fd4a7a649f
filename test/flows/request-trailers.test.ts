/**
 * On the forward inspected paths (decrypted and plain HTTP), a chunked request's trailer
 * section carries neither the override fields url rules judge in the head
 * (`X-HTTP-Method-Override`, `X-Original-URL`, …) nor the fields an allowing rule's
 * `requestHeaders` removes or sets: a server that merges trailers into the fields (the case
 * `trailer-fields.ts` guards against) would see a method or path the rules never judged, or
 * the client's own value of a field the rule replaces. Reverse routes do the same
 * (`reverse-forward.ts`, `backendTrailers`).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { UrlRuleDefinition } from "../../src/policy/types.ts";
import { chunkedUploadOrigin, DECRYPT_POLICY, ESTABLISHED, readResponse, withHarness, within } from "../helpers/flow-harness.ts";

const RULES: UrlRuleDefinition[] = [
  { id: "no-delete", methods: ["DELETE"], action: "deny" },
  { id: "no-admin", paths: ["/admin"], action: "deny" },
  { id: "tenants", action: "allow", requestHeaders: { remove: [], set: [["Restrict-Access-To-Tenants", "contoso.com"]], add: [] } },
];
const TRAILERS = "X-HTTP-Method-Override: DELETE\r\nX-Original-URL: /admin\r\nRestrict-Access-To-Tenants: evil.example\r\nX-Checksum: 1\r\n";
const BODY = `1\r\na\r\n0\r\n${TRAILERS}\r\n`;

function checkTrailers(raw: string): void {
  assert.match(raw, /X-Checksum: 1/, "an ordinary trailer field still passes");
  assert.doesNotMatch(raw, /X-HTTP-Method-Override/i, `a method the url rules never judged reached the origin: ${JSON.stringify(raw)}`);
  assert.doesNotMatch(raw, /X-Original-URL/i, `a path the url rules never judged reached the origin: ${JSON.stringify(raw)}`);
  assert.doesNotMatch(raw, /evil\.example/, `the client's own value of a field the rule sets reached the origin: ${JSON.stringify(raw)}`);
}

describe("request trailers carry no override field and no field a url rule edits", () => {
  it("decrypted", async () => {
    await withHarness({ policy: DECRYPT_POLICY, interception: { urlRules: RULES } }, async (h) => {
      const origin = chunkedUploadOrigin(h, "10.0.0.1", 443);
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
      await c.write(`POST /items/1 HTTP/1.1\r\nHost: origin.test\r\nTransfer-Encoding: chunked\r\n\r\n${BODY}`);
      assert.equal((await readResponse(c)).head.status, 200);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      checkTrailers(origin.body());
    });
  });

  it("explicit plain HTTP", async () => {
    await withHarness({ urlRules: RULES }, async (h) => {
      const origin = chunkedUploadOrigin(h, "10.0.0.1", 80);
      const c = h.client();
      await c.write(`POST http://origin.test/items/1 HTTP/1.1\r\nHost: origin.test\r\nTransfer-Encoding: chunked\r\n\r\n${BODY}`);
      assert.equal((await readResponse(c)).head.status, 200);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      checkTrailers(origin.body());
    });
  });
});
