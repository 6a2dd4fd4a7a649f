import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateCa } from "../../src/pki/ca_generate.ts";
import { loadCa } from "../../src/pki/ca.ts";
import { createLeafCache } from "../../src/pki/leaf_cache.ts";
import { createLeafIssuer } from "../../src/pki/leaf_issuer.ts";
import { dec, DECRYPT_POLICY, ESTABLISHED, serveRequests, withHarness, within } from "../helpers/flow-harness.ts";

// a real leaf cache whose CA may certify multi.test only
const ca = await loadCa(await generateCa({ nameConstraints: { permitted: ["multi.test"] } }));
const cache = createLeafCache(createLeafIssuer(ca));
const decrypting = { policy: DECRYPT_POLICY, interception: { leaf: (host: string, sans?: readonly string[]) => cache.get(host, sans) } };

describe("startDecryption under a name-constrained CA", () => {
  it("a CONNECT to a host outside the CA's name constraints gets the 502 \"Could not issue a certificate\", naming them", async () => {
    await withHarness(decrypting, async (h) => {
      serveRequests(h, "10.0.0.1", 443, []);
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      const head = await within(c.readHead(), 1500, "answer to the CONNECT");
      const body = dec.decode(await c.readBytes(Number(head.get("content-length"))));
      await c.end().catch(() => {});
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(head.status, 502);
      const why = `Could not issue a certificate for origin.test: The name constraints of "${ca.certificate.subject}" do not allow "origin.test": not within the permitted DNS names "multi.test"`;
      assert.match(body, new RegExp(why.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
      assert.deepEqual(h.tls.accepts, [], "no client handshake");
      assert.equal(h.record().status, 502);
      assert.equal(h.record().error, why);
    });
  });

  it("a CONNECT to a host inside them is decrypted", async () => {
    await withHarness(decrypting, async (h) => {
      serveRequests(h, "10.0.0.3", 443, []);
      const c = h.client();
      await c.write("CONNECT multi.test:443 HTTP/1.1\r\nHost: multi.test:443\r\n\r\n");
      assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200 to the CONNECT"), ESTABLISHED);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.tls.accepts.length, 1);
    });
  });
});
