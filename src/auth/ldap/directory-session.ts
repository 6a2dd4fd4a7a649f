/**
 * One short session with an LDAP directory: a connection opened within a deadline, requests
 * written under consecutive message IDs, a simple bind, and the end (an unbind, then the
 * connection closed, nothing waiting for it). What the session does in between is the
 * caller's: a user's password check (`directory.ts`) or the reading of a certificate user's
 * groups as the gateway's own account (`certificate-groups.ts`).
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { LdapAnswers } from "./answers.ts";
import { type BindResult, bindRequest, readBindResult, unbindRequest } from "./bind-message.ts";
import type { Ask } from "./user-groups.ts";

/** Opens a connection to the directory (TLS already negotiated for `ldaps://`). */
export type DirectoryDial = (signal: AbortSignal) => Promise<Conn>;

/** The directory did not answer usefully: not the client's failure (503, not counted). */
export class DirectoryUnavailableError extends Error {
  override name = "DirectoryUnavailableError";
}

/** Result codes that mean the server, not the credentials, is the problem (RFC 4511 Appendix A). */
export const SERVER_TROUBLE: ReadonlySet<number> = new Set([1 /* operationsError */, 51 /* busy */, 52 /* unavailable */, 80 /* other */]);

/** An open session: where requests go and answers come from; `signal` ends at the deadline. */
export interface DirectorySession {
  readonly ask: Ask;
  readonly answers: LdapAnswers;
  readonly signal: AbortSignal;
  /** A simple bind as `name` (the first request of the session). */
  bind(name: string, password: string): Promise<BindResult>;
}

/**
 * Opens a session with the directory at `url` (for messages) through `dial`, runs `work` in
 * it, and ends it, all within `timeoutMs` (at the deadline the connection is closed, so a
 * read or write under way fails).
 * @throws {DirectoryUnavailableError} when the directory cannot be reached; what `work` throws otherwise
 */
export async function inDirectorySession<T>(url: string, dial: DirectoryDial, timeoutMs: number, work: (session: DirectorySession) => Promise<T>): Promise<T> {
  const signal = AbortSignal.timeout(timeoutMs);
  let conn: Conn;
  try {
    conn = await dial(signal);
  } catch (e) {
    throw new DirectoryUnavailableError(`cannot reach the directory ${url}: ${errorText(e, signal)}`);
  }
  const onAbort = () => conn.close();
  signal.addEventListener("abort", onAbort, { once: true });
  if (signal.aborted) onAbort();
  const writer = conn.writable.getWriter();
  const answers = new LdapAnswers(conn.readable.getReader());
  let nextId = 1;
  const ask: Ask = async (request) => {
    const id = nextId++;
    await writer.write(request(id));
    return id;
  };
  const bind = async (name: string, password: string): Promise<BindResult> => {
    const id = await ask((messageId) => bindRequest(messageId, name, password));
    const result = await answers.next(readBindResult, (p) => p.result);
    if (result.messageId !== id) throw new Error(`an answer to message ${result.messageId}, not to the bind`);
    return result;
  };
  try {
    return await work({ ask, answers, signal, bind });
  } finally {
    signal.removeEventListener("abort", onAbort);
    // an unbind, then the end of the connection (RFC 4511 §4.3); nothing waits for it
    writer.write(unbindRequest(nextId)).then(() => writer.close()).catch(() => {}).finally(() => {
      answers.cancel();
      conn.close();
    });
  }
}

/** What went wrong, or "timed out" once the session's deadline has passed. */
export function errorText(e: unknown, signal: AbortSignal): string {
  if (signal.aborted) return "timed out";
  return e instanceof Error ? e.message : String(e);
}

/** A bind's result as said in messages: `result 49 (…diagnostic…)`. */
export function bindResultText(result: BindResult): string {
  return `result ${result.resultCode}${result.diagnosticMessage ? ` (${result.diagnosticMessage})` : ""}`;
}
