/**
 * LDAPv3 simple bind (RFC 4511 §4.2): the request, the unbind that ends a session, and a
 * sans-IO reader of the server's answer.
 * @module
 */
import { constructed, integer, tlv } from "./ber.ts";
import { type LdapResult, readLdapMessage, readLdapResult } from "./ldap-message.ts";

const SEQUENCE = 0x30;
const BIND_REQUEST = 0x60; // [APPLICATION 0] constructed
const BIND_RESPONSE = 0x61; // [APPLICATION 1] constructed
const UNBIND_REQUEST = 0x42; // [APPLICATION 2] primitive NULL
const SIMPLE = 0x80; // [0] simple password
const OCTET_STRING = 0x04;

/** The largest answer read: a bind response is a result code and two short strings. */
export const MAX_LDAP_MESSAGE_BYTES = 64 * 1024;

const enc = new TextEncoder();

/** A simple BindRequest for `name` (a DN, or what the server takes for one) and `password`. */
export function bindRequest(messageId: number, name: string, password: string): Uint8Array {
  return constructed(SEQUENCE, [
    integer(messageId),
    constructed(BIND_REQUEST, [integer(3), tlv(OCTET_STRING, enc.encode(name)), tlv(SIMPLE, enc.encode(password))]),
  ]);
}

/** An UnbindRequest: the polite end of a session. */
export function unbindRequest(messageId: number): Uint8Array {
  return constructed(SEQUENCE, [integer(messageId), tlv(UNBIND_REQUEST, new Uint8Array(0))]);
}

/** A server's answer to a bind: `resultCode` 0 is success, 49 invalidCredentials (RFC 4511 Appendix A). */
export interface BindResult extends LdapResult {
  readonly messageId: number;
}

/**
 * Reads one LDAPMessage from the start of `bytes`: "incomplete" until it is all there.
 * @throws {Error} for malformed BER, a message over {@link MAX_LDAP_MESSAGE_BYTES}, a
 * Notice of Disconnection, or anything but a BindResponse
 */
export function readBindResult(bytes: Uint8Array): { readonly result: BindResult; readonly size: number } | "incomplete" {
  const message = readLdapMessage(bytes, MAX_LDAP_MESSAGE_BYTES);
  if (message === "incomplete") return message;
  const { messageId, op, size } = message;
  if (op.tag !== BIND_RESPONSE) throw new Error(`LDAP: expected a BindResponse, got tag 0x${op.tag.toString(16)}`);
  return { result: { messageId, ...readLdapResult(op.value, "BindResponse") }, size };
}

/**
 * `value` escaped for an attribute value in a DN (RFC 4514 §2.4), so a user name cannot add
 * RDNs or attributes to the DN it is put in.
 */
export function escapeDnValue(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === "\x00") out += "\\00";
    else if ('\\,+"<>;='.includes(c) || ((c === " " || c === "#") && i === 0) || (c === " " && i === value.length - 1)) out += `\\${c}`;
    else out += c;
  }
  return out;
}
