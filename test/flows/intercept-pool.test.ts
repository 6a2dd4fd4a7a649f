import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  dec,
  DECRYPT_POLICY,
  ESTABLISHED,
  type FlowHarness,
  okResponse,
  type Peer,
  readResponse,
  until,
  withHarness,
  within,
  refusal,
} from "../helpers/flow-harness.ts";
import { createAddressGuard } from "../../src/policy/address-guard.ts";
import type { PolicyDefinition } from "../../src/policy/types.ts";

const POOL = { maxIdle: 16, maxIdlePerKey: 4, idleTimeoutMs: 5000 };
const OPTIONS = { policy: DECRYPT_POLICY, interception: { upstreamPool: POOL, mirrorUpstreamSans: true, upstreamSans: ["origin.test", "alt.origin.test"] } };

/** One decrypted session to origin.test: a GET of `path`, then the client hangs up; the body. */
async function session(h: FlowHarness, path: string, host = "origin.test"): Promise<string> {
  const c: Peer = h.client();
  await c.write(`CONNECT ${host}:443 HTTP/1.1\r\nHost: ${host}:443\r\n\r\n`);
  assert.equal(await within(c.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
  await c.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  const { body } = await readResponse(c);
  await c.end();
  assert.equal(dec.decode((await c.readToEndOrReset()).data), "");
  return body;
}

/** The origin at 10.0.0.1:443, `serve` called with each connection and its number (1, 2, …). */
function numberedOrigin(h: FlowHarness, serve: (o: Peer, n: number) => Promise<void>): void {
  let connections = 0;
  h.origin("10.0.0.1", 443, (o) => serve(o, ++connections));
}

/** An origin answering every request of a connection with `body(connection, request, path)`. */
function keepAliveOrigin(h: FlowHarness, body: (n: number, i: number, path: string) => string = (n) => `conn ${n}`): void {
  numberedOrigin(h, async (o, n) => {
    for (let i = 1; ; i++) {
      const head = await o.readHead().catch(() => undefined);
      if (!head) break;
      await o.write(okResponse(body(n, i, head.startLine.split(" ")[1] ?? "")));
    }
  });
}

/** When the n-th flow line is written: the session has let go of its upstream. */
const flowsDone = (h: FlowHarness, n: number) => until(() => h.records.length >= n, 1000, `${n} flow lines`);

describe("interception: upstream connection reuse", () => {
  it("a later session to the same origin reuses the idle validated connection: no dial, no handshake", async () => {
    await withHarness(OPTIONS, async (h) => {
      keepAliveOrigin(h, (n, i, path) => `conn ${n} request ${i} ${path}`);
      assert.equal(await session(h, "/a"), "conn 1 request 1 /a");
      await flowsDone(h, 1);
      assert.equal(await session(h, "/b"), "conn 1 request 2 /b");
      await flowsDone(h, 2);
      assert.equal(h.tls.connects.length, 1, "one handshake with the origin");
      assert.deepEqual(h.dials, [{ address: "10.0.0.1", port: 443 }]);
      // the reused connection's certificate is still the one mirrored into the leaf
      const leaf = { host: "origin.test", sans: ["origin.test", "alt.origin.test"] };
      assert.deepEqual(h.tls.leaves, [leaf, leaf]);
      assert.deepEqual(h.records.map((r) => [r.resolved, r.dnsSource, r.end]), [["10.0.0.1", "static", "eof"], ["10.0.0.1", "static", "eof"]]);
      h.ctx.interception?.upstreamPool?.close();
      await h.finish();
    });
  });

  it("a connection the origin closed, or asked to close, is not reused", async () => {
    for (const how of ["Connection: close", "FIN while idle"] as const) {
      await withHarness(OPTIONS, async (h) => {
        numberedOrigin(h, async (o, mine) => {
          await o.readHead();
          await o.write(okResponse(`conn ${mine}`, how === "Connection: close" ? "Connection: close\r\n" : ""));
          if (how === "FIN while idle") await o.end();
          await o.readToEndOrReset();
        });
        assert.equal(await session(h, "/"), "conn 1");
        await flowsDone(h, 1);
        await new Promise((r) => setTimeout(r, 20)); // the FIN reaches the idle connection
        assert.equal(await session(h, "/"), "conn 2", how);
        assert.equal(h.tls.connects.length, 2, how);
        h.ctx.interception?.upstreamPool?.close();
        await h.finish();
      });
    }
  });

  it("a connection reused just as the origin closes it: the request is sent again on a new one", async () => {
    await withHarness(OPTIONS, async (h) => {
      numberedOrigin(h, async (o, mine) => {
        await o.readHead();
        await o.write(okResponse(`conn ${mine}`));
        if (mine === 1) {
          // closes only once the next request arrived: a race the watch cannot see
          await o.readHead();
          await o.end();
        }
        await o.readToEndOrReset();
      });
      assert.equal(await session(h, "/"), "conn 1");
      await flowsDone(h, 1);
      assert.equal(await session(h, "/"), "conn 2");
      assert.equal(h.tls.connects.length, 2);
      assert.equal(h.requestRecords.at(-1)?.status, 200);
      h.ctx.interception?.upstreamPool?.close();
      await h.finish();
    });
  });

  it("a session that ends mid-response, or with an error, does not give its connection back", async () => {
    await withHarness(OPTIONS, async (h) => {
      numberedOrigin(h, async (o, mine) => {
        await o.readHead();
        if (mine === 1) {
          await o.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
          // and stalls: the client's reset ends this connection at once
          assert.equal((await o.readToEndOrReset()).reset, true);
          return;
        }
        await o.write(okResponse(`conn ${mine}`));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await c.write("GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      await c.readUntil("partial");
      c.conn.close(); // the client goes away mid-body

      await flowsDone(h, 1);
      assert.equal(await session(h, "/"), "conn 2");
      assert.equal(h.tls.connects.length, 2);
      h.ctx.interception?.upstreamPool?.close();
      await h.finish();
    });
  });

  it("a connection that carried NTLM or Negotiate authentication is never handed to another session", async () => {
    for (const auth of ["NTLM TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA=", "negotiate YIIBhwYGKwYBBQUCoII="]) {
      await withHarness(OPTIONS, async (h) => {
        keepAliveOrigin(h);
        const c = h.client();
        await c.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
        assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
        await c.write(`GET / HTTP/1.1\r\nHost: origin.test\r\nAuthorization: ${auth}\r\n\r\n`);
        assert.equal((await readResponse(c)).body, "conn 1");
        await c.write("GET /after HTTP/1.1\r\nHost: origin.test\r\n\r\n");
        assert.equal((await readResponse(c)).body, "conn 1", "the session itself keeps its connection");
        await c.end();
        await c.readToEndOrReset();
        await flowsDone(h, 1);
        assert.equal(await session(h, "/"), "conn 2", auth);
        h.ctx.interception?.upstreamPool?.close();
        await h.finish();
      });
    }
  });

  it("sessions under other validation settings do not share connections", async () => {
    await withHarness({ ...OPTIONS, hosts: { "other.test": ["10.0.0.1"] } }, async (h) => {
      keepAliveOrigin(h);
      assert.equal(await session(h, "/", "origin.test"), "conn 1");
      await flowsDone(h, 1);
      // other.test is decrypted without validation (lab-insecure): never a verified connection
      assert.equal(await session(h, "/", "other.test"), "conn 2");
      h.ctx.interception?.upstreamPool?.close();
      await h.finish();
    });
  });

  it("a pooled connection serves only a decision the address guard admits it for: another rule's allowAddresses do not carry over", async () => {
    const policy: PolicyDefinition = {
      defaultAction: "deny",
      defaultLog: true,
      rules: [
        // admins may reach the internal origin (10.0.0.1), which the address guard otherwise refuses
        { id: "admins-internal", clients: ["10.9.0.0/16"], hosts: ["origin.test"], action: "allow", decryption: "decrypt", allowAddresses: ["10.0.0.0/8"], log: true },
        { id: "everyone", hosts: [".test"], action: "allow", decryption: "decrypt", log: true },
      ],
    };
    await withHarness({ policy, interception: { upstreamPool: POOL }, addressGuard: createAddressGuard() }, async (h) => {
      keepAliveOrigin(h, () => "internal secret");
      const admin = h.childProxyClient("10.9.0.5", []);
      await admin.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      assert.equal(await within(admin.readText(ESTABLISHED.length), 1500, "200"), ESTABLISHED);
      await admin.write("GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(admin)).body, "internal secret");
      await admin.end();
      await admin.readToEndOrReset();
      await until(() => h.records.length >= 1, 1000, "the admin's flow line");
      const user = h.client(); // 127.0.0.1: not an admin, while the admin's connection waits in the pool
      await user.write("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n");
      const answer = await refusal(user);
      assert.equal(answer.status, 403);
      assert.match(answer.body, /refused by the address guard: 10\.0\.0\.1/);
      h.ctx.interception?.upstreamPool?.close();
      await h.finish();
      assert.deepEqual(h.records.map((r) => [r.rule, r.status]), [["admins-internal", 200], ["address-guard", 403]]);
    });
  });
});
