/**
 * The TLS 1.3 test client (tls13-client.ts) against real servers, and the question it exists for:
 * does each runtime's TLS server refuse a client that presents a genuine certificate but signs its
 * CertificateVerify with another key (no proof of possession)?
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import type { Conn } from "../../src/core/conn.ts";
import { x509 } from "../../src/pki/_x509.ts";
import { encodePem } from "../../src/pki/pem.ts";
import { currentRuntime, runtimeName } from "./runtime.ts";
import { tls13Connect } from "./tls13-client.ts";
import type { Tls13ClientOptions, Tls13ClientResult } from "./tls13-client.ts";
import { deriveSecret, EMPTY, hkdfExtract } from "./tls13-record.ts";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const newKeys = async (): Promise<CryptoKeyPair> => (await crypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
const keyPem = async (key: CryptoKey): Promise<string> => encodePem(new Uint8Array(await crypto.subtle.exportKey("pkcs8", key)), "PRIVATE KEY");

/** Client CA, Alice's certificate and key, an unrelated key, and a server certificate. */
interface Pki {
  readonly caPem: string;
  readonly aliceDer: Uint8Array;
  readonly aliceKey: CryptoKey;
  readonly otherKey: CryptoKey;
  readonly serverCertPem: string;
  readonly serverKeyPem: string;
}

async function makePki(): Promise<Pki> {
  const notBefore = new Date(Date.now() - 3_600_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  const caKeys = await newKeys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=Tollgate Test Client CA", keys: caKeys, signingAlgorithm: ALG, notBefore, notAfter,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const aliceKeys = await newKeys();
  const alice = await x509.X509CertificateGenerator.create({
    subject: "CN=alice.client.test", issuer: ca.subject, publicKey: aliceKeys.publicKey, signingKey: caKeys.privateKey,
    signingAlgorithm: ALG, notBefore, notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  const serverKeys = await newKeys();
  const server = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=server.test", keys: serverKeys, signingAlgorithm: ALG, notBefore, notAfter,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "server.test" }])],
  });
  return {
    caPem: ca.toString("pem"),
    aliceDer: new Uint8Array(alice.rawData),
    aliceKey: aliceKeys.privateKey,
    otherKey: (await newKeys()).privateKey,
    serverCertPem: server.toString("pem"),
    serverKeyPem: await keyPem(serverKeys.privateKey),
  };
}

/** What the server made of one connection: a completed handshake (and whose certificate), or a failure. */
interface ServerEvent {
  readonly secure: boolean;
  readonly subject: string | null;
  readonly detail: string;
}

class Events {
  readonly list: ServerEvent[] = [];
  #wake: (() => void) | null = null;
  push(e: ServerEvent): void {
    this.list.push(e);
    this.#wake?.();
  }
  /** The first event of the connection, or null if the server reported nothing within `ms`. */
  async first(ms = 2000): Promise<ServerEvent | null> {
    const deadline = Date.now() + ms;
    while (this.list.length === 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, deadline - Date.now());
        this.#wake = () => (clearTimeout(t), resolve());
      });
    }
    return this.list[0] ?? null;
  }
}

interface TestServer {
  readonly port: number;
  readonly events: Events;
  close(): Promise<void>;
}
/** A TLS server on 127.0.0.1 that, once its handshake completed, answers the first line with "echo <line>" and closes. */
type ServerKind = (pki: Pki, requestCert: boolean) => Promise<TestServer>;

