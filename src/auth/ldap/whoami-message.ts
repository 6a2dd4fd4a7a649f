/**
 * LDAP "Who am I?" (RFC 4532): after a bind, the server says whom it authenticated, as an
 * authorization identity: `dn:uid=alice,ou=people,…` (OpenLDAP) or `u:CORP\alice` (Active
 * Directory). The user's groups are read from that identity, not from the name typed.
 * @module
 */
import { children, constructed, integer, tlv } from "./ber.ts";
import { type LdapResult, readLdapMessage, readLdapResult } from "./ldap-message.ts";

const SEQUENCE = 0x30;
const EXTENDED_REQUEST = 0x77; // [APPLICATION 23]
const EXTENDED_RESPONSE = 0x78; // [APPLICATION 24]
const REQUEST_NAME = 0x80; // [0] LDAPOID
const RESPONSE_VALUE = 0x8b; // [11] OCTET STRING
const WHO_AM_I = "1.3.6.1.4.1.4203.1.11.3";

/** An authorization identity is a DN or a user name, well under this. */
export const MAX_WHOAMI_MESSAGE_BYTES = 16 * 1024;

/** A "Who am I?" ExtendedRequest. */
export function whoAmIRequest(messageId: number): Uint8Array {
  return constructed(SEQUENCE, [integer(messageId), constructed(EXTENDED_REQUEST, [tlv(REQUEST_NAME, new TextEncoder().encode(WHO_AM_I))])]);
}

/** The answer: the result, and the authorization identity ("" when none was sent: anonymous). */
export interface WhoAmIResult extends LdapResult {
  readonly messageId: number;
  readonly authzId: string;
}

/**
 * Reads the answer from the start of `bytes`: "incomplete" until it is all there.
 * @throws {Error} for malformed BER or UTF-8, a message over {@link MAX_WHOAMI_MESSAGE_BYTES},
 * a Notice of Disconnection, or anything but an ExtendedResponse
 */
export function readWhoAmI(bytes: Uint8Array): { readonly result: WhoAmIResult; readonly size: number } | "incomplete" {
  const message = readLdapMessage(bytes, MAX_WHOAMI_MESSAGE_BYTES);
  if (message === "incomplete") return message;
  const { messageId, op, size } = message;
  if (op.tag !== EXTENDED_RESPONSE) throw new Error(`LDAP: expected an ExtendedResponse, got tag 0x${op.tag.toString(16)}`);
  const value = children(op.value).find((f) => f.tag === RESPONSE_VALUE)?.value;
  const authzId = value === undefined ? "" : new TextDecoder("utf-8", { fatal: true }).decode(value);
  return { result: { messageId, ...readLdapResult(op.value, "ExtendedResponse"), authzId }, size };
}
