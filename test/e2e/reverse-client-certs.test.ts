import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import tls from "node:tls";
import { join } from "node:path";
import { tempDir } from "../helpers/temp-dir.ts";
import { type Backend, startBackend, stopBackend } from "./support/backend.ts";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { type ClientCert, type ClientPki, makeClientCast } from "./support/client-pki.ts";
import { curl } from "./support/curl.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";
import { tls13Connect } from "../helpers/tls13-client.ts";

/** What `reverse-backend.mjs` answers for any other path: who it is and what it was sent. */
interface Echo {
  readonly backend: string;
  readonly url: string;
  readonly headers: Record<string, string | undefined>;
  readonly rawHeaders: string[];
}

/** One answer as curl -i printed it. */
interface Answer {
  readonly code: number;
  readonly stderr: string;
  readonly status: number;
  readonly head: string;
  readonly body: string;
}

/**
 * Reverse listeners with `tls.clientCertificates`: mutual TLS for a published app, with real
 * curl and openssl and openssl-made certificates. The certificate's CN is the request's user
 * (the backend gets it in X-Forwarded-User, and a route's basicAuth takes it in place of a
 * password); without a valid certificate where one is required, or with a bad one at all, each
 * request gets a 403 that says why. Revocation is re-read on reload: a connection already open
 * (kept alive, or upgraded to a WebSocket) whose certificate the new CRL revokes is closed, and
 * a reload that leaves the files alone closes nothing.
 */
