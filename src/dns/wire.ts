/**
 * DNS messages (RFC 1035) for the resolver that asks configured servers itself: an A or
 * AAAA query out, the addresses and their TTL in. Sans-IO; decoding checks everything it
 * relies on (the ID, the question echoed, bounds of every field, compression pointers only
 * pointing backwards, CNAME chains bounded) and throws `DnsWireError` on anything else.
 *
 * @module
 */
import { formatIPv4, formatIPv6 } from "../core/ip.ts";

/** Record types used here. */
export const TYPE_A = 1;
export const TYPE_CNAME = 5;
export const TYPE_AAAA = 28;
/** The EDNS(0) pseudo-record (RFC 6891). */
export const TYPE_OPT = 41;

/** Response codes the resolver tells apart. */
export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;

/** Header flags: authoritative answer, recursion available. */
const FLAG_AA = 0x0400;
const FLAG_RA = 0x0080;

/**
 * The UDP payload size offered with EDNS(0): 1232 bytes fits the IPv6 minimum MTU without
 * fragmentation (DNS Flag Day 2020); answers up to it need no second exchange over TCP.
 */
export const EDNS_UDP_PAYLOAD = 1232;

/** Largest DNS message (the two-byte length prefix of DNS over TCP). */
export const MAX_MESSAGE_BYTES = 65_535;
/** Most CNAMEs followed from the name asked for. */
const MAX_CNAME_HOPS = 16;
/** Most compression pointers followed while reading one name. */
const MAX_POINTERS = 64;

/** A DNS message that is malformed or does not answer the query. */
export class DnsWireError extends Error {
  override name = "DnsWireError";
}

/** What a response says about the name asked for. */
export interface DnsAnswer {
  /** The response code (0 no error, 3 no such name, 2 server failure, …). */
  readonly rcode: number;
  /** Addresses of the asked type at the end of the CNAME chain, as text; may be empty. */
  readonly addresses: readonly string[];
  /** The smallest TTL of the records used (CNAMEs and addresses); undefined when none. */
  readonly ttlSeconds: number | undefined;
  /**
   * No error and no addresses from a server that neither recurses (RA) nor is authoritative
   * (AA): a referral or a lame answer, which says nothing about the name.
   */
  readonly referral?: true;
}

/**
 * A recursive query (RD set) for `name` (normalised, valid host name) of type A or AAAA.
 * With `udpPayload`, an EDNS(0) OPT record offers answers of up to that many bytes over UDP.
 *
 * @example
 * ```ts
 * const bytes = encodeQuery(0x1234, "example.com", TYPE_A, EDNS_UDP_PAYLOAD);
 * ```
 */
export function encodeQuery(id: number, name: string, type: typeof TYPE_A | typeof TYPE_AAAA, udpPayload?: number): Uint8Array {
  const labels = name.split(".");
  const question = 12 + name.length + 2 + 4;
  const out = new Uint8Array(question + (udpPayload === undefined ? 0 : 11));
  const view = new DataView(out.buffer);
  view.setUint16(0, id);
  view.setUint16(2, 0x0100); // standard query, recursion desired
  view.setUint16(4, 1); // one question
  let at = 12;
  for (const label of labels) {
    out[at++] = label.length;
    for (let i = 0; i < label.length; i++) out[at++] = label.charCodeAt(i);
  }
  out[at++] = 0;
  view.setUint16(at, type);
  view.setUint16(at + 2, 1); // class IN
  if (udpPayload !== undefined) {
    // one additional record: OPT, owner the root, "class" the payload size, version 0, no flags
    view.setUint16(10, 1);
    view.setUint16(question + 1, TYPE_OPT);
    view.setUint16(question + 3, udpPayload);
  }
  return out;
}

/** Reads a (possibly compressed) name at `start`; returns it lowercased and where it ends. */
function readName(msg: Uint8Array, start: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = start;
  let end = -1;
  let pointers = 0;
  let length = 0;
  for (;;) {
    if (at >= msg.length) throw new DnsWireError("name runs past the message");
    const len = msg[at]!;
    if (len === 0) {
      if (end < 0) end = at + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= msg.length) throw new DnsWireError("truncated compression pointer");
      const target = ((len & 0x3f) << 8) | msg[at + 1]!;
      if (target >= at || ++pointers > MAX_POINTERS) throw new DnsWireError("compression pointer loop");
      if (end < 0) end = at + 2;
      at = target;
      continue;
    }
    if (len > 63) throw new DnsWireError("bad label length");
    if (at + 1 + len > msg.length) throw new DnsWireError("label runs past the message");
    length += len + 1;
    if (length > 255) throw new DnsWireError("name longer than 255 bytes");
    let label = "";
    for (let i = at + 1; i <= at + len; i++) label += String.fromCharCode(msg[i]!);
    labels.push(label.toLowerCase());
    at += 1 + len;
  }
  return { name: labels.join("."), end };
}

interface RecordSet {
  readonly addresses: Map<string, { text: string[]; ttl: number }>;
  readonly cnames: Map<string, { target: string; ttl: number }>;
}

