/**
 * The one LDAP search the gateway makes (RFC 4511 §4.5): a user's own entry, by its DN or by
 * an equality filter under a base, asking for one attribute (their groups, `memberOf`). The
 * request, and a sans-IO reader of the answers: entries, referrals (skipped) and the done.
 * @module
 */
import { children, constructed, integer, tlv } from "./ber.ts";
import { type LdapResult, readLdapMessage, readLdapResult } from "./ldap-message.ts";

const SEQUENCE = 0x30;
const SET = 0x31;
const OCTET_STRING = 0x04;
const ENUMERATED = 0x0a;
const BOOLEAN = 0x01;
const SEARCH_REQUEST = 0x63; // [APPLICATION 3]
const SEARCH_RESULT_ENTRY = 0x64; // [APPLICATION 4]
const SEARCH_RESULT_DONE = 0x65; // [APPLICATION 5]
const SEARCH_RESULT_REFERENCE = 0x73; // [APPLICATION 19]
const EQUALITY_MATCH = 0xa3; // Filter [3] AttributeValueAssertion
const PRESENT = 0x87; // Filter [7] AttributeDescription

/**
 * The largest answer read. One entry holds every group of a user: at a hundred bytes a group
 * DN, room for a couple of thousand.
 */
export const MAX_SEARCH_MESSAGE_BYTES = 256 * 1024;

const enc = new TextEncoder();

/**
 * What is looked for, and its `want` values: the entry named `base` itself (`filter` "any"),
 * or the entry below `base` whose `attribute` equals `value`.
 */
export interface EntrySearch {
  readonly base: string;
  readonly filter: "any" | { readonly attribute: string; readonly value: string };
  readonly want: string;
  /** Asked of the server (it stops there); the gateway still counts. */
  readonly timeLimitSeconds: number;
}

/**
 * A SearchRequest: `base` alone (`(objectClass=*)`) or its subtree, aliases not followed, at
 * most two entries (so a second match shows the filter is not unique), values not just types.
 */
export function searchRequest(messageId: number, search: EntrySearch): Uint8Array {
  const f = search.filter;
  return constructed(SEQUENCE, [
    integer(messageId),
    constructed(SEARCH_REQUEST, [
      tlv(OCTET_STRING, enc.encode(search.base)),
      integer(f === "any" ? 0 : 2, ENUMERATED), // baseObject or wholeSubtree
      integer(0, ENUMERATED), // neverDerefAliases
      integer(2), // sizeLimit
      integer(search.timeLimitSeconds),
      tlv(BOOLEAN, Uint8Array.of(0)), // typesOnly FALSE
      f === "any"
        ? tlv(PRESENT, enc.encode("objectClass"))
        : constructed(EQUALITY_MATCH, [tlv(OCTET_STRING, enc.encode(f.attribute)), tlv(OCTET_STRING, enc.encode(f.value))]),
      constructed(SEQUENCE, [tlv(OCTET_STRING, enc.encode(search.want))]),
    ]),
  ]);
}

/** One answer to a search. */
export type SearchAnswer =
  | { readonly kind: "entry"; readonly messageId: number; readonly dn: string; readonly attributes: ReadonlyMap<string, readonly string[]> }
  /** A continuation reference (another server may hold more): not followed. */
  | { readonly kind: "reference"; readonly messageId: number }
  | { readonly kind: "done"; readonly messageId: number; readonly result: LdapResult };

const dec = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads one answer from the start of `bytes`: "incomplete" until it is all there. Attribute
 * names are given in lower case, as they came (with any options, `memberOf;range=0-1499`).
 * @throws {Error} for malformed BER or UTF-8, a message over {@link MAX_SEARCH_MESSAGE_BYTES},
 * a Notice of Disconnection, or anything but a search answer
 */
export function readSearchAnswer(bytes: Uint8Array): { readonly answer: SearchAnswer; readonly size: number } | "incomplete" {
  const message = readLdapMessage(bytes, MAX_SEARCH_MESSAGE_BYTES);
  if (message === "incomplete") return message;
  const { messageId, op, size } = message;
  switch (op.tag) {
    case SEARCH_RESULT_DONE:
      return { answer: { kind: "done", messageId, result: readLdapResult(op.value, "SearchResultDone") }, size };
    case SEARCH_RESULT_REFERENCE:
      return { answer: { kind: "reference", messageId }, size };
    case SEARCH_RESULT_ENTRY: {
      const [name, list] = children(op.value);
      if (!name || name.tag !== OCTET_STRING || !list || list.tag !== SEQUENCE) throw new Error("LDAP: a SearchResultEntry without a name and attributes");
      const attributes = new Map<string, string[]>();
      for (const attr of children(list.value)) {
        const [type, vals] = attr.tag === SEQUENCE ? children(attr.value) : [];
        if (!type || type.tag !== OCTET_STRING || !vals || vals.tag !== SET) throw new Error("LDAP: a malformed attribute in a SearchResultEntry");
        const values = children(vals.value).map((v) => {
          if (v.tag !== OCTET_STRING) throw new Error("LDAP: an attribute value that is not an OCTET STRING");
          return dec.decode(v.value);
        });
        const key = dec.decode(type.value).toLowerCase();
        // added in place: a copy per repeat would cost the square of the repeats (28,000 in one message)
        const known = attributes.get(key);
        if (known) for (const v of values) known.push(v);
        else attributes.set(key, values);
      }
      return { answer: { kind: "entry", messageId, dn: dec.decode(name.value), attributes }, size };
    }
    default:
      throw new Error(`LDAP: expected a search answer, got tag 0x${op.tag.toString(16)}`);
  }
}
