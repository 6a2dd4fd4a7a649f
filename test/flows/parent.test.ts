import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { basicAuthorization, type ParentProxy } from "../../src/parent/tunnel.ts";
import type { PolicyDefinition } from "../../src/policy/types.ts";
import { DECRYPT_POLICY, dec, ESTABLISHED, okResponse, type Peer, readResponse, withHarness } from "../helpers/flow-harness.ts";
import { testParent } from "../helpers/parent-proxy.ts";
import { createAddressGuard } from "../../src/policy/address-guard.ts";
import { clientHello } from "../protocol/client-hello-builder.ts";

const CORP: ParentProxy = {
  name: "corp",
  host: { kind: "dns", name: "parent.test" },
  port: 3128,
  authority: "parent.test:3128",
  protocol: "http",
  authorization: basicAuthorization("gw", "s3cret:ü"),
  ejectMs: 30_000,
  health: { downUntil: 0, lastError: null },
};
const PARENT_IP = "10.9.0.1";

/** Everything under .test through "corp", except direct.test; evil.test denied. */
const POLICY: PolicyDefinition = {
  defaultAction: "deny",
  defaultLog: true,
  defaultParent: "corp",
  rules: [
    { id: "block-evil", hosts: ["evil.test"], action: "deny", log: true },
    { id: "direct", hosts: ["direct.test"], action: "allow", log: true, parent: "direct" },
    { id: "lab-literal", hosts: ["10.0.0.0/8"], action: "allow", log: true },
    { id: "allow-test", hosts: [".test"], action: "allow", log: true },
  ],
};
const OPTIONS = { policy: POLICY, parents: [CORP], hosts: { "parent.test": [PARENT_IP], "direct.test": ["10.0.0.7"] } };

/** A parent proxy's side of one CONNECT: reads the head, checks it, answers `answer`. */
async function parentConnect(p: Peer, target: string, answer = "HTTP/1.1 200 Connection established\r\n\r\n"): Promise<void> {
  const head = await p.readHead();
  assert.equal(head.startLine, `CONNECT ${target} HTTP/1.1`);
  assert.equal(head.get("host"), target);
  assert.equal(head.get("proxy-authorization"), CORP.authorization);
  await p.write(answer);
}