/**
 * Decodes the response to `encodeQuery(id, name, type)`. Throws `DnsWireError` when the
 * message is malformed, is not a response, or answers another ID or question.
 */
export function decodeResponse(msg: Uint8Array, id: number, name: string, type: typeof TYPE_A | typeof TYPE_AAAA): DnsAnswer {
  if (msg.length < 12) throw new DnsWireError("message shorter than its header");
  if (msg.length > MAX_MESSAGE_BYTES) throw new DnsWireError("message too long");
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  if (view.getUint16(0) !== id) throw new DnsWireError("response to another query (ID)");
  const flags = view.getUint16(2);
  if ((flags & 0x8000) === 0) throw new DnsWireError("not a response");
  const qdcount = view.getUint16(4);
  const ancount = view.getUint16(6);
  if (qdcount !== 1) throw new DnsWireError(`expected the question echoed once, got ${qdcount}`);
  const q = readName(msg, 12);
  if (q.end + 4 > msg.length) throw new DnsWireError("question runs past the message");
  if (q.name !== name || view.getUint16(q.end) !== type || view.getUint16(q.end + 2) !== 1) {
    throw new DnsWireError("response to another question");
  }
  const set: RecordSet = { addresses: new Map(), cnames: new Map() };
  let at = q.end + 4;
  for (let i = 0; i < ancount; i++) at = readRecord(msg, view, at, type, set);
  // the authority and additional sections are not trusted for addresses: only read for an
  // OPT record, whose TTL field carries the upper 8 bits of a 12-bit response code
  let rcode = flags & 0x000f;
  const more = view.getUint16(8) + view.getUint16(10);
  for (let i = 0; i < more; i++) {
    const r = recordAt(msg, view, at);
    if (r.type === TYPE_OPT) rcode |= (view.getUint32(r.fixed + 4) >>> 24) << 4;
    at = r.end;
  }
  if (rcode !== RCODE_NOERROR) return { rcode, addresses: [], ttlSeconds: undefined };
  let owner = name;
  let ttl: number | undefined;
  for (let hops = 0; ; hops++) {
    const found = set.addresses.get(owner);
    if (found) return { rcode, addresses: found.text, ttlSeconds: Math.min(ttl ?? found.ttl, found.ttl) };
    const alias = set.cnames.get(owner);
    if (!alias) return (flags & (FLAG_AA | FLAG_RA)) === 0 ? { rcode, addresses: [], ttlSeconds: undefined, referral: true } : { rcode, addresses: [], ttlSeconds: undefined };
    if (hops >= MAX_CNAME_HOPS) throw new DnsWireError(`more than ${MAX_CNAME_HOPS} CNAMEs from ${JSON.stringify(name)}`);
    ttl = Math.min(ttl ?? alias.ttl, alias.ttl);
    owner = alias.target;
  }
}

/** The record at `at`: its owner, where its fixed fields (type, class, TTL, length) start, its type, and where it ends. */
function recordAt(msg: Uint8Array, view: DataView, at: number): { owner: string; fixed: number; type: number; end: number } {
  const { name: owner, end: fixed } = readName(msg, at);
  if (fixed + 10 > msg.length) throw new DnsWireError("record runs past the message");
  const end = fixed + 10 + view.getUint16(fixed + 8);
  if (end > msg.length) throw new DnsWireError("record data runs past the message");
  return { owner, fixed, type: view.getUint16(fixed), end };
}

/** Reads one resource record at `at` into `set` (only IN records of `type` and CNAMEs); returns where it ends. */
function readRecord(msg: Uint8Array, view: DataView, at: number, type: number, set: RecordSet): number {
  const { owner, fixed, type: rtype, end } = recordAt(msg, view, at);
  const rclass = view.getUint16(fixed + 2);
  const raw = view.getUint32(fixed + 4);
  const ttl = raw > 0x7fffffff ? 0 : raw; // RFC 2181 §8: a TTL with the top bit set is read as 0
  const rdata = fixed + 10;
  const rdlength = end - rdata;
  if (rclass !== 1) return end;
  if (rtype === TYPE_CNAME) {
    const target = readName(msg, rdata);
    if (target.end !== end) throw new DnsWireError("CNAME data has the wrong length");
    set.cnames.set(owner, { target: target.name, ttl });
  } else if (rtype === type) {
    const size = type === TYPE_A ? 4 : 16;
    if (rdlength !== size) throw new DnsWireError(`${type === TYPE_A ? "A" : "AAAA"} record of ${rdlength} bytes`);
    const bytes = msg.subarray(rdata, end);
    const text = size === 4 ? formatIPv4(bytes) : formatIPv6(bytes);
    const entry = set.addresses.get(owner);
    if (entry) {
      if (!entry.text.includes(text)) entry.text.push(text);
      entry.ttl = Math.min(entry.ttl, ttl);
    } else set.addresses.set(owner, { text: [text], ttl });
  }
  return end;
}
