/**
 * A minimal TLS 1.3 client for tests, over `node:net` and WebCrypto only, that can present a
 * client certificate and sign its CertificateVerify with ANY key — including one that does not
 * match the certificate, which openssl, curl and node:tls refuse to load. It exists to check that
 * a TLS server (the runtime's TLS library) verifies proof of possession of the client key.
 *
 * Speaks only TLS 1.3 with TLS_AES_128_GCM_SHA256 and an x25519 key share; offers the signature
 * schemes ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, rsa_pkcs1_sha256. It does NOT check the
 * server's certificate or CertificateVerify, but it DOES verify the server Finished, so any error
 * in its key schedule rejects the promise instead of passing for a successful handshake.
 *
 * The promise always settles (by `timeoutMs` at the latest) and rejects only for a fault of the
 * exchange that no outcome covers: bad options, connect failure, HelloRetryRequest (unsupported),
 * a server that does not negotiate TLS 1.3 with our suite and group, a malformed or undecryptable
 * record, a server Finished that does not verify, an unexpected message.
 *
 * @module
 */
import * as net from "node:net";
import {
  ascii, ByteQueue, type Bytes, concat, deriveSecret, ecdsaRawToDer, EMPTY, equalBytes, finishedMac, hkdfExtract, MAX_RECORD, Reader,
  sha256, TrafficKeys, u16, u8, vec16, vec24, vec8,
} from "./tls13-record.ts";

export interface Tls13ClientOptions {
  readonly host: string; // only 127.0.0.1 / ::1 in tests
  readonly port: number;
  /** Sent as server_name unless it is an IP literal. */
  readonly servername: string;
  readonly alpn?: readonly string[];
  /** Certificates (DER) to present when asked, leaf first; omit to present none. */
  readonly certificates?: readonly Uint8Array[];
  /** ECDSA P-256 private key (CryptoKey, sign usage) used for CertificateVerify — deliberately may NOT match certificates[0]. */
  readonly signingKey?: CryptoKey;
  /** Application data sent right after the client Finished. */
  readonly send?: Uint8Array;
  readonly timeoutMs?: number; // default 5000; always settle, never hang
  /**
   * Bytes written before the ClientHello (a PROXY header, a CONNECT request), in the same write.
   * If the server's first bytes are then an HTTP response ("HTTP/"), its head is skipped when the
   * status is 2xx and rejects the promise otherwise.
   */
  readonly preamble?: Uint8Array;
}

/**
 * - `established`: our Finished was sent, then at least one byte of application data from the
 *   server decrypted under its application keys, and the exchange ended (close_notify, TCP close,
 *   timeout or the 1 MiB limit) with no error alert — so against a server that keeps the
 *   connection open it settles only at `timeoutMs`. `received` is all of that data. (A server
 *   sending data before it reads our Finished — 0.5-RTT — and then closing without an alert would
 *   also count: test servers must answer only `send`, after their handshake completed.)
 * - `alert`: the server sent an alert other than close_notify (plaintext, or encrypted under the
 *   keys in force), at any point; `level` 2 is fatal. `receivedBeforeAlert`: data before it.
 * - `closed`: close_notify or TCP close/reset, and no data arrived after our Finished (or it was
 *   never sent). `timeout`: the same, but `timeoutMs` passed first.
 * `certificateRequested`: the server sent a CertificateRequest.
 */
export type Tls13ClientResult =
  | { readonly outcome: "established"; readonly received: Uint8Array; readonly certificateRequested: boolean; readonly alpn: string | null }
  | { readonly outcome: "alert"; readonly level: number; readonly description: number; readonly certificateRequested: boolean; readonly receivedBeforeAlert: Uint8Array }
  | { readonly outcome: "closed" | "timeout"; readonly certificateRequested: boolean; readonly receivedBeforeClose: Uint8Array };

const MAX_RECEIVED = 1 << 20; // application data kept
const MAX_INPUT = 2 << 20; // raw bytes read from the socket
const MAX_HANDSHAKE_MESSAGE = 1 << 18;
const HRR_RANDOM = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c";
const X25519 = 0x001d;
const AES_128_GCM_SHA256 = 0x1301;
const ZEROS = new Uint8Array(32);
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** What the exchange has come to so far; the timeout settles from it. */
interface State {
  certificateRequested: boolean;
  finishedSent: boolean;
  alpn: string | null;
  received: Bytes[];
  receivedBytes: number;
}

/** Settles `run` with a result from deep inside it. */
class Settle extends Error {
  readonly result: Tls13ClientResult;
  constructor(result: Tls13ClientResult) {
    super("settled");
    this.result = result;
  }
}