async function connect(c: Peer, target: string): Promise<void> {
  await c.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\nProxy-Authorization: Basic Y2xpZW50OnNlY3JldA==\r\n\r\n`);
}

describe("parent proxy: tunnels", () => {
  it("CONNECT goes through the parent, by name (not resolved here), with our credentials only", async () => {
    await withHarness(OPTIONS, async (h) => {
      h.origin(PARENT_IP, 3128, async (p) => {
        await parentConnect(p, "far.test:443");
        assert.equal(dec.decode(await p.readBytes(5)), "hello");
        await p.write("world");
        await p.end();
        await p.readToEnd();
      });
      const c = h.client();
      await connect(c, "far.test:443");
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await c.write("hello");
      assert.equal(dec.decode(await c.readToEnd()), "world");
      await c.end();
      await h.finish();
      const r = h.record();
      assert.equal(r.parent, "corp");
      assert.equal(r.dnsSource, "parent");
      assert.equal(r.resolved, null);
      assert.equal(r.status, 200);
      assert.equal(r.bytesUp, 5);
      assert.equal(r.bytesDown, 5);
      // far.test is in no host table: only the parent's name was looked up and dialled
      assert.deepEqual(h.dials, [{ address: PARENT_IP, port: 3128 }]);
    });
  });

  it("bytes the destination sent with the parent's answer reach the client first", async () => {
    await withHarness(OPTIONS, async (h) => {
      h.origin(PARENT_IP, 3128, async (p) => {
        await parentConnect(p, "mail.test:25", "HTTP/1.0 200 OK\r\n\r\n220 mail.test ESMTP\r\n");
        await p.write("more\r\n");
        await p.end();
        await p.readToEnd();
      });
      const c = h.client();
      await connect(c, "mail.test:25");
      assert.equal(dec.decode(await c.readToEnd()), `${ESTABLISHED}220 mail.test ESMTP\r\nmore\r\n`);
      await c.end();
      await h.finish();
      assert.equal(h.record().bytesDown, "220 mail.test ESMTP\r\nmore\r\n".length);
    });
  });

  it("a rule with parent \"direct\" dials the destination itself", async () => {
    await withHarness(OPTIONS, async (h) => {
      h.origin("10.0.0.7", 443, async (o) => {
        await o.end();
        await o.readToEnd();
      });
      const c = h.client();
      await connect(c, "direct.test:443");
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await c.end();
      await c.readToEnd();
      await h.finish();
      const r = h.record();
      assert.equal(r.parent, null);
      assert.equal(r.resolved, "10.0.0.7");
      assert.deepEqual(h.dials, [{ address: "10.0.0.7", port: 443 }]);
    });
  });

  for (
    const [answer, status, proxyStatus] of [
      ["HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n", 502, "proxy_configuration_error"],
      ["HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\nno!", 403, "http_request_denied"],
      ["HTTP/1.1 504 Gateway Timeout\r\n\r\n", 504, "connection_timeout"],
      ["HTTP/1.1 502 Bad Gateway\r\n\r\n", 502, "destination_unavailable"],
    ] as const
  ) {
    it(`a parent's ${answer.slice(9, 12)} is answered ${status}, naming the parent and its status line`, async () => {
      await withHarness(OPTIONS, async (h) => {
        h.origin(PARENT_IP, 3128, async (p) => {
          await parentConnect(p, "far.test:443", answer);
          await p.readToEndOrReset();
        });
        const c = h.client();
        await connect(c, "far.test:443");
        const res = await readResponse(c);
        assert.equal(res.head.status, status);
        assert.match(res.head.get("proxy-status") ?? "", new RegExp(`error=${proxyStatus}`));
        assert.match(res.body, /parent proxy "corp" \(parent\.test:3128\) refused CONNECT far\.test:443: \d{3} /);
        await c.end();
        await c.readToEndOrReset();
        await h.finish();
        const r = h.record();
        assert.equal(r.status, status);
        // a 403 is a denial (no error), with the parent's refusal in the reason
        assert.match((status === 403 ? r.reason : r.error) ?? "", /parent proxy "corp" .* refused CONNECT far\.test:443/);
        assert.equal(r.parent, "corp");
      });
    });
  }

  it("a parent name with several addresses: one that refuses is passed over for the next", async () => {
    await withHarness({ ...OPTIONS, hosts: { ...OPTIONS.hosts, "parent.test": ["10.9.0.9", PARENT_IP] } }, async (h) => {
      h.origin(PARENT_IP, 3128, async (p) => {
        await parentConnect(p, "far.test:443");
        await p.end();
        await p.readToEnd();
      });
      const c = h.client();
      await connect(c, "far.test:443");
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await c.end();
      await c.readToEnd();
      await h.finish();
      assert.deepEqual(h.dials, [{ address: "10.9.0.9", port: 3128 }, { address: PARENT_IP, port: 3128 }]);
      assert.equal(h.record().status, 200);
    });
  });

  it("a parent that refuses the connection, closes without answering, or stays silent: 502, 502, 504", async () => {
    // refused: nothing registered at the parent's address
    await withHarness(OPTIONS, async (h) => {
      const c = h.client();
      await connect(c, "far.test:443");
      const res = await readResponse(c);
      assert.equal(res.head.status, 502);
      assert.match(res.body, /parent proxy "corp" \(parent\.test:3128\): connect failed: ECONNREFUSED/);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
    });
    await withHarness(OPTIONS, async (h) => {
      h.origin(PARENT_IP, 3128, async (p) => {
        await p.readHead();
        await p.end();
        await p.readToEndOrReset();
      });
      const c = h.client();
      await connect(c, "far.test:443");
      const res = await readResponse(c);
      assert.equal(res.head.status, 502);
      assert.match(res.body, /CONNECT far\.test:443 failed: closed the connection without answering/);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
    });
    await withHarness({ ...OPTIONS, limits: { connectTimeoutMs: 200 } }, async (h) => {
      h.origin(PARENT_IP, 3128, async (p) => {
        await p.readHead();
        await p.readToEndOrReset(); // never answers
      });
      const c = h.client();
      await connect(c, "far.test:443");
      const res = await readResponse(c);
      assert.equal(res.head.status, 504);
      assert.match(res.body, /no answer to CONNECT far\.test:443 within 200 ms/);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
    });
  });

  it("a malformed or oversized answer is a 502, not a tunnel", async () => {
    for (const answer of ["SSH-2.0-OpenSSH\r\n\r\n", `HTTP/1.1 200 OK\r\nX: ${"a".repeat(5000)}\r\n\r\n`]) {
      await withHarness(OPTIONS, async (h) => {
        h.origin(PARENT_IP, 3128, async (p) => {
          await p.readHead();
          await p.write(answer).catch(() => {});
          await p.readToEndOrReset();
        });
        const c = h.client();
        await connect(c, "far.test:443");
        const res = await readResponse(c);
        assert.equal(res.head.status, 502);
        assert.match(res.body, /parent proxy "corp" .*CONNECT far\.test:443 failed/);
        await c.end();
        await c.readToEndOrReset();
        await h.finish();
      });
    }
  });

  it("an IP-literal destination still passes the address guard; the parent's own address need not", async () => {
    const guard = createAddressGuard({ self: ["127.0.0.1:3128"] });
    await withHarness(OPTIONS, async (h) => {
      const ctx = h.ctx as { addressGuard?: () => typeof guard };
      ctx.addressGuard = () => guard;
      h.origin(PARENT_IP, 3128, async (p) => {
        await parentConnect(p, "far.test:443");
        await p.end();
        await p.readToEnd();
      });
      const refused = h.client();
      await connect(refused, "10.1.2.3:443");
      const res = await readResponse(refused);
      assert.equal(res.head.status, 403);
      assert.match(res.body, /10\.1\.2\.3:443 refused by the address guard/);
      await refused.end();
      await refused.readToEndOrReset();
      // the parent is at a private address: allowed, it is configured
      const ok = h.client();
      await connect(ok, "far.test:443");
      assert.equal(await ok.readText(ESTABLISHED.length), ESTABLISHED);
      await ok.end();
      await ok.readToEnd();
      await h.finish();
      assert.equal(h.records[0]?.rule, "address-guard");
      assert.deepEqual(h.dials, [{ address: PARENT_IP, port: 3128 }]);
    });
  });

  it("a parent that is one of the gateway's own listeners is never dialled (a loop)", async () => {
    const self: ParentProxy = { name: "loop", host: { kind: "ipv4", address: "127.0.0.1" }, port: 3128, authority: "127.0.0.1:3128", protocol: "http", ejectMs: 30_000, health: { downUntil: 0, lastError: null } };
    const guard = createAddressGuard({ self: ["127.0.0.1:3128"] });
    await withHarness({ policy: { ...POLICY, defaultParent: "loop" }, parents: [self] }, async (h) => {
      const ctx = h.ctx as { addressGuard?: () => typeof guard };
      ctx.addressGuard = () => guard;
      const c = h.client();
      await connect(c, "far.test:443");
      const res = await readResponse(c);
      assert.equal(res.head.status, 502);
      assert.match(res.body, /127\.0\.0\.1:3128 is one of this gateway's listeners/);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(h.dials, []);
    });
  });

  it("a policy naming a parent that is not configured answers 502, never a direct connection", async () => {
    await withHarness({ ...OPTIONS, parents: [] }, async (h) => {
      const c = h.client();
      await connect(c, "far.test:443");
      const res = await readResponse(c);
      assert.equal(res.head.status, 502);
      assert.match(res.body, /Parent proxy "corp" is not configured/);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(h.dials, []);
    });
  });

  it("transparent TLS splices the ClientHello through the parent's tunnel to the SNI", async () => {
    const hello = clientHello("far.test");
    await withHarness(OPTIONS, async (h) => {
      h.origin(PARENT_IP, 3128, async (p) => {
        await parentConnect(p, "far.test:443");
        assert.deepEqual(await p.readBytes(hello.byteLength), hello);
        await p.write("server-hello");
        await p.end();
        await p.readToEnd();
      });
      const c = h.transparentClient();
      await c.write(hello);
      assert.equal(dec.decode(await c.readToEnd()), "server-hello");
      await c.end();
      await h.finish();
      const r = h.record();
      assert.equal(r.kind, "tls");
      assert.equal(r.parent, "corp");
      assert.equal(r.dnsSource, "parent");
    });
  });
});