describe("reverse listener with client certificates", { timeout: 120_000 }, () => {
  let pki: TestPki;
  let clients: ClientPki;
  let alice: ClientCert;
  let bob: ClientCert;
  let dave: ClientCert;
  let carol: ClientCert;
  let mallory: ClientCert;
  let crlFile: string;
  let work: string;
  let backend: Backend;
  let gw: GatewayProcess;

  before(async () => {
    work = tempDir("tollgate-rcc-");
    pki = makeTestPki(["app.test", "127.0.0.1"]);
    ({ clients, alice, bob, dave, carol, mallory, crlFile } = makeClientCast());
    const [cmd, ...args] = cliCommand();
    const hash = execFileSync(cmd!, [...args, "auth", "hash", "--iterations", "100000"], { input: "s3cret\n", encoding: "utf8" }).trim();
    backend = await startBackend("app");
    const certificates = [{ cert: join(pki.dir, "server.pem"), key: join(pki.dir, "server.key") }];
    gw = await startGateway({
      listeners: [
        { name: "mtls", mode: "reverse", listen: "127.0.0.1:0", tls: { certificates, clientCertificates: { caFile: clients.caFile, crlFile } } },
        {
          name: "either",
          mode: "reverse",
          listen: "127.0.0.1:0",
          tls: { certificates, clientCertificates: { caFile: clients.caFile, crlFile, required: false, forwardCertificate: true } },
        },
      ],
      // dave's password is never asked on "mtls": his certificate signs him in, with his groups
      proxyAuth: { realm: "tollgate", users: [{ name: "alice", passwordHash: hash }, { name: "dave", passwordHash: hash, groups: ["ops"] }] },
      reverse: {
        pools: { app: { backends: [`http://127.0.0.1:${backend.port}`] } },
        routes: [
          { id: "admin", hosts: ["app.test"], pathPrefix: "/admin", pool: "app", basicAuth: { users: ["alice"], groups: ["ops"], realm: "Admin" } },
          { id: "public", hosts: ["app.test"], pool: "app" },
        ],
      },
      limits: { headerTimeoutMs: 3000 },
    }, { listener: "mtls" });
  });

  after(async () => {
    const graceful = await gw?.stop();
    await stopBackend(backend);
    assert.equal(graceful, true);
  });

  /** curl -i to https://app.test:PORT/PATH on `listener`, trusting the gateway's CA, with `cert` if given. */
  const get = async (listener: string, path: string, cert?: ClientCert, extra: string[] = []): Promise<Answer> => {
    const port = gw.ports.get(listener)!;
    const r = await curl([
      "-i",
      "--resolve",
      `app.test:${port}:127.0.0.1`,
      "--cacert",
      pki.caFile,
      ...(cert ? ["--cert", cert.cert, "--key", cert.key] : []),
      ...extra,
      `https://app.test:${port}${path}`,
    ], 20_000);
    const cut = r.stdout.indexOf("\r\n\r\n");
    const head = cut < 0 ? r.stdout : r.stdout.slice(0, cut + 2);
    return { code: r.code, stderr: r.stderr, status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head)?.[1] ?? 0), head, body: cut < 0 ? "" : r.stdout.slice(cut + 4) };
  };
  /** The request the backend saw (a 200 from it is asserted). */
  const echo = async (listener: string, path: string, cert?: ClientCert, extra: string[] = []): Promise<Echo> => {
    const a = await get(listener, path, cert, extra);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.status, 200, a.head + a.body);
    return JSON.parse(a.body) as Echo;
  };
  /** Every value of header `name` (lowercase) the backend got, in order. */
  const values = (e: Echo, name: string) => {
    const out: string[] = [];
    for (let i = 0; i < e.rawHeaders.length; i += 2) if (e.rawHeaders[i]!.toLowerCase() === name) out.push(e.rawHeaders[i + 1]!);
    return out;
  };

  it("signs alice in by her certificate: the backend answers and sees her in X-Forwarded-User, not the client's", async () => {
    const a = await get("mtls", "/hello", alice, ["-H", "X-Forwarded-User: root"]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.status, 200, a.head + a.body);
    const body = JSON.parse(a.body) as Echo;
    assert.equal(body.backend, "app");
    assert.equal(body.url, "/hello");
    assert.deepEqual(values(body, "x-forwarded-user"), ["alice"]);
    assert.deepEqual(values(body, "client-cert"), [], "no forwardCertificate on this listener");
    const q = await gw.waitForFlow((f) => f.type === "request" && f.listener === "mtls" && f.rule === "public" && f.user === "alice");
    assert.equal(q.status, 200);
  });

  it("refuses a client without a certificate, with a foreign one, or with a revoked one, and says why", async () => {
    const none = await get("mtls", "/hello");
    assert.equal(none.status, 403, none.head + none.body);
    assert.match(none.body, /A valid client certificate is required: no client certificate/);
    assert.match(none.head, /^connection: close\r$/im);
    const q = await gw.waitForFlow((f) => f.type === "request" && f.rule === "client-certificate" && /no client certificate/.test(String(f.reason)));
    assert.equal(q.status, 403);
    assert.equal(q.decision, "deny");

    const wrongCa = await get("mtls", "/hello", mallory);
    assert.equal(wrongCa.status, 403, wrongCa.head + wrongCa.body);
    assert.match(wrongCa.body, /A valid client certificate is required: .*"CN=alice".*Someone Else's CA.*not a trusted CA/);

    const revoked = await get("mtls", "/hello", carol);
    assert.equal(revoked.status, 403, revoked.head + revoked.body);
    assert.match(revoked.body, /A valid client certificate is required: .*carol.*was revoked/);
    await gw.waitForFlow((f) => f.type === "request" && f.rule === "client-certificate" && /revoked/.test(String(f.reason)) && /carol/.test(String(f.reason)));
  });

  it("a route's basicAuth takes the certificate's user in place of a password: listed users and groups through, others 403", async () => {
    const byName = await echo("mtls", "/admin/x", alice);
    assert.equal(byName.url, "/admin/x");
    assert.deepEqual(values(byName, "x-forwarded-user"), ["alice"]);
    // dave is in "ops" (his local proxyAuth entry); someone else's password changes nothing and is not forwarded
    const byGroup = await echo("mtls", "/admin/x", dave, ["-u", "alice:s3cret"]);
    assert.deepEqual(values(byGroup, "x-forwarded-user"), ["dave"]);
    assert.deepEqual(values(byGroup, "authorization"), []);
    const bobs = await get("mtls", "/admin/x", bob);
    assert.equal(bobs.status, 403, bobs.head + bobs.body);
    assert.match(bobs.body, /User "bob" is not allowed here/);
    // bob is still welcome on the public route
    assert.deepEqual(values(await echo("mtls", "/", bob), "x-forwarded-user"), ["bob"]);
  });

  it("required: false with forwardCertificate: the certificate goes to the backend; without one, the route's password", async () => {
    const der = pemDer(alice.certPem);
    const signedIn = await echo("either", "/hello", alice, ["-H", "Client-Cert: :AAAA:", "-H", "X-Forwarded-User: root"]);
    assert.deepEqual(values(signedIn, "client-cert"), [`:${base64(der)}:`]);
    assert.deepEqual(values(signedIn, "x-forwarded-user"), ["alice"]);

    const anonymous = await echo("either", "/hello", undefined, ["-H", "X-Forwarded-User: root", "-H", "Client-Cert: :AAAA:", "-H", "Client-Cert-Chain: :AAAA:"]);
    assert.deepEqual(values(anonymous, "x-forwarded-user"), []);
    assert.deepEqual(values(anonymous, "client-cert"), []);
    assert.deepEqual(values(anonymous, "client-cert-chain"), []);

    const challenged = await get("either", "/admin/x");
    assert.equal(challenged.status, 401, challenged.head + challenged.body);
    assert.match(challenged.head, /^www-authenticate: Basic realm="Admin"/im);
    const wrong = await get("either", "/admin/x", undefined, ["-u", "alice:nope"]);
    assert.equal(wrong.status, 401, wrong.head + wrong.body);
    const withPassword = await echo("either", "/admin/x", undefined, ["-u", "alice:s3cret"]);
    assert.deepEqual(values(withPassword, "x-forwarded-user"), ["alice"]);
    assert.deepEqual(values(withPassword, "authorization"), []);

    // a bad certificate is refused even where none is required
    const foreignCert = await get("either", "/hello", mallory);
    assert.equal(foreignCert.status, 403, foreignCert.head + foreignCert.body);
    assert.match(foreignCert.body, /A valid client certificate is required: .*"CN=alice".*Someone Else's CA.*not a trusted CA/);
  });

  it("refuses a client that presents alice's certificate without holding its key", async () => {
    const leaf = pemDer(alice.certPem);
    const port = gw.ports.get("mtls")!;
    const request = new TextEncoder().encode("GET /hello HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n");
    const genuine = await tls13Connect({ host: "127.0.0.1", port, servername: "app.test", certificates: [leaf], signingKey: await importKey(alice.keyPem), send: request });
    assert.equal(genuine.outcome, "established", "the helper completes a handshake with alice's own key");
    assert.match(new TextDecoder().decode(genuine.outcome === "established" ? genuine.received : new Uint8Array()), /^HTTP\/1\.1 200 /);
    const forged = await tls13Connect({ host: "127.0.0.1", port, servername: "app.test", certificates: [leaf], signingKey: await importKey(mallory.keyPem), send: request });
    assert.notEqual(forged.outcome, "established");
    assert.ok(forged.certificateRequested);
    const got = forged.outcome === "alert" ? forged.receivedBeforeAlert : forged.outcome === "established" ? forged.received : forged.receivedBeforeClose;
    assert.doesNotMatch(new TextDecoder().decode(got), /HTTP\/1\.1 200/);
  });

  it("a resumed TLS session keeps the certificate: the second connection is still alice's", async () => {
    const port = gw.ports.get("mtls")!;
    const session = join(work, "alice.session");
    const request = "GET /hello HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n";
    // -brief: only the answer on stdout; -msg into a file: the handshake messages, to tell a resumption
    const sClient = async (n: number, ...sessionArgs: string[]) => {
      const msgs = join(work, `s_client-${n}.msg`);
      const r = await openssl([
        "s_client", "-connect", `127.0.0.1:${port}`, "-servername", "app.test", "-cert", alice.cert, "-key", alice.key,
        "-CAfile", pki.caFile, "-verify_return_error", "-ign_eof", "-brief", "-msg", "-msgfile", msgs, ...sessionArgs,
      ], request);
      const handshake = readFileSync(msgs, "utf8");
      const text = `${r.stdout}\n${r.stderr}`;
      return {
        ...r,
        text,
        status: /^HTTP\/1\.1 (\d{3}) /.exec(r.stdout)?.[1],
        // a full handshake has the server's Certificate and CertificateRequest; a resumed one neither
        serverCertificate: /^<<< TLS 1\.3, Handshake \[length [0-9a-f]+\], Certificate$/m.test(handshake),
        certificateRequested: /^<<< TLS 1\.3, Handshake \[length [0-9a-f]+\], CertificateRequest$/m.test(handshake),
        serverHello: /^<<< TLS 1\.3, Handshake \[length [0-9a-f]+\], ServerHello$/m.test(handshake),
      };
    };
    const first = await sClient(1, "-sess_out", session);
    assert.equal(first.status, "200", first.text);
    assert.ok(first.serverHello && first.serverCertificate && first.certificateRequested, "a full handshake that asked for alice's certificate");
    assert.match(first.stdout, /"x-forwarded-user":"alice"/);
    const second = await sClient(2, "-sess_in", session);
    assert.ok(second.serverHello, second.text);
    const resumed = !second.serverCertificate;
    console.log(`TLS session resumption on the second connection: ${resumed ? "yes (abbreviated handshake)" : "no (full handshake)"}`);
    assert.equal(second.status, "200", `${resumed ? "resumed" : "not resumed"}:\n${second.text}`);
    assert.match(second.stdout, /"x-forwarded-user":"alice"/);
  });

  /** A TLS connection to the "mtls" listener with `cert`, what it received, and whether it closed. */
  const connect = async (cert: ClientCert) => {
    const socket = tls.connect({ host: "127.0.0.1", port: gw.ports.get("mtls")!, ca: readFileSync(pki.caFile), cert: cert.certPem, key: cert.keyPem, servername: "app.test" });
    const conn = { socket, got: Buffer.alloc(0), closed: false, whenClosed: Promise.resolve() };
    socket.on("data", (d: Buffer) => (conn.got = Buffer.concat([conn.got, d])));
    socket.on("error", () => {}); // a reset once the gateway closed it: the close says enough
    conn.whenClosed = new Promise<void>((resolve) => socket.once("close", () => ((conn.closed = true), resolve())));
    await new Promise<void>((resolve, reject) => (socket.once("secureConnect", resolve), socket.once("error", reject)));
    return conn;
  };
  type Connection = Awaited<ReturnType<typeof connect>>;
  /** Writes `bytes` and resolves with what came back since, once `done` says it is whole (or the socket closed, or 10 s passed). */
  const exchange = async (conn: Connection, bytes: string | Buffer, done: (got: Buffer) => boolean) => {
    const from = conn.got.length;
    conn.socket.write(bytes);
    for (const end = Date.now() + 10_000; !done(conn.got.subarray(from)) && !conn.closed && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
    return conn.got.subarray(from);
  };
  /** An HTTP answer is whole: its head, and its Content-Length or chunked body. */
  const wholeAnswer = (got: Buffer) => {
    const text = got.toString("latin1");
    const cut = text.indexOf("\r\n\r\n");
    if (cut < 0) return false;
    const head = text.slice(0, cut);
    const length = /^content-length: *(\d+)\r?$/im.exec(head)?.[1];
    if (length !== undefined) return text.length >= cut + 4 + Number(length);
    return /^transfer-encoding: *chunked\r?$/im.test(head) ? text.endsWith("\r\n0\r\n\r\n") : true;
  };
  /** One request on the open connection; its whole answer. */
  const ask = async (conn: Connection) => (await exchange(conn, "GET /hello HTTP/1.1\r\nHost: app.test\r\n\r\n", wholeAnswer)).toString("latin1");
  /** Resolves once the gateway closed `conn`; rejects after 10 s. */
  const closedByGateway = async (conn: Connection, what: string) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([conn.whenClosed, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} is still open`)), 10_000)))]);
    } finally {
      clearTimeout(timer);
    }
  };
  /** The CRL file, rewritten with `cert` revoked too; and a reload that reads it. */
  const revokeAndReload = async (cert: ClientCert) => {
    writeFileSync(crlFile, readFileSync(clients.revoke(cert.cert)));
    assert.match(await gw.reload(), /SIGHUP: config reloaded/);
  };
  /** A reload with the CA and CRL files as they were: the listener keeps its settings, nothing is checked again. */
  const reloadUnchanged = async () => {
    assert.match(await gw.reload(), /SIGHUP: config reloaded/);
    await new Promise((r) => setTimeout(r, 500)); // a recheck would run in the background
  };
  /**
   * `conn`, signed in by `cert` (user `name`), survives a reload that changes nothing (and
   * `stillWorks` after it), then is closed by one whose CRL revokes `cert`: its flow line.
   */
  const closedOnRevocation = async (conn: Connection, cert: ClientCert, name: string, what: string, stillWorks: () => Promise<void>) => {
    const ours = (f: Record<string, unknown>) => f.type === "flow" && f.listener === "mtls" && f.user === name;
    await reloadUnchanged();
    assert.equal(conn.closed, false, `a reload that changed nothing left the ${what} open`);
    assert.equal(gw.flows().find(ours), undefined, "no flow line: it has not ended");
    await stillWorks();
    await revokeAndReload(cert);
    await closedByGateway(conn, `the revoked certificate's ${what}`);
    const f = await gw.waitForFlow(ours);
    assert.equal(f.end, "revoked", JSON.stringify(f));
    assert.match(String(f.error), new RegExp(`^its client certificate is refused now: .*${name}.*revoked`));
    return f;
  };

  it("closes an open kept-alive connection once a reload's new CRL revokes its certificate, not on a reload that changes nothing", async () => {
    // a certificate of its own: revoking it leaves the others' for the other tests, whatever their order
    const erin = clients.issue("erin", "/CN=erin");
    const conn = await connect(erin);
    try {
      assert.match(await ask(conn), /^HTTP\/1\.1 200 [^]*"x-forwarded-user":"erin"/);
      assert.match(await ask(conn), /^HTTP\/1\.1 200 /, "the connection is kept alive");
      const f = await closedOnRevocation(conn, erin, "erin", "connection", async () => {
        assert.match(await ask(conn), /^HTTP\/1\.1 200 /, "and it still takes requests");
      });
      assert.equal(f.requests, 3);
    } finally {
      conn.socket.destroy();
    }
    // a new connection with it is refused from its first request, and told why
    const again = await connect(erin);
    try {
      const refused = await ask(again);
      assert.match(refused, /^HTTP\/1\.1 403 /);
      assert.match(refused, /A valid client certificate is required: .*erin.*was revoked/);
    } finally {
      again.socket.destroy();
    }
  });

  it("closes an upgraded WebSocket connection once a reload's new CRL revokes its certificate, not on a reload that changes nothing", async () => {
    const frank = clients.issue("frank", "/CN=frank");
    const conn = await connect(frank);
    /** Sends `text` in a masked text frame; resolves with the payload of the frame echoed (or what came). */
    const echo = async (text: string) => {
      const got = await exchange(conn, wsFrame(text), (b) => b.length >= 2 && b.length >= 2 + (b[1]! & 0x7f));
      return got.subarray(2).toString("utf8");
    };
    try {
      const key = randomBytes(16).toString("base64");
      const upgraded = (await exchange(conn, `GET /ws HTTP/1.1\r\nHost: app.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`, (b) => b.includes("\r\n\r\n"))).toString("latin1");
      assert.match(upgraded, /^HTTP\/1\.1 101 /);
      assert.equal(await echo("one"), "one");
      const f = await closedOnRevocation(conn, frank, "frank", "WebSocket", async () => {
        assert.equal(await echo("two"), "two", "and it still carries frames");
      });
      assert.equal(f.status, 101);
    } finally {
      conn.socket.destroy();
    }
  });
});

/** A final, masked WebSocket text frame (RFC 6455) carrying `text` (under 126 bytes). */
function wsFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!))]);
}

/** Runs openssl with `input` on stdin; SIGKILLs it after `timeoutMs`. Resolves even when it fails. */
function openssl(args: string[], input: string, timeoutMs = 10_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn("openssl", args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    c.stdout.setEncoding("latin1");
    c.stderr.setEncoding("latin1");
    c.stdout.on("data", (d: string) => (stdout += d));
    c.stderr.on("data", (d: string) => (stderr += d));
    const t = setTimeout(() => c.kill("SIGKILL"), timeoutMs);
    c.on("close", (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    c.stdin.end(input);
  });
}

/** The DER of the first certificate in `pem`, decoded from its base64 here. */
function pemDer(pem: string): Uint8Array {
  const b64 = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(pem)![1]!.replace(/\s+/g, "");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function base64(bytes: Uint8Array): string {
  return btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
}

/** An ECDSA P-256 private key (PKCS#8 PEM, as openssl writes it) for signing. */
async function importKey(pem: string): Promise<CryptoKey> {
  const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  const der = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return await crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
}
