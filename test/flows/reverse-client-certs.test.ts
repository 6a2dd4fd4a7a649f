import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { type BasicCredentials, createBasicCredentials } from "../../src/auth/proxy-auth.ts";
import type { ClientCertificatePolicy } from "../../src/auth/certificate-sign-in.ts";
import { hashPassword } from "../../src/auth/password-hash.ts";
import type { ClientCertificateTrust, ClientCertificateVerdict } from "../../src/pki/client-cert-trust.ts";
import { CertificateStore } from "../../src/reverse/cert-store.ts";
import type { ReverseListenerState } from "../../src/reverse/listener-state.ts";
import { chunkedUploadOrigin, enc, type FlowHarness, type ParsedHead, readResponse, withHarness, within } from "../helpers/flow-harness.ts";
import { LiveFlows } from "../../src/flows/live-flows.ts";
import type { FlowContext } from "../../src/flows/context.ts";
import { DirectoryUnavailableError } from "../../src/auth/ldap/directory.ts";
import type { FlowRecord } from "../../src/log/flow-record.ts";
import { close, named, open, route, state } from "../helpers/reverse-harness.ts";

const CURL = new Uint8Array(readFileSync(new URL("../fixtures/client-hello/curl-openssl.bin", import.meta.url)));
const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

/**
 * Trust that takes a "certificate" whose bytes are `cert:<name>` for user <name>, unless the
 * name is in `revoked`; anything else is not from its CA. Counts its checks.
 */
function fakeTrust(revoked: Set<string> = new Set()): ClientCertificateTrust & { checks: number } {
  const trust = {
    checks: 0,
    caPem: ["FAKE CLIENT CA"],
    crlNextUpdate: null,
    verify([der]: readonly Uint8Array[]): Promise<ClientCertificateVerdict> {
      trust.checks += 1;
      const text = new TextDecoder().decode(der);
      const name = text.startsWith("cert:") ? text.slice(5) : undefined;
      if (name === undefined) return Promise.resolve({ ok: false, reason: "the client certificate \"CN=x\" is not issued by a CA of the client CA file" });
      if (revoked.has(name)) return Promise.resolve({ ok: false, reason: `the client certificate "CN=${name}" (serial 1003) was revoked` });
      return Promise.resolve({
        ok: true,
        certificate: { subject: `CN=${name}`, issuer: "CN=Clients", serial: "1003", sha256: "00", notAfter: new Date(Date.now() + 86_400_000), commonName: name, emails: [], upns: [] },
      });
    },
  };
  return trust;
}

const policy = (trust: ClientCertificateTrust, more: Partial<ClientCertificatePolicy> = {}): ClientCertificatePolicy => ({ trust, required: true, user: "cn", ...more });
const store = () => new CertificateStore([{ chainPem: "CHAIN app", keyPem: "KEY app", names: ["app.test"], source: "app.pem", notAfter: new Date(0) }], 0, "default");
const pools = { app: { backends: ["http://10.0.0.1"] } };
const GROUPS: Record<string, readonly string[]> = { dave: ["ops"] };
const withGroups = { userGroups: (user: string) => GROUPS[user] ?? [] };
const opts = { interception: {} };

/** One TLS connection presenting `cert` (none: null), each of `requests` on it; the responses. */
async function connection(h: FlowHarness, s: ReverseListenerState | (() => ReverseListenerState), cert: string | null, requests: string[], extra: Partial<FlowContext> = withGroups) {
  h.tls.clientCertificateDer = cert === null ? null : enc.encode(cert);
  const { c, done } = open(h, s, extra);
  await c.write(CURL);
  const out: { status: number; body: string; retryAfter?: string | undefined }[] = [];
  for (const r of requests) {
    await c.write(r);
    const res = await readResponse(c);
    out.push({ status: res.head.status, body: res.body, retryAfter: res.head.get("retry-after") });
    if (res.head.get("connection") === "close") break;
  }
  await close(c, done);
  return out;
}

