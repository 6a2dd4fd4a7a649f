/**
 * Fuzz targets for what comes before relayed bytes: the SOCKS5 exchange (both sides) and the
 * PROXY protocol header. Like `targets.ts`, each reduces a run to a comparable outcome; only
 * the documented errors (`SocksError` with a reply code, `ProxyHeaderError`) become outcomes.
 *
 * @module
 */
import {
  parseCredentials,
  parseCredentialsAnswer,
  parseGreeting,
  parseMethodChoice,
  parseReply,
  parseRequest,
  type Parsed,
  SocksError,
  SocksMessageReader,
  SocksReply,
} from "../../src/protocol/socks5.ts";
import { parseSocks4Request } from "../../src/protocol/socks4.ts";
import { MAX_V1_BYTES, type ProxyHeader, ProxyHeaderError, ProxyHeaderReader } from "../../src/protocol/proxy-header.ts";
import { type Limits, OracleError, type Outcome } from "./targets.ts";

const REPLY_CODES = new Set<number>(Object.values(SocksReply));
const USER_PASS = 0x02;
const NO_ACCEPTABLE = 0xff;

/** A message step: its parser, and the next step given what it parsed (none: done). */
interface Step {
  readonly name: string;
  readonly parse: (b: Uint8Array) => Parsed<unknown>;
  readonly next: (value: unknown) => Step | undefined;
}

const request: Step = { name: "request", parse: parseRequest, next: () => undefined };
const credentials: Step = { name: "credentials", parse: parseCredentials, next: () => request };
/**
 * What a SOCKS listener reads: a SOCKS4(a) request when the first byte is 4 (as the listener
 * tells them apart), else the SOCKS5 greeting, credentials when the client offers them, request.
 */
const SERVER: Step = {
  name: "greeting",
  parse: (b) => (b.length > 0 && b[0] === 0x04 ? parseSocks4Request(b) : parseGreeting(b)),
  next: (g) => ("userId" in (g as object) ? undefined : (g as { methods: number[] }).methods.includes(USER_PASS) ? credentials : request),
};
const reply: Step = { name: "reply", parse: parseReply, next: () => undefined };
const answer: Step = { name: "credentials-answer", parse: parseCredentialsAnswer, next: (ok) => (ok ? reply : undefined) };
/** What a gateway reads from a SOCKS5 parent: method choice, credentials answer after method 2, reply (none after 0xff or a refused sign-in). */
const CLIENT: Step = {
  name: "method-choice",
  parse: parseMethodChoice,
  next: (m) => (m === USER_PASS ? answer : m === NO_ACCEPTABLE ? undefined : reply),
};

/** Runs a chain of messages over the pieces, each step's reader taking what the last left. */
function runSteps(first: Step, pieces: readonly Uint8Array[]): { key: string; values: unknown[]; end?: number } {
  const values: unknown[] = [];
  let step: Step | undefined = first;
  let reader = new SocksMessageReader(first.parse);
  let offset = 0;
  let taken = 0; // stream offset where the current reader's bytes begin
  try {
    for (const piece of pieces) {
      offset += piece.length;
      let chunk = piece;
      while (step) {
        const value = reader.push(chunk);
        if (value === undefined) break;
        const rest = reader.rest();
        if (rest.length > offset - taken) throw new OracleError(`rest() has ${rest.length} bytes, more than were pushed`);
        taken = offset - rest.length;
        values.push(value);
        step = step.next(value);
        if (!step) break;
        reader = new SocksMessageReader(step.parse);
        chunk = rest;
        if (chunk.length === 0) break;
      }
      if (!step) return { key: `${JSON.stringify(values)} end ${taken}`, values, end: taken };
    }
    return { key: `${JSON.stringify(values)} incomplete ${step?.name}`, values };
  } catch (e) {
    if (!(e instanceof SocksError)) throw e;
    if (!REPLY_CODES.has(e.reply) || e.reply === SocksReply.succeeded) throw new OracleError(`SocksError with reply code ${e.reply}`);
    if (e.message.length === 0) throw new OracleError("SocksError without a message");
    return { key: `${JSON.stringify(values)}\nerror ${step?.name} ${e.reply} ${e.message}`, values };
  }
}

/** What the two sides of a SOCKS5 exchange parsed, for a seed's check. */
export interface SocksParsed {
  readonly server?: { readonly values: readonly unknown[]; readonly end: number };
  readonly client?: { readonly values: readonly unknown[]; readonly end: number };
}

/**
 * The SOCKS5 exchange read by both sides from the same bytes: a server's (greeting,
 * credentials, request) and a gateway's from its SOCKS5 parent (method choice, credentials
 * answer, reply). An input counts as accepted or rejected by the side that got furthest.
 */
export function runSocks(pieces: readonly Uint8Array[], _limits: Limits): Outcome {
  const server = runSteps(SERVER, pieces);
  const client = runSteps(CLIENT, pieces);
  const done = (r: ReturnType<typeof runSteps>) => (r.end === undefined ? undefined : { values: r.values, end: r.end });
  const parsed: SocksParsed = { ...(done(server) ? { server: done(server) } : {}), ...(done(client) ? { client: done(client) } : {}) };
  // the side with more messages parsed leads the key, so its error (if any) is what the stats count
  const [lead, other] = client.values.length > server.values.length ? [`client ${client.key}`, `server ${server.key}`] : [`server ${server.key}`, `client ${client.key}`];
  const key = `${other.replace(/\n/g, " ")}\n${lead}`;
  return parsed.server || parsed.client ? { key, first: parsed, end: (parsed.server ?? parsed.client)!.end } : { key };
}

/** PROXY protocol headers (v1 and v2) and what follows them. */
export function runProxy(pieces: readonly Uint8Array[], limits: Limits): Outcome {
  const reader = new ProxyHeaderReader({ maxV2Bytes: limits.maxProxyV2Bytes });
  let header: ProxyHeader | undefined;
  let offset = 0;
  try {
    for (const piece of pieces) {
      offset += piece.length;
      header = reader.push(piece);
      if (header) break;
    }
  } catch (e) {
    if (!(e instanceof ProxyHeaderError)) throw e;
    if (e.message.length === 0) throw new OracleError("ProxyHeaderError without a message");
    // the message quotes the bytes received so far, which differ with the split
    return { key: `error ${e.message.replace(/got "(?:[^"\\]|\\.)*"/, "got …")}` };
  }
  if (!header) return { key: "incomplete" };
  const end = offset - reader.rest().length;
  if (end !== header.length) throw new OracleError(`header.length ${header.length} but it ended at ${end}`);
  if (header.version === 1 && header.length > MAX_V1_BYTES) throw new OracleError(`a v1 header of ${header.length} bytes`);
  if (header.version === 2 && header.length > limits.maxProxyV2Bytes) throw new OracleError(`a v2 header of ${header.length} bytes over the limit ${limits.maxProxyV2Bytes}`);
  const { tlvs, ...rest } = header;
  return { key: `${JSON.stringify(rest)} ${JSON.stringify(tlvs.map((t) => [t.type, [...t.value]]))}`, first: header, end };
}
