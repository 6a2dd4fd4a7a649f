/**
 * The envelope of every LDAP answer (RFC 4511 §4.1.1): `LDAPMessage ::= SEQUENCE { messageID,
 * protocolOp }`, read sans-IO, and the `LDAPResult` most operations end with. A Notice of
 * Disconnection (an unsolicited ExtendedResponse, message ID 0) throws with what it said.
 * @module
 */
import { children, readInteger, readTlv, type Tlv } from "./ber.ts";

const SEQUENCE = 0x30;
const EXTENDED_RESPONSE = 0x78; // [APPLICATION 24]: messageID 0 is a Notice of Disconnection
const OCTET_STRING = 0x04;
const ENUMERATED = 0x0a;

/** One LDAPMessage: its ID and its operation (tag and value). */
export interface LdapMessage {
  readonly messageId: number;
  readonly op: Tlv;
  /** Bytes the message took. */
  readonly size: number;
}

/** An operation's outcome: `resultCode` 0 is success, 49 invalidCredentials (RFC 4511 Appendix A). */
export interface LdapResult {
  readonly resultCode: number;
  readonly diagnosticMessage: string;
}

/**
 * Reads one LDAPMessage from the start of `bytes`: "incomplete" until it is all there.
 * @throws {Error} for malformed BER, a message over `maxBytes`, or a Notice of Disconnection
 */
export function readLdapMessage(bytes: Uint8Array, maxBytes: number): LdapMessage | "incomplete" {
  const message = readTlv(bytes, maxBytes);
  if (!message) return "incomplete";
  if (message.tag !== SEQUENCE) throw new Error(`LDAP: expected a message (SEQUENCE), got tag 0x${message.tag.toString(16)}`);
  const [id, op] = children(message.value);
  if (!id || id.tag !== 0x02 || !op) throw new Error("LDAP: a message without an ID and an operation");
  const messageId = readInteger(id.value);
  if (op.tag === EXTENDED_RESPONSE && messageId === 0) {
    const result = readLdapResult(op.value, "Notice of Disconnection");
    throw new Error(`LDAP: the server is closing the connection (${resultText(result)})`);
  }
  return { messageId, op, size: message.size };
}

/**
 * The LDAPResult at the start of an operation's fields (code, matched DN, message).
 * @throws {Error} naming `what` when they are not there
 */
export function readLdapResult(value: Uint8Array, what: string): LdapResult {
  const [code, , diagnostic] = children(value);
  if (!code || code.tag !== ENUMERATED || !diagnostic || diagnostic.tag !== OCTET_STRING) throw new Error(`LDAP: a ${what} without a result code and message`);
  return { resultCode: readInteger(code.value), diagnosticMessage: new TextDecoder().decode(diagnostic.value).slice(0, 200) };
}

/** `result 49` or `result 49: the message`, for errors and log lines. */
export function resultText(result: LdapResult): string {
  return `result ${result.resultCode}${result.diagnosticMessage ? `: ${result.diagnosticMessage}` : ""}`;
}