const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: app.test\r\n${extra}\r\n`;

describe("reverse listener with client certificates", () => {
  let credentials: BasicCredentials;
  before(async () => {
    credentials = createBasicCredentials([{ name: "erin", passwordHash: await hashPassword("s3cret", 100_000) }]);
  });
  const routes = () => [
    route("admin", ["app.test"], "app", { pathPrefix: "/admin", basicAuth: { users: ["alice"], groups: ["ops"], realm: "Admin" } }),
    route("public", ["app.test"], "app"),
  ];

  it("asks for a certificate in the handshake; without one, or a bad one, each request gets 403 saying why", async () => {
    await withHarness(opts, async (h) => {
      const seen: ParsedHead[] = [];
      named(h, "10.0.0.1", 80, "ok", seen);
      const s = state(routes(), pools, [], { store: store(), clientCertificates: policy(fakeTrust(new Set(["carol"]))) });
      for (const cert of [null, "junk", "cert:carol"]) {
        const [res] = await connection(h, s, cert, [get("/")]);
        assert.equal(res?.status, 403);
      }
      assert.deepEqual(h.tls.accepts.map((a) => a.requestClientCertificate), [{ caPem: ["FAKE CLIENT CA"] }, { caPem: ["FAKE CLIENT CA"] }, { caPem: ["FAKE CLIENT CA"] }]);
      assert.equal(seen.length, 0);
      assert.deepEqual(h.requestRecords.map((q) => [q.status, q.decision, q.rule, q.reason, q.error]), [
        [403, "deny", "client-certificate", "A valid client certificate is required: no client certificate", null],
        [403, "deny", "client-certificate", 'A valid client certificate is required: the client certificate "CN=x" is not issued by a CA of the client CA file', null],
        [403, "deny", "client-certificate", 'A valid client certificate is required: the client certificate "CN=carol" (serial 1003) was revoked', null],
      ]);
      assert.ok(h.records.every((r) => r.end === "denied"));
    });
  });

  it("signs the user in: the backend gets X-Forwarded-User, never one the client made up, nor its Client-Cert", async () => {
    await withHarness(opts, async (h) => {
      const seen: ParsedHead[] = [];
      named(h, "10.0.0.1", 80, "ok", seen);
      const s = state(routes(), pools, [], { store: store(), clientCertificates: policy(fakeTrust()) });
      const res = await connection(h, s, "cert:bob", [get("/", "X-Forwarded-User: root\r\nClient-Cert: :AAAA:\r\nClient-Cert-Chain: :AAAA:\r\n"), get("/again")]);
      assert.deepEqual(res.map((r) => r.status), [200, 200]);
      assert.deepEqual(seen.map((q) => q.all("x-forwarded-user")), [["bob"], ["bob"]]);
      assert.deepEqual(seen.map((q) => [q.get("client-cert"), q.get("client-cert-chain")]), [[undefined, undefined], [undefined, undefined]]);
      assert.deepEqual(h.requestRecords.map((q) => [q.rule, q.user]), [["public", "bob"], ["public", "bob"]]);
      assert.equal(h.record().user, "bob");
    });
  });

  it("groups a directory reads: waited for; when it cannot tell, 503 with Retry-After and nothing reaches a backend", async () => {
    await withHarness(opts, async (h) => {
      const seen: ParsedHead[] = [];
      named(h, "10.0.0.1", 80, "ok", seen);
      const s = state(routes(), pools, [], { store: store(), clientCertificates: policy(fakeTrust()) });
      const directory: Partial<FlowContext> = {
        userGroups: (user) =>
          user === "zoe"
            ? Promise.reject(new DirectoryUnavailableError("cannot reach the directory ldaps://dc.test: timed out"))
            : user === "amy"
            ? Promise.resolve({ refused: 'the directory has no entry with uid "amy" below "ou=people,dc=test", and groups.required is set' })
            : Promise.resolve(user === "dave" ? ["ops"] : []),
      };
      assert.deepEqual((await connection(h, s, "cert:dave", [get("/admin/x")], directory)).map((r) => r.status), [200], "a member of ops, by the directory");
      assert.deepEqual((await connection(h, s, "cert:bob", [get("/admin/x")], directory)).map((r) => r.status), [403]);
      const [down] = await connection(h, s, "cert:zoe", [get("/")], directory);
      assert.equal(down?.status, 503);
      assert.match(down?.body ?? "", /Sign-ins cannot be checked now; retry after 5 s/);
      assert.equal(down?.retryAfter, "5");
      const [amy] = await connection(h, s, "cert:amy", [get("/")], directory);
      assert.equal(amy?.status, 403);
      assert.match(amy?.body ?? "", /user "amy" is in no group that may sign in/);
      assert.ok(!amy?.body.includes("ou=people"), "the client is not shown the directory's tree");
      const amyLine = h.requestRecords.at(-1);
      assert.deepEqual([amyLine?.rule, amyLine?.reason], ["client-certificate", 'the directory has no entry with uid "amy" below "ou=people,dc=test", and groups.required is set']);
      assert.equal(seen.length, 1, "only dave's request reached the backend");
      const last = h.requestRecords.find((q) => q.status === 503);
      assert.deepEqual([last?.status, last?.rule, last?.reason], [503, "client-certificate", "not checked: cannot reach the directory ldaps://dc.test: timed out"]);
    });
  });

  it("a user name that is not printable ASCII reaches the backend percent-encoded, not as a 502 that ejects it", async () => {
    await withHarness(opts, async (h) => {
      const seen: ParsedHead[] = [];
      named(h, "10.0.0.1", 80, "ok", seen);
      const s = state(routes(), pools, [], { store: store(), clientCertificates: policy(fakeTrust()) });
      const res = await connection(h, s, "cert:Łukasz Nowak", [get("/")]);
      assert.deepEqual(res.map((r) => r.status), [200]);
      assert.deepEqual(seen[0]?.all("x-forwarded-user"), ["%C5%81ukasz Nowak"]);
      assert.equal(h.requestRecords[0]?.user, "Łukasz Nowak");
    });
  });

  it("forwardCertificate: the backend gets the verified certificate in Client-Cert (RFC 9440)", async () => {
    await withHarness(opts, async (h) => {
      const seen: ParsedHead[] = [];
      named(h, "10.0.0.1", 80, "ok", seen);
      const s = state(routes(), pools, [], { store: store(), clientCertificates: policy(fakeTrust(), { forwardCertificate: true }) });
      await connection(h, s, "cert:bob", [get("/", "Client-Cert: :AAAA:\r\n")]);
      assert.deepEqual(seen[0]?.all("client-cert"), [`:${btoa("cert:bob")}:`]);
    });
  });

  it("a route's basicAuth takes the certificate's user in place of a password: listed users and groups through, others 403", async () => {
    await withHarness(opts, async (h) => {
      const seen: ParsedHead[] = [];
      named(h, "10.0.0.1", 80, "ok", seen);
      const s = state(routes(), pools, [], { store: store(), credentials, clientCertificates: policy(fakeTrust()) });
      const statuses = [];
      for (const cert of ["cert:alice", "cert:dave", "cert:bob"]) {
        const [res] = await connection(h, s, cert, [get("/admin/x", `Authorization: ${basic("erin", "s3cret")}\r\n`)]);
        statuses.push(res?.status);
      }
      assert.deepEqual(statuses, [200, 200, 403]);
      assert.deepEqual(seen.map((q) => [q.all("x-forwarded-user"), q.get("authorization")]), [[["alice"], undefined], [["dave"], undefined]]);
      assert.match(h.requestRecords[2]?.reason ?? "", /User "bob" is not allowed on route "admin"/);
    });
  });

  it("required: false: a client without a certificate goes on to the route's password; one with a bad certificate is refused", async () => {
    await withHarness(opts, async (h) => {
      const seen: ParsedHead[] = [];
      named(h, "10.0.0.1", 80, "ok", seen);
      const routesErin = [route("admin", ["app.test"], "app", { pathPrefix: "/admin", basicAuth: { users: ["alice", "erin"], realm: "Admin" } }), route("public", ["app.test"], "app")];
      const s = state(routesErin, pools, [], { store: store(), credentials, clientCertificates: policy(fakeTrust(), { required: false }) });
      const none = await connection(h, s, null, [get("/", "X-Forwarded-User: root\r\n"), get("/admin"), get("/admin", `Authorization: ${basic("erin", "s3cret")}\r\n`)]);
      assert.deepEqual(none.map((r) => r.status), [200, 401]);
      const again = await connection(h, s, null, [get("/admin", `Authorization: ${basic("erin", "s3cret")}\r\n`)]);
      assert.deepEqual(again.map((r) => r.status), [200]);
      const bad = await connection(h, s, "junk", [get("/")]);
      assert.deepEqual(bad.map((r) => r.status), [403]);
      // the client's own X-Forwarded-User never reaches the backend on such a listener
      assert.deepEqual(seen.map((q) => q.all("x-forwarded-user")), [[], ["erin"]]);
    });
  });

  it("each request is checked against the settings in force: a revocation holds from the open connection's next request", async () => {
    await withHarness(opts, async (h) => {
      named(h, "10.0.0.1", 80, "ok");
      const revoked = new Set<string>();
      const trust = fakeTrust(revoked);
      const s = state(routes(), pools, [], { store: store(), clientCertificates: policy(trust) });
      h.tls.clientCertificateDer = enc.encode("cert:bob");
      const { c, done } = open(h, s, withGroups);
      await c.write(CURL);
      await c.write(get("/"));
      assert.equal((await readResponse(c)).head.status, 200);
      revoked.add("bob");
      await c.write(get("/"));
      const res = await readResponse(c);
      assert.equal(res.head.status, 403);
      assert.match(res.body, /was revoked/);
      await close(c, done);
      assert.equal(trust.checks, 2);
    });
  });

  it("a reload whose CRL revokes the certificate closes the open connection at once; one that keeps the settings closes nothing", async () => {
    const live = new LiveFlows();
    await withHarness({ ...opts, liveFlows: live }, async (h) => {
      named(h, "10.0.0.1", 80, "ok");
      const trust = fakeTrust();
      const first = state(routes(), pools, [], { store: store(), clientCertificates: policy(trust) });
      let now = first;
      h.tls.clientCertificateDer = enc.encode("cert:bob");
      const { c, done } = open(h, () => now, withGroups);
      await c.write(CURL);
      await c.write(get("/"));
      assert.equal((await readResponse(c)).head.status, 200);
      // a reload that left the files alone keeps the very settings: nothing verified again
      now = { ...first };
      assert.equal(await live.recheckHolders(), 0);
      assert.equal(trust.checks, 1);
      // the new CRL revokes bob: the connection (kept alive, or upgraded) does not wait for a request
      now = state(routes(), pools, [], { store: store(), clientCertificates: policy(fakeTrust(new Set(["bob"]))) });
      assert.equal(await live.recheckHolders(), 1);
      await within(c.readToEndOrReset(), 1000, "the gateway closing the client");
      await within(done, 3000, "the reverse flow");
      const r = h.record();
      assert.equal(r.end, "revoked");
      assert.equal(r.user, "bob");
      assert.match(String(r.error), /^its client certificate is refused now: the client certificate "CN=bob" \(serial 1003\) was revoked/);
    });
  });

  it("a reload that renames the listener: the reload's recheck closes a certificate's connection; a plain one's next request gets 421", async () => {
    const live = new LiveFlows();
    await withHarness({ ...opts, liveFlows: live }, async (h) => {
      named(h, "10.0.0.1", 80, "ok");
      const withCerts = state(routes(), pools, [], { store: store(), clientCertificates: policy(fakeTrust()) });
      let renamed = false;
      const current = () => {
        if (renamed) throw new Error('Reverse listener "web" was not prepared');
        return withCerts;
      };
      h.tls.clientCertificateDer = enc.encode("cert:bob");
      const { c, done } = open(h, current, withGroups);
      await c.write(CURL);
      await c.write(get("/"));
      assert.equal((await readResponse(c)).head.status, 200);
      renamed = true;
      assert.equal(await live.recheckHolders(), 1);
      await within(c.readToEndOrReset(), 1000, "the gateway closing the client");
      await within(done, 3000, "the reverse flow");
      assert.match(String(h.record().error), /^its client certificate is refused now: the listener's client certificate settings changed/);

      const plain = state(routes(), pools);
      renamed = false;
      const second = open(h, () => {
        if (renamed) throw new Error('Reverse listener "web" was not prepared');
        return plain;
      });
      await second.c.write(get("/"));
      assert.equal((await readResponse(second.c)).head.status, 200);
      renamed = true;
      assert.equal(await live.recheckHolders(), 0, "nothing to recheck on a plain connection");
      await second.c.write(get("/"));
      const res = await readResponse(second.c);
      assert.equal(res.head.status, 421);
      assert.match(res.body, /changed by a reload; connect again/);
      assert.match(res.head.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/, "an id to quote, as on every refusal");
      await close(second.c, second.done);
      const r = h.records.at(-1) as FlowRecord;
      assert.equal(r.type, "flow");
      assert.equal(r.end, "error");
      assert.equal(r.status, 421);
      assert.equal(r.rule, "none", "not the previous request's rule");
      const line = h.requestRecords.find((x) => x.status === 421);
      assert.ok(line, "a request line, as for every refusal");
      assert.equal(live.size, 0, "no flow left behind");

      // renamed while the ClientHello came: closed and logged, not a handler that throws
      let calls = 0;
      const third = open(h, () => {
        if (++calls > 1) throw new Error('Reverse listener "web" was not prepared');
        return state(routes(), pools, [], { store: store() });
      });
      await third.c.write(CURL);
      await within(third.c.readToEndOrReset(), 1000, "the gateway closing the client");
      await within(third.done, 3000, "the flow");
      assert.match(String((h.records.at(-1) as FlowRecord).error), /changed by a reload before the connection's first request/);
    });
  });

  it("after a reload: a connection asked for a certificate is refused once the listener takes none; one never asked is refused once it requires one", async () => {
    await withHarness(opts, async (h) => {
      named(h, "10.0.0.1", 80, "ok");
      const withCerts = state(routes(), pools, [], { store: store(), clientCertificates: policy(fakeTrust()) });
      const without = state(routes(), pools, [], { store: store() });
      let now = withCerts;
      h.tls.clientCertificateDer = enc.encode("cert:bob");
      const first = open(h, () => now, withGroups);
      await first.c.write(CURL);
      await first.c.write(get("/"));
      assert.equal((await readResponse(first.c)).head.status, 200);
      now = without;
      await first.c.write(get("/"));
      const refused = await readResponse(first.c);
      assert.equal(refused.head.status, 403);
      assert.match(refused.body, /client certificate settings changed since this connection was made; connect again/);
      await close(first.c, first.done);
      now = without;
      h.tls.clientCertificateDer = enc.encode("cert:bob");
      const { c, done } = open(h, () => now, withGroups);
      await c.write(CURL);
      await c.write(get("/"));
      assert.equal((await readResponse(c)).head.status, 200);
      assert.equal(h.tls.accepts.at(-1)?.requestClientCertificate, undefined);
      now = withCerts;
      await c.write(get("/"));
      const res = await readResponse(c);
      assert.equal(res.head.status, 403);
      assert.match(res.body, /no client certificate/);
      await close(c, done);
    });
  });

  it("a plain-HTTP connection is refused when a reload makes its listener require certificates", async () => {
    await withHarness({}, async (h) => {
      named(h, "10.0.0.1", 80, "ok");
      const plain = state(routes(), pools);
      let now: ReverseListenerState = plain;
      const { c, done } = open(h, () => now);
      await c.write(get("/"));
      assert.equal((await readResponse(c)).head.status, 200);
      now = { ...plain, tls: { store: store(), minVersion: "TLSv1.2", maxClientHelloBytes: 16384, maxClientHelloRecords: 16, clientCertificates: policy(fakeTrust()) } };
      await c.write(get("/"));
      assert.equal((await readResponse(c)).head.status, 403);
      await close(c, done);
    });
  });

  it("on a listener without certificates: who the client is comes only from a proxy in trustIdentityFrom, never from one trusted for forwarding alone; look-alikes from no one", async () => {
    await withHarness({}, async (h) => {
      const seen: ParsedHead[] = [];
      named(h, "10.0.0.1", 80, "ok", seen);
      const spoof = "X-Forwarded-User: alice\r\nX_Forwarded_User: alice\r\nClient-Cert: :AAAA:\r\nClient-Cert-Chain: :AAAA:\r\n";
      const trusts = [{}, { trust: ["127.0.0.1"] }, { identityTrust: ["127.0.0.1"] }, { trust: ["127.0.0.1"], identityTrust: ["10.0.0.0/8"] }];
      for (const trust of trusts) {
        const { c, done } = open(h, state(routes(), pools, [], trust));
        await c.write(get("/", spoof));
        assert.equal((await readResponse(c)).head.status, 200);
        await close(c, done);
      }
      const identity = (q: ParsedHead | undefined) => ["x-forwarded-user", "x_forwarded_user", "client-cert", "client-cert-chain"].map((n) => q?.all(n));
      assert.deepEqual(identity(seen[0]), [[], [], [], []]);
      // a load balancer trusted for the client's address passes on what its clients sent: not believed
      assert.deepEqual(identity(seen[1]), [[], [], [], []]);
      // a proxy trusted to say who the client is: its own fields stand; look-alikes with _ come from no one
      assert.deepEqual(identity(seen[2]), [["alice"], [], [":AAAA:"], [":AAAA:"]]);
      assert.deepEqual(identity(seen[3]), [[], [], [], []], "another address's trust is not this one's");
    });
  });

  it("a chunked request's trailers reach the backend without forwarding or identity fields or a request id, look-alikes included", async () => {
    await withHarness({}, async (h) => {
      const origin = chunkedUploadOrigin(h, "10.0.0.1", 80);
      const { c, done } = open(h, state(routes(), pools));
      await c.write("POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n");
      // byte by byte: the trailer section is found wherever the reads split it
      const body = "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\nX-Forwarded-User: root\r\nClient-Cert: :AAAA:\r\nX-Forwarded-For: 6.6.6.6\r\nx_forwarded_user: root\r\nX-Request-Id: forged\r\nTrue-Client-IP: 6.6.6.6\r\n\r\n";
      await c.writeSplit(body, Array.from({ length: body.length }, () => 1));
      assert.equal((await readResponse(c)).head.status, 200);
      await close(c, done);
      assert.equal(origin.body(), "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n");
    });
  });

  it("trailers carry no field the route's requestHeaders edit, no override from an untrusted client, nor one no trailer may carry", async () => {
    await withHarness({}, async (h) => {
      const origin = chunkedUploadOrigin(h, "10.0.0.1", 80);
      const edits = { remove: ["Remote-User"], set: [["X-Env", "prod"]] as [string, string][], add: [["X-Via-Gw", "1"]] as [string, string][] };
      const { c, done } = open(h, state([route("app", ["app.test"], "app", { requestHeaders: edits })], pools));
      await c.write("POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n");
      await c.write("3\r\nabc\r\n0\r\nX-Checksum: abc\r\nremote-user: admin\r\nX-Env: dev\r\nX-Via-Gw: 0\r\nAuthorization: Basic YTpi\r\nHost: evil.test\r\nContent-Length: 99\r\nX-HTTP-Method-Override: DELETE\r\nX-Original-URL: /admin\r\n\r\n");
      assert.equal((await readResponse(c)).head.status, 200);
      await close(c, done);
      assert.equal(origin.body(), "3\r\nabc\r\n0\r\nX-Checksum: abc\r\n\r\n");
    });
  });
});