function ended(state: State, how: "closed" | "timeout"): Tls13ClientResult {
  const data = concat(...state.received);
  if (state.finishedSent && data.byteLength > 0) return { outcome: "established", received: data, certificateRequested: state.certificateRequested, alpn: state.alpn };
  return { outcome: how, certificateRequested: state.certificateRequested, receivedBeforeClose: data };
}

const handshakeMessage = (type: number, body: Uint8Array): Bytes => concat(u8(type), vec24(body));
const extension = (type: number, body: Uint8Array): Bytes => concat(u16(type), vec16(body));

function clientHello(o: Tls13ClientOptions, publicKey: Bytes, sessionId: Bytes): Bytes {
  const ip = net.isIP(o.servername) !== 0 || o.servername === "";
  const alpn = o.alpn ?? [];
  const extensions = concat(
    ip ? EMPTY : extension(0, vec16(concat(u8(0), vec16(ascii(o.servername))))),
    extension(10, vec16(u16(X25519))), // supported_groups
    extension(13, vec16(concat(u16(0x0403), u16(0x0804), u16(0x0401)))), // signature_algorithms
    extension(43, vec8(u16(0x0304))), // supported_versions: TLS 1.3 only
    extension(51, vec16(concat(u16(X25519), vec16(publicKey)))), // key_share
    alpn.length > 0 ? extension(16, vec16(concat(...alpn.map((p) => vec8(ascii(p)))))) : EMPTY,
  );
  const body = concat(u16(0x0303), crypto.getRandomValues(new Uint8Array(32)), vec8(sessionId), vec16(u16(AES_128_GCM_SHA256)), vec8(u8(0)), vec16(extensions));
  return handshakeMessage(1, body);
}

/** One connection's handshake and data phase. */
class Client {
  readKeys: TrafficKeys | null = null;
  #handshake: Bytes = EMPTY;
  #httpChecked = false;
  readonly o: Tls13ClientOptions;
  readonly write: (bytes: Uint8Array) => void;
  readonly input: ByteQueue;
  readonly state: State;
  constructor(o: Tls13ClientOptions, write: (bytes: Uint8Array) => void, input: ByteQueue, state: State) {
    [this.o, this.write, this.input, this.state] = [o, write, input, state];
  }

  /** The next record, decrypted when keys are in force; change_cipher_spec skipped; `null` at end of stream. */
  async record(): Promise<{ type: number; content: Bytes } | null> {
    for (;;) {
      const header = await this.input.read(5);
      if (!header) return null;
      if (!this.#httpChecked && this.o.preamble && ascii("HTTP/").every((b, i) => header[i] === b)) {
        let head = header;
        while (!ascii("\r\n\r\n").every((b, i) => head[head.byteLength - 4 + i] === b)) {
          const next = head.byteLength < 8192 ? await this.input.read(1) : null;
          if (!next) throw new Error("TLS client: truncated or oversized HTTP response to the preamble");
          head = concat(head, next);
        }
        const status = new TextDecoder().decode(head).split("\r\n")[0] ?? "";
        if (!/^HTTP\/1\.[01] 2\d\d/.test(status)) throw new Error(`TLS client: the preamble was answered with "${status}"`);
        this.#httpChecked = true;
        continue;
      }
      this.#httpChecked = true;
      const type = header[0]!;
      const length = (header[3]! << 8) | header[4]!;
      if (length > MAX_RECORD) throw new Error(`TLS client: server record of ${length} bytes (type ${type}) is too long`);
      const body = await this.input.read(length);
      if (!body) return null;
      if (type === 20) continue; // middlebox-compatibility change_cipher_spec
      if (type === 21 && body.byteLength === 2) return { type, content: body }; // plaintext alert
      if (type === 23 && this.readKeys) {
        try {
          return await this.readKeys.open(header, body);
        } catch {
          throw new Error("TLS client: cannot decrypt a server record (key schedule mismatch?)");
        }
      }
      if (type === 22 && !this.readKeys) return { type, content: body };
      throw new Error(`TLS client: unexpected record type ${type} of ${length} bytes`);
    }
  }

  /** Alert result, or a clean end for close_notify. */
  alert(content: Bytes): Tls13ClientResult {
    const [level = 0, description = 0] = content;
    if (description === 0) return ended(this.state, "closed");
    const receivedBeforeAlert = concat(...this.state.received);
    return { outcome: "alert", level, description, certificateRequested: this.state.certificateRequested, receivedBeforeAlert };
  }

