import { ClientHelloError, type ClientHelloErrorReason } from "./client-hello-error.ts";
import { parseSniHostName } from "./client-hello-sni.ts";
import { isGrease, type ClientHelloBody } from "./client-hello-types.ts";

const EXT_SERVER_NAME = 0;
const EXT_SUPPORTED_GROUPS = 10;
const EXT_EC_POINT_FORMATS = 11;
const EXT_SIGNATURE_ALGORITHMS = 13;
const EXT_ALPN = 16;
const EXT_PRE_SHARED_KEY = 41;
const EXT_SUPPORTED_VERSIONS = 43;
const EXT_KEY_SHARE = 51;
/**
 * Extensions that hide the real server name: `encrypted_client_hello` (0xfe0d since
 * draft-13 and in the RFC; 0xfe08-0xfe0c in drafts 8-12, which NSS and early clients
 * shipped) and the older `encrypted_server_name` (ESNI, 0xffce; Firefox 64-84).
 */
const EXT_HIDDEN_NAME = new Set([0xfe08, 0xfe09, 0xfe0a, 0xfe0b, 0xfe0c, 0xfe0d, 0xffce]);

/** Walker stages, each waiting for `#need` bytes at `#pos`. */
const ST_VERSION_RANDOM = 0;
const ST_SID_LEN = 1;
const ST_SID = 2;
const ST_CS_LEN = 3;
const ST_CS = 4;
const ST_COMP_LEN = 5;
const ST_COMP = 6;
const ST_EXTS_LEN = 7;
const ST_EXT_HEAD = 8;
const ST_EXT_BODY = 9;
const ST_DONE = 10;

/**
 * Resumable parser of a ClientHello handshake body whose length is known up front. The body
 * is filled in by the caller; {@link advance} checks every field as soon as its bytes are
 * there (lengths against the body end even earlier), so garbage fails early and each byte is
 * examined once. Internal to {@link ClientHelloReader}.
 */
export class ClientHelloBodyParser {
  readonly #body: Uint8Array;
  #avail = 0;
  #pos = 0;
  #stage = ST_VERSION_RANDOM;
  #need = 34;
  #errorAt = 0;
  #extType = 0;
  #pskSeen = false;
  readonly #seenExt = new Set<number>();
  readonly #grease = new Set<number>();
  #legacyVersion = 0;
  #sessionIdLength = 0;
  readonly #cipherSuites: number[] = [];
  readonly #compression: number[] = [];
  readonly #extensionTypes: number[] = [];
  #sni: string | undefined;
  #sniIsIp = false;
  readonly #alpn: string[] = [];
  readonly #versions: number[] = [];
  readonly #groups: number[] = [];
  readonly #keyShares: number[] = [];
  readonly #sigAlgs: number[] = [];
  readonly #pointFormats: number[] = [];
  #ech = false;

  /** `body` has the full body length; its first bytes are filled in before each {@link advance}. */
  constructor(body: Uint8Array) {
    this.#body = body;
  }