const cnOf = (peer: { readonly subject?: { readonly CN?: string | string[] } } | null | undefined): string | null => {
  const cn = peer?.subject?.CN;
  return Array.isArray(cn) ? (cn[0] ?? null) : (cn ?? null);
};
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const nodeTlsServer: ServerKind = async (pki, requestCert) => {
  const events = new Events();
  const server = tls.createServer({
    cert: pki.serverCertPem, key: pki.serverKeyPem, ca: pki.caPem, requestCert, rejectUnauthorized: false, minVersion: "TLSv1.3",
  }, (socket) => {
    events.push({ secure: true, subject: cnOf(socket.getPeerCertificate()), detail: `authorized=${socket.authorized}` });
    let line = "";
    socket.on("data", (d: Uint8Array) => {
      line += new TextDecoder().decode(d);
      if (line.includes("\n")) socket.end(`echo ${line}`);
    });
    socket.on("error", () => {});
  });
  server.on("tlsClientError", (e: Error) => events.push({ secure: false, subject: null, detail: e.message }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, events, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
};

/** The repo's runtime adapter (`rt.tls.accept` with `requestClientCertificate`): upgradeTLS on Bun, node:tls over a Duplex on Deno. */
const adapterServer: ServerKind = async (pki, requestCert) => {
  const rt = await currentRuntime();
  const events = new Events();
  const echo = async (conn: Conn): Promise<void> => {
    const reader = conn.readable.getReader();
    let line = "";
    while (!line.includes("\n")) {
      const r = await reader.read();
      if (r.done) return;
      line += new TextDecoder().decode(r.value);
    }
    const writer = conn.writable.getWriter();
    await writer.write(text(`echo ${line}`));
    await writer.close();
  };
  const listener = await rt.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
    void (async () => {
      try {
        const session = await rt.tls.accept(conn, {
          certChainPem: pki.serverCertPem, keyPem: pki.serverKeyPem, alpn: [], minVersion: "TLSv1.3",
          ...(requestCert ? { requestClientCertificate: { caPem: [pki.caPem] } } : {}),
        });
        const der = session.peerCertificateDer;
        const subject = der ? (new x509.X509Certificate(new Uint8Array(der)).subjectName.getField("CN")[0] ?? null) : null;
        events.push({ secure: true, subject, detail: "accepted" });
        await echo(session.conn).catch(() => {});
        session.conn.close();
      } catch (e) {
        events.push({ secure: false, subject: null, detail: errorText(e) });
      }
    })();
  });
  return { port: listener.address.port, events, close: () => listener.close() };
};

/** Just enough of Bun's socket API for `Bun.listen` + `socket.upgradeTLS` (typed here so Deno type-checks this file). */
interface BunTlsSocket {
  getPeerCertificate(): { readonly subject?: { readonly CN?: string | string[] } } | null | undefined;
  end(data?: string): void;
}
interface BunTlsHandler {
  handshake(s: BunTlsSocket, success: boolean, error: Error | null): void;
  data(s: BunTlsSocket, d: Uint8Array): void;
  error(s: BunTlsSocket, e: Error): void;
  close(s: BunTlsSocket): void;
}
interface BunRawSocket {
  upgradeTLS(options: { isServer: true; tls: Record<string, unknown>; socket: BunTlsHandler }): unknown;
}
interface BunLike {
  listen(options: { hostname: string; port: number; socket: { open(s: BunRawSocket): void; data(): void } }): { readonly port: number; stop(closeActive?: boolean): void };
}
const bun = (globalThis as { Bun?: BunLike }).Bun;