  /** The next handshake message (whole, with its 4-byte header) from buffered or new records. */
  async message(): Promise<{ type: number; body: Bytes; raw: Bytes }> {
    for (;;) {
      const h = this.#handshake;
      const length = h.byteLength >= 4 ? (h[1]! << 16) | (h[2]! << 8) | h[3]! : -1;
      if (length > MAX_HANDSHAKE_MESSAGE) throw new Error(`TLS client: handshake message of ${length} bytes is too long`);
      if (length >= 0 && h.byteLength >= 4 + length) {
        this.#handshake = h.slice(4 + length);
        return { type: h[0]!, body: h.slice(4, 4 + length), raw: h.slice(0, 4 + length) };
      }
      const rec = await this.record();
      if (!rec) throw new Settle(ended(this.state, "closed"));
      if (rec.type === 21) throw new Settle(this.alert(rec.content));
      if (rec.type !== 22) throw new Error(`TLS client: record type ${rec.type} during the handshake`);
      this.#handshake = concat(this.#handshake, rec.content);
    }
  }

  /** Keys change only at a record boundary: no handshake bytes may be left over. */
  switchReadKeys(keys: TrafficKeys): void {
    if (this.#handshake.byteLength > 0) throw new Error("TLS client: handshake data straddles a key change");
    this.readKeys = keys;
  }

  async run(): Promise<Tls13ClientResult> {
    const { o, state } = this;
    const pair = (await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"])) as CryptoKeyPair;
    const sessionId = crypto.getRandomValues(new Uint8Array(32));
    const hello = clientHello(o, new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)), sessionId);
    let transcript = hello;
    this.write(concat(o.preamble ?? EMPTY, u8(22), u16(0x0301), vec16(hello)));

    // ServerHello
    const sh = await this.message();
    if (sh.type !== 2) throw new Error(`TLS client: expected ServerHello, got handshake type ${sh.type}`);
    const r = new Reader(sh.body);
    r.u16();
    if (hex(r.bytes(32)) === HRR_RANDOM) throw new Error("TLS client: HelloRetryRequest is not supported (the server wants another key share than x25519)");
    if (!equalBytes(r.vec8(), sessionId)) throw new Error("TLS client: ServerHello does not echo the session id");
    const suite = r.u16();
    if (suite !== AES_128_GCM_SHA256 || r.u8() !== 0) throw new Error(`TLS client: server chose cipher suite 0x${suite.toString(16)}`);
    let version = 0;
    let serverShare: Bytes | null = null;
    for (const ext = new Reader(r.vec16()); !ext.done;) {
      const [type, body] = [ext.u16(), new Reader(ext.vec16())];
      if (type === 43) version = body.u16();
      if (type === 51 && body.u16() === X25519) serverShare = body.vec16();
    }
    if (version !== 0x0304) throw new Error("TLS client: the server did not negotiate TLS 1.3");
    if (!serverShare) throw new Error("TLS client: ServerHello has no x25519 key share");
    transcript = concat(transcript, sh.raw);
    const peer = await crypto.subtle.importKey("raw", serverShare, { name: "X25519" }, false, []);
    const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: "X25519", public: peer }, pair.privateKey, 256));

    // key schedule (RFC 8446 §7.1)
    const early = await hkdfExtract(ZEROS, ZEROS);
    const handshakeSecret = await hkdfExtract(await deriveSecret(early, "derived", EMPTY), shared);
    const clientHs = await deriveSecret(handshakeSecret, "c hs traffic", transcript);
    const serverHs = await deriveSecret(handshakeSecret, "s hs traffic", transcript);
    this.switchReadKeys(await TrafficKeys.derive(serverHs));

    // EncryptedExtensions, [CertificateRequest], Certificate, CertificateVerify, Finished
    let requestContext: Bytes | null = null;
    for (;;) {
      const m = await this.message();
      if (m.type === 20) {
        if (!equalBytes(m.body, await finishedMac(serverHs, transcript))) throw new Error("TLS client: the server Finished does not verify");
        transcript = concat(transcript, m.raw);
        break;
      }
      if (m.type === 8) {
        for (const ext = new Reader(new Reader(m.body).vec16()); !ext.done;) {
          const [type, body] = [ext.u16(), ext.vec16()];
          if (type === 16) state.alpn = new TextDecoder().decode(new Reader(new Reader(body).vec16()).vec8());
        }
      } else if (m.type === 13) {
        requestContext = new Reader(m.body).vec8();
        state.certificateRequested = true;
      } else if (m.type !== 11 && m.type !== 15) {
        throw new Error(`TLS client: unexpected handshake message type ${m.type}`);
      }
      transcript = concat(transcript, m.raw);
    }
    const master = await hkdfExtract(await deriveSecret(handshakeSecret, "derived", EMPTY), ZEROS);
    const clientAp = await deriveSecret(master, "c ap traffic", transcript);
    this.switchReadKeys(await TrafficKeys.derive(await deriveSecret(master, "s ap traffic", transcript)));

    // our flight: [Certificate, [CertificateVerify]], Finished
    let flight: Bytes = EMPTY;
    const add = (message: Bytes): void => {
      flight = concat(flight, message);
      transcript = concat(transcript, message);
    };
    if (requestContext) {
      const entries = (o.certificates ?? []).map((der) => concat(vec24(der), vec16(EMPTY)));
      add(handshakeMessage(11, concat(vec8(requestContext), vec24(concat(...entries)))));
      if (o.certificates?.length && o.signingKey) {
        const signed = concat(new Uint8Array(64).fill(0x20), ascii("TLS 1.3, client CertificateVerify"), u8(0), await sha256(transcript));
        const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, o.signingKey, signed));
        add(handshakeMessage(15, concat(u16(0x0403), vec16(ecdsaRawToDer(raw)))));
      }
    }
    add(handshakeMessage(20, await finishedMac(clientHs, transcript)));
    const handshakeWrite = await TrafficKeys.derive(clientHs);
    const records: Bytes[] = [concat(u8(20), u16(0x0303), vec16(u8(1)))]; // change_cipher_spec (we sent a session id)
    for (let i = 0; i < flight.byteLength; i += 16_384) records.push(await handshakeWrite.seal(22, flight.subarray(i, i + 16_384)));
    const appWrite = await TrafficKeys.derive(clientAp);
    for (let i = 0; o.send && i < o.send.byteLength; i += 16_384) records.push(await appWrite.seal(23, o.send.subarray(i, i + 16_384)));
    this.write(concat(...records));
    state.finishedSent = true;

    // data phase
    for (;;) {
      const rec = await this.record();
      if (!rec) return ended(state, "closed");
      if (rec.type === 21) return this.alert(rec.content);
      if (rec.type === 22) {
        this.#handshake = concat(this.#handshake, rec.content);
        while (this.#handshake.byteLength >= 4) {
          const m = await this.message();
          if (m.type === 24) this.switchReadKeys(await this.readKeys!.next()); // KeyUpdate (we never answer)
          else if (m.type !== 4) throw new Error(`TLS client: unexpected post-handshake message type ${m.type}`); // 4: NewSessionTicket, skipped
        }
      } else if (rec.type === 23) {
        const room = MAX_RECEIVED - state.receivedBytes;
        state.received.push(rec.content.subarray(0, room));
        state.receivedBytes += Math.min(room, rec.content.byteLength);
        if (state.receivedBytes >= MAX_RECEIVED) return ended(state, "closed");
      } else {
        throw new Error(`TLS client: unexpected content type ${rec.type} after the handshake`);
      }
    }
  }
}

