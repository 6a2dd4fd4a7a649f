/**
 * When a decrypted session resends a request: only one that met a kept-alive connection the
 * origin closed just then (the race `intercept-pool.test.ts` covers). A connection opened
 * for the request that ends without an answer is the origin's doing, not a race: a `POST`
 * it acted on before going away must not be done twice (RFC 9110 §9.2.2), nor is a `GET`
 * worth a second dial. The plain-HTTP path (`http-forward.ts`) behaves the same.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DECRYPT_POLICY, ESTABLISHED, okResponse, readResponse, withHarness, within } from "../helpers/flow-harness.ts";

describe("decrypted session: no resend on a connection opened for the request", () => {
  for (const method of ["POST", "GET"]) {
    it(`${method} without a body, the origin reads it and closes without answering: 502, sent once`, async () => {
      await withHarness({ policy: DECRYPT_POLICY, interception: {} }, async (h) => {
        const seen: string[] = [];
        h.origin("10.0.0.1", 443, async (o) => {
          seen.push((await o.readHead()).startLine);
          if (seen.length === 1) {
            await o.end(); // acted on it, then went away (crash, restart, LB timeout)
            await o.readToEndOrReset();
            return;
          }
          await o.write(okResponse("done again"));
          await o.readToEndOrReset();
        });
        const c = h.client();
        await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
        assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
        await c.write(`${method} /transfer?to=bob&amount=100 HTTP/1.1\r\nHost: origin.test\r\n\r\n`);
        const res = await readResponse(c);
        await c.end();
        await c.readToEndOrReset();
        await h.finish();
        assert.deepEqual(seen, [`${method} /transfer?to=bob&amount=100 HTTP/1.1`], "the request reached the origin once");
        assert.equal(res.head.status, 502);
        assert.equal(h.tls.connects.length, 1, "no second upstream connection for it");
      });
    });
  }
});