/** `Bun.listen` + `socket.upgradeTLS({ isServer: true, tls: { requestCert, ca, rejectUnauthorized: false } })`, as src/runtime/bun/tls-accept.ts does. */
const bunUpgradeTlsServer: ServerKind = (pki, requestCert) => {
  if (!bun) throw new Error("not Bun");
  const events = new Events();
  const listener = bun.listen({
    hostname: "127.0.0.1", port: 0,
    socket: {
      open(raw) {
        let line = "";
        let handshake = "no handshake callback";
        let subject: string | null = null;
        let reported = false;
        const report = (e: ServerEvent): void => {
          if (!reported) events.push(e);
          reported = true;
        };
        raw.upgradeTLS({
          isServer: true,
          tls: { cert: pki.serverCertPem, key: pki.serverKeyPem, ca: pki.caPem, requestCert, rejectUnauthorized: false },
          socket: {
            // Bun calls this for a FAILED handshake too (success=false, BAD_SIGNATURE, with the peer
            // certificate readable; an unverified chain is success=true plus the error), so only
            // decrypted client data proves the handshake completed
            handshake(s, success, error) {
              subject = cnOf(s.getPeerCertificate());
              handshake = `handshake(success=${success}, ${error?.message ?? "no error"})`;
            },
            data(s, d) {
              report({ secure: true, subject, detail: handshake });
              line += new TextDecoder().decode(d);
              if (line.includes("\n")) s.end(`echo ${line}`);
            },
            error(_s, e) {
              report({ secure: false, subject: null, detail: `${handshake}, then error ${e.message}` });
            },
            close() {
              report({ secure: false, subject: null, detail: `${handshake}, then closed without client data` });
            },
          },
        });
      },
      data() {},
    },
  });
  return Promise.resolve({ port: listener.port, events, close: () => Promise.resolve(listener.stop(true)) });
};

const describeResult = (r: Tls13ClientResult): string =>
  r.outcome === "alert" ? `alert level ${r.level} description ${r.description}` : r.outcome;

function suite(name: string, kind: ServerKind): void {
  describe(`${name} (${runtimeName})`, { timeout: 30_000 }, () => {
    let pki: Pki;
    const servers: TestServer[] = [];
    before(async () => {
      pki = await makePki();
    });
    after(async () => {
      for (const s of servers) await s.close();
    });
    const start = async (requestCert: boolean): Promise<TestServer> => {
      const s = await kind(pki, requestCert);
      servers.push(s);
      return s;
    };
    const connect = (s: TestServer, extra: Partial<Tls13ClientOptions> = {}): Promise<Tls13ClientResult> =>
      tls13Connect({ host: "127.0.0.1", port: s.port, servername: "server.test", send: text("ping\n"), timeoutMs: 5000, ...extra });

    it("1. no certificate requested: handshake established and the echo decrypts (key schedule, server Finished verified)", async () => {
      const s = await start(false);
      const r = await connect(s);
      assert.equal(r.outcome, "established", describeResult(r));
      assert.ok(r.outcome === "established");
      assert.equal(new TextDecoder().decode(r.received), "echo ping\n");
      assert.equal(r.certificateRequested, false);
      const e = await s.events.first();
      assert.equal(e?.secure, true, e?.detail ?? "no server event");
      assert.equal(e?.subject, null);
    });

    it("2. certificate requested, signed with its own key: established, the server sees the subject", async () => {
      const s = await start(true);
      const r = await connect(s, { certificates: [pki.aliceDer], signingKey: pki.aliceKey });
      assert.equal(r.outcome, "established", describeResult(r));
      assert.ok(r.outcome === "established");
      assert.equal(new TextDecoder().decode(r.received), "echo ping\n");
      assert.equal(r.certificateRequested, true);
      const e = await s.events.first();
      assert.equal(e?.secure, true, e?.detail ?? "no server event");
      assert.equal(e?.subject, "alice.client.test");
    });

    it("2b. certificate requested, none sent: established (the server does not insist), no subject", async () => {
      const s = await start(true);
      const r = await connect(s);
      assert.equal(r.outcome, "established", describeResult(r));
      assert.equal(r.certificateRequested, true);
      assert.equal((await s.events.first())?.subject, null);
    });

    it("2c. certificate from an unknown CA, signed with its own key: established (the chain is the caller's to verify)", async () => {
      const s = await start(true);
      const keys = await newKeys();
      const self = await x509.X509CertificateGenerator.createSelfSigned({ name: "CN=mallory.client.test", keys, signingAlgorithm: ALG });
      const r = await connect(s, { certificates: [new Uint8Array(self.rawData)], signingKey: keys.privateKey });
      assert.equal(r.outcome, "established", describeResult(r));
      assert.equal((await s.events.first())?.subject, "mallory.client.test");
    });

    it("3. genuine certificate, CertificateVerify signed with ANOTHER key: refused (proof of possession)", async () => {
      const s = await start(true);
      const r = await connect(s, { certificates: [pki.aliceDer], signingKey: pki.otherKey });
      const e = await s.events.first();
      const finding = `${name} on ${runtimeName}: client got ${describeResult(r)}, server reported ${JSON.stringify(e)}`;
      assert.notEqual(r.outcome, "established", `RUNTIME ACCEPTS A CLIENT CERTIFICATE WITHOUT PROOF OF POSSESSION — ${finding}`);
      assert.ok(r.outcome === "alert" || r.outcome === "closed", finding);
      assert.equal(r.certificateRequested, true);
      assert.ok(!(e?.secure && e.subject === "alice.client.test"), `the server completed the handshake with Alice's certificate — ${finding}`);
    });
  });
}

