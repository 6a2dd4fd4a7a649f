/**
 * A parsed TLS ClientHello. Number lists keep wire order and include GREASE values
 * (RFC 8701); `greaseValues` lists the distinct GREASE values seen, in first-seen order.
 */
export interface ClientHello {
  /** Version field of the first record header (0x0301 for most clients). */
  readonly recordVersion: number;
  /** Number of TLS records the ClientHello was carried in. */
  readonly recordCount: number;
  /** Length of the ClientHello handshake body (without its 4-byte header). */
  readonly handshakeLength: number;
  /** `legacy_version` (0x0303 for TLS 1.2 and 1.3 clients). */
  readonly legacyVersion: number;
  /** Highest non-GREASE version offered: from supported_versions when present, else `legacyVersion`. */
  readonly maxVersion: number;
  /** Length of `legacy_session_id` (0–32). */
  readonly sessionIdLength: number;
  readonly cipherSuites: readonly number[];
  readonly compressionMethods: readonly number[];
  /** Extension types in wire order. */
  readonly extensionTypes: readonly number[];
  /**
   * server_name host_name: lowercase ASCII, validated as a DNS name (labels of 1–63 characters
   * from `A-Z a-z 0-9 - _`, at most 253 characters, no trailing dot) or an IP literal; other
   * names are refused with reason "bad-sni" (see `parseSniHostName`).
   * `undefined` when the extension is absent or holds no host_name entry.
   */
  readonly sni: string | undefined;
  /**
   * True when `sni` is an IP literal (forbidden by RFC 6066 §3, sent by some clients anyway):
   * dotted-quad IPv4, IPv6, or a name whose last label is numeric (`127.1`, `a.0x7f`), which a
   * URL parser or resolver would read as an IPv4 address.
   */
  readonly sniIsIp: boolean;
  /** ALPN protocol names, one character per byte (Latin-1), in wire order. */
  readonly alpn: readonly string[];
  /** supported_versions entries (empty when the extension is absent). */
  readonly supportedVersions: readonly number[];
  readonly supportedGroups: readonly number[];
  /** Groups of the key_share entries. */
  readonly keyShareGroups: readonly number[];
  readonly signatureAlgorithms: readonly number[];
  readonly ecPointFormats: readonly number[];
  /**
   * True when encrypted_client_hello (0xfe0d, or a draft's 0xfe08-0xfe0c) or ESNI (0xffce) is
   * present: `sni`, if any, is then the public (outer) name.
   */
  readonly ech: boolean;
  /** Distinct GREASE values in cipher suites, extensions, versions, groups, key shares, signature algorithms. */
  readonly greaseValues: readonly number[];
}

/** The ClientHello fields that come from the handshake body. */
export type ClientHelloBody = Omit<ClientHello, "recordVersion" | "recordCount">;

/** True for a GREASE value (RFC 8701): 0x0a0a, 0x1a1a, … 0xfafa. */
export function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && value >> 8 === (value & 0xff);
}