describe("parent proxy: plain HTTP", () => {
  it("absolute-form requests go to the parent in absolute form, with our credentials; one connection for several origins", async () => {
    await withHarness(OPTIONS, async (h) => {
      const seen: string[] = [];
      h.origin(PARENT_IP, 3128, async (p) => {
        for (const body of ["one", "two"]) {
          const head = await p.readHead();
          seen.push(head.startLine);
          assert.equal(head.get("proxy-authorization"), CORP.authorization);
          assert.match(head.get("via") ?? "", /tollgate/);
          await p.write(okResponse(body));
        }
        await p.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://a.test/x?q=1 HTTP/1.1\r\nHost: a.test\r\nProxy-Authorization: Basic Y2xpZW50OnNlY3JldA==\r\n\r\n");
      assert.equal((await readResponse(c)).body, "one");
      await c.write("GET http://b.test:8080/y HTTP/1.1\r\nHost: b.test:8080\r\n\r\n");
      assert.equal((await readResponse(c)).body, "two");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(seen, ["GET http://a.test/x?q=1 HTTP/1.1", "GET http://b.test:8080/y HTTP/1.1"]);
      assert.deepEqual(h.dials, [{ address: PARENT_IP, port: 3128 }]);
      assert.deepEqual(h.records.map((r) => [r.host, r.parent, r.dnsSource, r.resolved, r.status]), [
        ["a.test", "corp", "parent", null, 200],
        ["b.test", "corp", "parent", null, 200],
      ]);
    });
  });

  it("switching between a parent and a direct origin closes the kept connection", async () => {
    await withHarness(OPTIONS, async (h) => {
      h.origin(PARENT_IP, 3128, async (p) => {
        await p.readHead();
        await p.write(okResponse("via"));
        await p.readToEndOrReset();
      });
      h.origin("10.0.0.7", 80, async (o) => {
        assert.equal((await o.readHead()).startLine, "GET /d HTTP/1.1");
        await o.write(okResponse("direct"));
        await o.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "via");
      await c.write("GET http://direct.test/d HTTP/1.1\r\nHost: direct.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "direct");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(h.records.map((r) => r.parent), ["corp", null]);
    });
  });
});

describe("parent proxy: a reload under a kept connection", () => {
  it("a parent a reload moved or gave a new password gets the next request on a new connection, with the new credentials", async () => {
    const moved: ParentProxy = { ...CORP, host: { kind: "dns", name: "newparent.test" }, authority: "newparent.test:3128", authorization: basicAuthorization("gw", "new") };
    for (const next of [moved, { ...CORP, authorization: basicAuthorization("gw", "rotated") }, CORP]) {
      await withHarness({ ...OPTIONS, hosts: { ...OPTIONS.hosts, "newparent.test": ["10.9.0.5"] } }, async (h) => {
        let table = new Map([["corp", CORP]]);
        (h.ctx as { parents?: () => ReadonlyMap<string, ParentProxy> }).parents = () => table;
        const seen: string[] = [];
        for (const address of [PARENT_IP, "10.9.0.5"]) {
          h.origin(address, 3128, async (p) => {
            for (;;) {
              const head = await p.readHead().catch(() => undefined);
              if (!head) return;
              seen.push(`${address} ${head.startLine} ${head.get("proxy-authorization")}`);
              await p.write(okResponse("ok"));
            }
          });
        }
        const c = h.client();
        await c.write("GET http://a.test/1 HTTP/1.1\r\nHost: a.test\r\n\r\n");
        await readResponse(c);
        table = new Map([["corp", next]]); // the reload
        await c.write("GET http://b.test/2 HTTP/1.1\r\nHost: b.test\r\n\r\n");
        await readResponse(c);
        await c.end();
        await c.readToEndOrReset();
        await h.finish();
        const address = next.authority === CORP.authority ? PARENT_IP : "10.9.0.5";
        assert.deepEqual(seen, [
          `${PARENT_IP} GET http://a.test/1 HTTP/1.1 ${CORP.authorization}`,
          `${address} GET http://b.test/2 HTTP/1.1 ${next.authorization}`,
        ]);
        assert.equal(h.dials.length, next === CORP ? 1 : 2, "unchanged: the kept connection serves on");
      });
    }
  });
});

describe("parent proxy: transparent plain HTTP", () => {
  it("the Host header's destination is asked of the parent in absolute form; the client's Host is kept", async () => {
    await withHarness(OPTIONS, async (h) => {
      h.origin(PARENT_IP, 3128, async (p) => {
        const head = await p.readHead();
        assert.equal(head.startLine, "GET http://far.test/x HTTP/1.1");
        assert.equal(head.get("host"), "far.test");
        assert.equal(head.get("proxy-authorization"), CORP.authorization);
        await p.write(okResponse("via parent"));
        await p.readToEndOrReset();
      });
      const c = h.transparentHttpClient();
      await c.write("GET /x HTTP/1.1\r\nHost: far.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "via parent");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.record().parent, "corp");
    });
  });
});

describe("parent proxy: decryption", () => {
  it("TLS to the real server runs over the parent's tunnel, validated for the CONNECT host", async () => {
    const policy: PolicyDefinition = { ...DECRYPT_POLICY, defaultParent: "corp" };
    await withHarness({ ...OPTIONS, policy, interception: {} }, async (h) => {
      h.origin(PARENT_IP, 3128, async (p) => {
        await parentConnect(p, "origin.test:443");
        // the fake TLS is plaintext: what arrives is the decrypted request
        const head = await p.readHead();
        assert.equal(head.startLine, "GET /page HTTP/1.1");
        assert.equal(head.get("proxy-authorization"), undefined);
        await p.write(okResponse("secret page"));
        await p.readToEndOrReset();
      });
      const c = h.client();
      await connect(c, "origin.test:443");
      assert.equal(await c.readText(ESTABLISHED.length), ESTABLISHED);
      await c.write("GET /page HTTP/1.1\r\nHost: origin.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "secret page");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      const [connectOptions] = h.tls.connects;
      assert.equal(connectOptions?.servername, "origin.test");
      assert.equal(connectOptions?.verify, true);
      assert.ok(connectOptions?.over, "handshake over the tunnel");
      assert.equal(connectOptions?.address, PARENT_IP);
      assert.deepEqual(h.dials, [{ address: PARENT_IP, port: 3128 }]);
      const r = h.record();
      assert.equal(r.decryption, "decrypt");
      assert.equal(r.parent, "corp");
      assert.equal(h.requestRecords[0]?.status, 200);
    });
  });
});

describe("parent proxy: failover to a fallback parent", () => {
  const BACKUP_IP = "10.9.0.2";
  /** corp (down unless served) falls back to backup, which has credentials of its own. */
  const parents = (): ParentProxy[] => [
    { ...CORP, fallback: "backup", health: { downUntil: 0, lastError: null } },
    testParent("backup", { authorization: basicAuthorization("gw", "backup-secret") }),
  ];
  const options = () => ({ ...OPTIONS, parents: parents(), hosts: { ...OPTIONS.hosts, "backup.test": [BACKUP_IP] } });
  /** A parent answering every CONNECT with 200, echoing one line, counting connections. */
  function serveTunnels(h: Parameters<Parameters<typeof withHarness>[1]>[0], address: string, seen: string[]): void {
    h.origin(address, 3128, async (p) => {
      const head = await p.readHead();
      seen.push(`${head.startLine} ${head.get("proxy-authorization")}`);
      await p.write("HTTP/1.1 200 Connection established\r\n\r\n");
      await p.end();
      await p.readToEndOrReset();
    });
  }
  async function tunnel(c: Peer, target: string): Promise<string> {
    await connect(c, target);
    const text = dec.decode(await c.readToEnd());
    await c.end();
    return text;
  }

  it("a parent that refuses the connection hands the tunnel to its fallback, which is then used at once", async () => {
    await withHarness(options(), async (h) => {
      const seen: string[] = [];
      serveTunnels(h, BACKUP_IP, seen);
      assert.equal(await tunnel(h.client(), "far.test:443"), ESTABLISHED);
      assert.equal(await tunnel(h.client(), "far.test:443"), ESTABLISHED);
      await h.finish();
      assert.deepEqual(h.records.map((r) => [r.parent, r.status]), [["backup", 200], ["backup", 200]]);
      // the second flow did not try corp again: it is passed over for its ejectMs
      assert.deepEqual(h.dials, [{ address: PARENT_IP, port: 3128 }, { address: BACKUP_IP, port: 3128 }, { address: BACKUP_IP, port: 3128 }]);
      assert.deepEqual(seen, Array(2).fill(`CONNECT far.test:443 HTTP/1.1 ${basicAuthorization("gw", "backup-secret")}`));
    });
  });

  it("a parent that answers (403) is not second-guessed: no fallback", async () => {
    await withHarness(options(), async (h) => {
      h.origin(PARENT_IP, 3128, async (p) => {
        await parentConnect(p, "far.test:443", "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        await p.readToEndOrReset();
      });
      const c = h.client();
      await connect(c, "far.test:443");
      const res = await readResponse(c);
      assert.equal(res.head.status, 403);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.deepEqual(h.dials, [{ address: PARENT_IP, port: 3128 }]);
    });
  });

  it("a parent that knew the destination and stayed silent, closed or garbled its answer: no fallback, and still in service", async () => {
    const answers = [
      ["silent", async (p: Peer) => void await p.readToEndOrReset(), 504, /no answer to CONNECT blackhole\.test:443 within 200 ms/, "connection_timeout"],
      ["closes", async (p: Peer) => void await p.end(), 502, /CONNECT blackhole\.test:443 failed: closed the connection without answering/, "connection_terminated"],
      ["garbles", async (p: Peer) => void await p.write("SSH-2.0-OpenSSH\r\n\r\n"), 502, /CONNECT blackhole\.test:443 failed: .*status line/i, "http_protocol_error"],
    ] as const;
    for (const [what, answer, status, body, proxyStatus] of answers) {
      await withHarness({ ...options(), limits: { connectTimeoutMs: 200 } }, async (h) => {
        const seen: string[] = [];
        serveTunnels(h, BACKUP_IP, seen);
        let first = true;
        h.origin(PARENT_IP, 3128, async (p) => {
          const head = await p.readHead();
          if (first) {
            first = false;
            await answer(p); // the destination a client named: whatever corp does about it stands
          } else {
            assert.equal(head.startLine, "CONNECT bank.test:443 HTTP/1.1");
            await p.write("HTTP/1.1 200 Connection established\r\n\r\n");
            await p.end();
          }
          await p.readToEndOrReset();
        });
        const c = h.client();
        await connect(c, "blackhole.test:443");
        const res = await readResponse(c);
        await c.end();
        await c.readToEndOrReset();
        assert.deepEqual([res.head.status, res.head.get("proxy-status")?.match(/error=(\w+)/)?.[1]], [status, proxyStatus], what);
        assert.match(res.body, body, what);
        assert.equal(await tunnel(h.client(), "bank.test:443"), ESTABLISHED, `${what}: the next client's tunnel still goes through corp`);
        await h.finish();
        assert.deepEqual(seen, [], `${what}: the fallback was never asked`);
        assert.deepEqual(h.records.map((r) => r.parent), ["corp", "corp"], what);
      });
    }
  });

  it("when no parent of the chain can be reached: 502 naming each", async () => {
    await withHarness(options(), async (h) => {
      const c = h.client();
      await connect(c, "far.test:443");
      const res = await readResponse(c);
      assert.equal(res.head.status, 502);
      assert.match(res.body, /No parent proxy could be reached: parent proxy "corp" \(parent\.test:3128\): connect failed: ECONNREFUSED; parent proxy "backup" \(backup\.test:3128\): connect failed: ECONNREFUSED/);
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
    });
  });

  it("plain HTTP through the fallback carries the fallback's credentials", async () => {
    await withHarness(options(), async (h) => {
      h.origin(BACKUP_IP, 3128, async (p) => {
        const head = await p.readHead();
        assert.equal(head.startLine, "GET http://far.test/x HTTP/1.1");
        assert.equal(head.get("proxy-authorization"), basicAuthorization("gw", "backup-secret"));
        await p.write(okResponse("via backup"));
        await p.readToEndOrReset();
      });
      const c = h.client();
      await c.write("GET http://far.test/x HTTP/1.1\r\nHost: far.test\r\n\r\n");
      assert.equal((await readResponse(c)).body, "via backup");
      await c.end();
      await c.readToEndOrReset();
      await h.finish();
      assert.equal(h.record().parent, "backup");
    });
  });
});