suite("node:tls createServer", nodeTlsServer);
suite("runtime adapter tls.accept", adapterServer);
if (bun) suite("Bun.listen + upgradeTLS", bunUpgradeTlsServer);

describe("tls13Connect edge cases", { timeout: 30_000 }, () => {
  const rawServers: net.Server[] = [];
  after(async () => {
    for (const s of rawServers) await new Promise<void>((resolve) => s.close(() => resolve()));
  });
  /** A plain TCP server that answers any first bytes with `answer` (nothing if null) and then stays open. */
  const rawServer = async (answer: Uint8Array | null): Promise<number> => {
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => answer && socket.write(answer));
      setTimeout(() => socket.destroy(), 3000).unref();
    });
    rawServers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as net.AddressInfo).port;
  };

  it("derives the RFC 8448 §3 early, derived and handshake secrets", async () => {
    const early = await hkdfExtract(new Uint8Array(32), new Uint8Array(32));
    assert.equal(hex(early), "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a");
    const derived = await deriveSecret(early, "derived", EMPTY);
    assert.equal(hex(derived), "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba");
    const shared = Uint8Array.from("8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d".match(/../g) ?? [], (h) => parseInt(h, 16));
    assert.equal(hex(await hkdfExtract(derived, shared)), "1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac");
  });

  it("reports a plaintext alert, a silent server as timeout, and rejects a non-TLS answer", async () => {
    const alert = await tls13Connect({ host: "127.0.0.1", port: await rawServer(Uint8Array.of(21, 3, 3, 0, 2, 2, 70)), servername: "x.test" });
    assert.deepEqual(alert, { outcome: "alert", level: 2, description: 70, certificateRequested: false, receivedBeforeAlert: new Uint8Array(0) });
    const silent = await tls13Connect({ host: "127.0.0.1", port: await rawServer(null), servername: "x.test", timeoutMs: 300 });
    assert.deepEqual(silent, { outcome: "timeout", certificateRequested: false, receivedBeforeClose: new Uint8Array(0) });
    const port = await rawServer(text("HTTP/1.1 400 Bad Request\r\n\r\n"));
    await assert.rejects(tls13Connect({ host: "127.0.0.1", port, servername: "x.test" }), /\(type 72\)/);
    await assert.rejects(tls13Connect({ host: "127.0.0.1", port, servername: "x.test", preamble: text("CONNECT x.test:443 HTTP/1.1\r\n\r\n") }), /answered with "HTTP\/1.1 400/);
    await assert.rejects(tls13Connect({ host: "192.0.2.1", port, servername: "x.test" }), RangeError);
  });

  it("rejects a TLS 1.2-only server instead of pretending", async () => {
    const pki = await makePki();
    const server = tls.createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem, maxVersion: "TLSv1.2" }, (s) => s.end());
    server.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const r = await tls13Connect({ host: "127.0.0.1", port, servername: "server.test", timeoutMs: 3000 }).catch((e: unknown) => errorText(e));
      assert.ok(typeof r === "string" ? /TLS 1\.3/.test(r) : r.outcome === "alert" || r.outcome === "closed", JSON.stringify(r));
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