  /**
   * Parse as far as the first `avail` body bytes allow. `streamOffset` is reported in errors.
   *
   * @returns true once the whole body has been parsed.
   * @throws {ClientHelloError} on malformed input.
   */
  advance(avail: number, streamOffset: number): boolean {
    this.#avail = avail;
    this.#errorAt = streamOffset;
    const end = this.#body.length;
    while (this.#stage !== ST_DONE) {
      if (this.#pos + this.#need > end) this.#overrun();
      if (this.#pos + this.#need > avail) return false;
      this.#step();
    }
    return true;
  }

  /** The parsed fields; only after {@link advance} returned true. */
  result(): ClientHelloBody {
    let maxVersion = -1;
    for (const v of this.#versions) if (!isGrease(v) && v > maxVersion) maxVersion = v;
    return {
      handshakeLength: this.#body.length,
      legacyVersion: this.#legacyVersion,
      maxVersion: maxVersion < 0 ? this.#legacyVersion : maxVersion,
      sessionIdLength: this.#sessionIdLength,
      cipherSuites: this.#cipherSuites,
      compressionMethods: this.#compression,
      extensionTypes: this.#extensionTypes,
      sni: this.#sni,
      sniIsIp: this.#sniIsIp,
      alpn: this.#alpn,
      supportedVersions: this.#versions,
      supportedGroups: this.#groups,
      keyShareGroups: this.#keyShares,
      signatureAlgorithms: this.#sigAlgs,
      ecPointFormats: this.#pointFormats,
      ech: this.#ech,
      greaseValues: [...this.#grease],
    };
  }

  #overrun(): never {
    const left = this.#body.length - this.#pos;
    switch (this.#stage) {
      case ST_SID:
        throw this.#fail("bad-session-id", `Session id of ${this.#need} bytes overruns the ClientHello`);
      case ST_CS:
        throw this.#fail("bad-cipher-suites", `Cipher suites of ${this.#need} bytes overrun the ClientHello`);
      case ST_COMP:
        throw this.#fail("bad-compression", `Compression methods of ${this.#need} bytes overrun the ClientHello`);
      case ST_EXT_HEAD:
      case ST_EXT_BODY:
        throw this.#fail("truncated-extension", `Extension needs ${this.#need} bytes, ${left} left`);
      default:
        throw this.#fail("bad-length", `ClientHello ends ${left} bytes into a field of ${this.#need} bytes`);
    }
  }

  #step(): void {
    const p = this.#pos;
    const n = this.#need;
    this.#pos = p + n;
    switch (this.#stage) {
      case ST_VERSION_RANDOM:
        this.#legacyVersion = this.#u16(p);
        if (this.#legacyVersion >> 8 !== 3) {
          throw this.#fail("bad-version", `ClientHello legacy_version "0x${hex(this.#legacyVersion)}" is not 3.x`);
        }
        this.#to(ST_SID_LEN, 1);
        return;
      case ST_SID_LEN:
        this.#sessionIdLength = this.#u8(p);
        if (this.#sessionIdLength > 32) {
          throw this.#fail("bad-session-id", `Session id length ${this.#sessionIdLength} exceeds 32`);
        }
        this.#to(ST_SID, this.#sessionIdLength);
        return;
      case ST_SID:
        this.#to(ST_CS_LEN, 2);
        return;
      case ST_CS_LEN: {
        const len = this.#u16(p);
        if (len < 2 || len % 2 !== 0) throw this.#fail("bad-cipher-suites", `Cipher suites length ${len} is not even and positive`);
        this.#to(ST_CS, len);
        return;
      }
      case ST_CS:
        this.#u16List(p, p + n, this.#cipherSuites);
        this.#to(ST_COMP_LEN, 1);
        return;
      case ST_COMP_LEN: {
        const len = this.#u8(p);
        if (len === 0) throw this.#fail("bad-compression", "No compression methods");
        this.#to(ST_COMP, len);
        return;
      }
      case ST_COMP:
        for (let i = p; i < p + n; i++) this.#compression.push(this.#u8(i));
        if (!this.#compression.includes(0)) throw this.#fail("bad-compression", "Compression methods lack null (0)");
        if (this.#pos === this.#body.length) this.#to(ST_DONE, 0);
        else this.#to(ST_EXTS_LEN, 2);
        return;
      case ST_EXTS_LEN: {
        const len = this.#u16(p);
        const left = this.#body.length - this.#pos;
        if (len !== left) throw this.#fail("bad-length", `Extensions length ${len} does not match the ${left} bytes left`);
        this.#to(len === 0 ? ST_DONE : ST_EXT_HEAD, len === 0 ? 0 : 4);
        return;
      }
      case ST_EXT_HEAD: {
        const type = this.#u16(p);
        if (this.#pskSeen) throw this.#fail("psk-not-last", `Extension "${type}" follows pre_shared_key`);
        if (this.#seenExt.has(type)) throw this.#fail("duplicate-extension", `Duplicate extension "${type}"`);
        this.#seenExt.add(type);
        this.#extensionTypes.push(type);
        this.#noteGrease(type);
        if (type === EXT_PRE_SHARED_KEY) this.#pskSeen = true;
        if (EXT_HIDDEN_NAME.has(type)) this.#ech = true;
        this.#extType = type;
        this.#to(ST_EXT_BODY, this.#u16(p + 2));
        return;
      }
      case ST_EXT_BODY:
        this.#extension(this.#extType, p, p + n);
        if (this.#pos === this.#body.length) this.#to(ST_DONE, 0);
        else this.#to(ST_EXT_HEAD, 4);
        return;
      default:
        return;
    }
  }

  #to(stage: number, need: number): void {
    this.#stage = stage;
    this.#need = need;
  }

  #extension(type: number, start: number, end: number): void {
    switch (type) {
      case EXT_SERVER_NAME:
        this.#serverName(start, end);
        return;
      case EXT_ALPN: {
        const listEnd = this.#vector(start, end, 2, "ALPN");
        if (listEnd === start + 2) throw this.#fail("bad-extension", "ALPN protocol list is empty");
        for (let i = start + 2; i < listEnd; ) {
          const len = this.#u8(i);
          if (len === 0 || i + 1 + len > listEnd) throw this.#fail("bad-extension", `ALPN protocol length ${len} is invalid`);
          let name = "";
          for (let j = i + 1; j <= i + len; j++) name += String.fromCharCode(this.#u8(j));
          this.#alpn.push(name);
          i += 1 + len;
        }
        return;
      }
      case EXT_SUPPORTED_VERSIONS:
        this.#u16List(start + 1, this.#vector(start, end, 1, "supported_versions", true), this.#versions, true);
        return;
      case EXT_SUPPORTED_GROUPS:
        this.#u16List(start + 2, this.#vector(start, end, 2, "supported_groups", true), this.#groups, true);
        return;
      case EXT_SIGNATURE_ALGORITHMS:
        this.#u16List(start + 2, this.#vector(start, end, 2, "signature_algorithms", true), this.#sigAlgs, true);
        return;
      case EXT_EC_POINT_FORMATS: {
        const listEnd = this.#vector(start, end, 1, "ec_point_formats");
        if (listEnd === start + 1) throw this.#fail("bad-extension", "ec_point_formats is empty");
        for (let i = start + 1; i < listEnd; i++) this.#pointFormats.push(this.#u8(i));
        return;
      }
      case EXT_KEY_SHARE: {
        const listEnd = this.#vector(start, end, 2, "key_share");
        for (let i = start + 2; i < listEnd; ) {
          if (i + 4 > listEnd) throw this.#fail("bad-extension", "key_share entry is truncated");
          const group = this.#u16(i);
          const len = this.#u16(i + 2);
          if (len === 0 || i + 4 + len > listEnd) throw this.#fail("bad-extension", `key_share length ${len} is invalid`);
          this.#keyShares.push(group);
          this.#noteGrease(group);
          i += 4 + len;
        }
        return;
      }
      default:
        return;
    }
  }

  /** Check a vector with a `prefix`-byte length filling the extension exactly; returns its end. */
  #vector(start: number, end: number, prefix: 1 | 2, what: string, pairs = false): number {
    const reason = what === "server_name" ? "bad-sni" : "bad-extension";
    if (end - start < prefix) throw this.#fail(reason, `${what} extension is too short`);
    const len = prefix === 1 ? this.#u8(start) : this.#u16(start);
    if (start + prefix + len !== end) {
      throw this.#fail(reason, `${what} length ${len} does not match the extension length ${end - start}`);
    }
    if (pairs && (len === 0 || len % 2 !== 0)) throw this.#fail(reason, `${what} length ${len} is not even and positive`);
    return end;
  }

  #u16List(start: number, end: number, out: number[], grease = true): void {
    for (let i = start; i < end; i += 2) {
      const v = this.#u16(i);
      out.push(v);
      if (grease) this.#noteGrease(v);
    }
  }

  #serverName(start: number, end: number): void {
    const listEnd = this.#vector(start, end, 2, "server_name");
    if (listEnd === start + 2) throw this.#fail("bad-sni", "server_name list is empty");
    let hostSeen = false;
    for (let i = start + 2; i < listEnd; ) {
      if (i + 3 > listEnd) throw this.#fail("bad-sni", "server_name entry is truncated");
      const type = this.#u8(i);
      const len = this.#u16(i + 1);
      if (i + 3 + len > listEnd) throw this.#fail("bad-sni", `server_name entry length ${len} overruns the list`);
      if (type === 0) {
        if (hostSeen) throw this.#fail("bad-sni", "server_name has two host_name entries");
        hostSeen = true;
        this.#hostName(i + 3, i + 3 + len);
      }
      i += 3 + len;
    }
  }

  #hostName(start: number, end: number): void {
    const host = parseSniHostName(this.#body.subarray(start, end));
    if (typeof host === "string") throw this.#fail("bad-sni", host);
    this.#sni = host.name;
    this.#sniIsIp = host.isIp;
  }

  #noteGrease(v: number): void {
    if (isGrease(v)) this.#grease.add(v);
  }

  #u8(i: number): number {
    const v = i < this.#avail ? this.#body[i] : undefined;
    if (v === undefined) throw new RangeError(`ClientHello parser read byte ${i} of ${this.#avail}`);
    return v;
  }

  #u16(i: number): number {
    return (this.#u8(i) << 8) | this.#u8(i + 1);
  }

  #fail(reason: ClientHelloErrorReason, message: string): ClientHelloError {
    return new ClientHelloError(reason, message, this.#errorAt);
  }
}

function hex(v: number, width = 4): string {
  return v.toString(16).padStart(width, "0");
}