/** Connects, runs one TLS 1.3 handshake and data exchange, and reports how it ended (see {@linkcode Tls13ClientResult}). */
export function tls13Connect(options: Tls13ClientOptions): Promise<Tls13ClientResult> {
  if (options.host !== "127.0.0.1" && options.host !== "::1") return Promise.reject(new RangeError("tls13Connect: host must be 127.0.0.1 or ::1"));
  if (options.certificates?.length && !options.signingKey) return Promise.reject(new TypeError("tls13Connect: certificates need a signingKey"));
  const state: State = { certificateRequested: false, finishedSent: false, alpn: null, received: [], receivedBytes: 0 };
  return new Promise<Tls13ClientResult>((resolve, reject) => {
    const input = new ByteQueue(MAX_INPUT);
    const socket = net.connect({ host: options.host, port: options.port });
    let connected = false;
    let settled = false;
    const settle = (outcome: Tls13ClientResult | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => settle(ended(state, "timeout")), options.timeoutMs ?? 5000);
    socket.on("data", (chunk: Uint8Array) => input.push(chunk));
    socket.on("end", () => input.end());
    socket.on("close", () => input.end());
    socket.on("error", (e: Error) => (connected ? input.end() : settle(e))); // a reset after connecting is a close
    socket.once("connect", () => {
      connected = true;
      new Client(options, (bytes) => socket.write(bytes), input, state).run().then(settle, (e: unknown) => {
        settle(e instanceof Settle ? e.result : e instanceof Error ? e : new Error(String(e)));
      });
    });
  });
}
