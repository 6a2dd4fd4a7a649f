/**
 * Round-trip fuzzer for HTTP/1.1 framing: what the gateway sends on must be read by a strict
 * next hop as the gateway meant it. Generated request streams (absolute-form, for the explicit
 * proxy) and upstream response streams — mostly messages the gateway forwards in the forms it
 * must normalize (`http-roundtrip-gen.ts`), else from the generators of `http-framing.ts`, a
 * share byte-mutated, cut into writes at random — go through the real flow
 * (`http-roundtrip-gateway.ts`: `handleExplicit` over the in-memory harness of the tests; the
 * client an HTTP/1.1 or HTTP/1.0 one). The bytes the gateway sent to the origin (requests) or
 * to the client (responses) are then read by Node's llhttp in strict mode, and must be:
 *
 * - never refused, and never cut short unless the message the gateway read was itself cut
 *   short or broken (the gateway then closes the connection);
 * - message after message what Tollgate's parsers read from the input
 *   (`http-framing-tollgate.ts`): the same method, origin-form target (as the gateway rewrites
 *   it), status, body bytes and trailer fields (less the ones the gateway drops), with no
 *   message more and none left out without the gateway answering the client itself.
 *
 * Explained, not failures: a method llhttp does not know (any token is one, RFC 9110 §9.1);
 * a message the gateway read cut short or broken, of which it passed on a part (a chunk size
 * line before its end was validated, say) and then closed or reset the connection.
 *
 * Any failure is a case where a strict next hop reads the gateway's output differently from
 * the gateway. Exits 1 when there is one.
 *
 *   bun scripts/fuzz/http-roundtrip.ts [--count 20000] [--seed 1] [--side request,response] [--examples 2] [--mutate 0.25]
 *   deno run -A scripts/fuzz/http-roundtrip.ts [same options]
 *
 * Deterministic: case i depends only on the seed, i and `--mutate`. Needs `node` on the PATH.
 *
 * @module
 */
import process from "node:process";
import { decodeLatin1, encodeLatin1 } from "../../src/core/bytes.ts";
import { HeaderList } from "../../src/protocol/http-headers.ts";
import { allowedTrailers } from "../../src/protocol/trailer-fields.ts";
import { genRequest, genResponse, mutateBytes, Rng } from "./http-framing-gen.ts";
import { genForwardableRequest, genForwardableResponse } from "./http-roundtrip-gen.ts";
import { type Outcome, type ParsedMessage, tollgateRequests, tollgateResponses } from "./http-framing-tollgate.ts";
import { type GatewayRun, requestsThroughGateway, responsesThroughGateway } from "./http-roundtrip-gateway.ts";
import { fuzzOptions } from "./_fuzz-options.ts";
import { reference, type ReferenceInput } from "./llhttp-batch.ts";

const BATCH = 2000;
const PARALLEL = 32;

/** One case: the input stream, where it is cut into writes, and for responses the requests they answer. */
interface RoundTripCase {
  readonly side: "request" | "response";
  readonly text: string;
  readonly cuts: readonly number[];
  readonly methods: readonly string[];
  /** The version of the client's requests in a response case (an HTTP/1.0 one gets no 1xx and no chunks). */
  readonly version: "HTTP/1.1" | "HTTP/1.0";
}

const AUTHORITIES = ["http://origin.test", "http://origin.test", "http://origin.test:80", "http://a", "HTTP://ORIGIN.TEST"];

function cutsFor(r: Rng, length: number): number[] {
  if (r.chance(0.5)) return [];
  return Array.from({ length: 1 + r.int(3) }, () => r.int(length + 1)).sort((a, b) => a - b);
}

/**
 * Case `index`: 1-3 pipelined requests or responses, mostly ones the gateway forwards
 * (`http-roundtrip-gen.ts`), else from the quirkier generators of `http-framing.ts`; requests
 * in absolute form, a share byte-mutated.
 */
function genRoundTrip(seed: number, index: number, side: "request" | "response", mutate: number): RoundTripCase {
  const r = new Rng((seed * 0x9e3779b1 + index * 0x85ebca77 + (side === "request" ? 0x165667b1 : 0x27d4eb2f)) >>> 0);
  const tame = r.chance(0.6);
  const count = r.pick([1, 1, 2, 2, 2, 3]);
  let text = "";
  const methods: string[] = [];
  for (let i = 0; i < count; i++) {
    if (side === "response") {
      const method = r.usually("GET", 0.4, ["HEAD", "POST", "HEAD"]);
      methods.push(method);
      text += tame ? genForwardableResponse(r, method) : genResponse(r);
    } else if (tame) {
      text += genForwardableRequest(r, r.pick(AUTHORITIES));
    } else {
      // origin-form targets become absolute URIs: this is an explicit proxy
      // deno-lint-ignore no-control-regex -- the odd spaces the generator puts after a method
      text += genRequest(r).replace(/^([^\r\n \t\x0b\x0c/]*[ \t\x0b\x0c]+)\//, `$1${r.pick(AUTHORITIES)}/`);
    }
  }
  if (side === "response") methods.push("GET", "GET"); // more requests than answers: the gateway answers the rest
  if (r.chance(mutate)) text = mutateBytes(r, text);
  const version = side === "response" && r.chance(0.15) ? "HTTP/1.0" : "HTTP/1.1";
  return { side, text, methods, version, cuts: cutsFor(r, text.length) };
}

/** The client's pipelined requests for a response case: one per method, a POST with an empty body. */
function clientRequests(c: RoundTripCase): string {
  const extra = (m: string) => `${m === "POST" ? "Content-Length: 0\r\n" : ""}${c.version === "HTTP/1.0" ? "Connection: keep-alive\r\n" : ""}`;
  return c.methods.map((m, i) => `${m} http://origin.test/${i} ${c.version}\r\nHost: origin.test\r\n${extra(m)}\r\n`).join("");
}

interface Finding {
  readonly key: string;
  readonly note: string;
}

type Fields = readonly (readonly [string, string])[];
const ows = (s: string): string => s.replace(/^[ \t]+|[ \t]+$/g, "");
const sameFields = (a: Fields, b: Fields): boolean =>
  a.length === b.length && a.every(([n, v], i) => n.toLowerCase() === b[i]?.[0].toLowerCase() && ows(v) === ows(b[i]?.[1] ?? ""));
/** The trailer fields the gateway passes on of those it read. */
const passedTrailers = (m: ParsedMessage): Fields => allowedTrailers(new HeaderList(m.trailers)).entries;
const show = (v: unknown): string => JSON.stringify(v).slice(0, 200);
/** An error text without its quoted input and numbers, to group by. */
const shape = (error = ""): string => error.replace(/"(?:[^"\\]|\\.)*"…?/g, "…").replace(/\d+/g, "N").slice(0, 120);
/** The gateway's own answers (errors, refusals) have no Via; interim ones it relays neither. */
const relayed = (m: ParsedMessage): boolean => m.status < 200 || m.headers.some(([n, v]) => n.toLowerCase() === "via" && /tollgate/.test(v));
const EXTENSION_METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Tollgate's read of the input ended at this message, cut short or broken: the gateway may have sent part of it. */
const brokenAt = (tg: Outcome, at: number): boolean => tg.messages.length === at && (tg.end === "incomplete" || tg.end === "error");

/** Messages compared, all cases. */
let compared = 0;

/**
 * What differs between a message the gateway sent (as llhttp read it) and the one it read (as
 * Tollgate did). `dechunked`: a chunked body went on decoded, without its trailers.
 */
function differs(sent: ParsedMessage, read: ParsedMessage, side: "request" | "response", dechunked = false): Finding | undefined {
  compared++;
  const want = side === "request"
    ? { method: read.method, target: read.path ?? "", version: "HTTP/1.1", body: read.body }
    : { status: read.status, version: "HTTP/1.1", body: read.body };
  for (const [k, v] of Object.entries(want)) {
    const got = sent[k as keyof typeof want];
    if (got !== v) return { key: `${k} differs`, note: `sent ${show(got)}, meant ${show(v)}` };
  }
  const trailers = dechunked ? [] : passedTrailers(read);
  if (!sameFields(sent.trailers, trailers)) return { key: "trailers differ", note: `sent ${show(sent.trailers)}, meant ${show(trailers)}` };
  return undefined;
}

/** Requests: the origin's connections as llhttp read them, against Tollgate's read of the client's stream. */
function checkRequests(c: RoundTripCase, ups: readonly Outcome[], answers: Outcome): Finding | { explained: string } | undefined {
  const tg = tollgateRequests(encodeLatin1(c.text));
  const sent: ParsedMessage[] = [];
  let explained: string | undefined;
  for (const [k, up] of ups.entries()) {
    sent.push(...up.messages);
    if (up.end !== "error" && up.end !== "incomplete") continue;
    // RFC 9110 §9.1: any token is a method (llhttp knows a list); the origin answers 501
    const method = tg.messages[sent.length]?.method ?? "";
    if (up.error?.startsWith("HPE_INVALID_METHOD") && EXTENSION_METHOD.test(method)) return { explained: "extension method" };
    if (k !== ups.length - 1 || !brokenAt(tg, sent.length)) return { key: `origin got ${up.end}: ${up.error ?? ""}`, note: `after ${sent.length} messages` };
    explained = `broken request cut short (llhttp ${up.end})`;
  }
  if (sent.length > tg.messages.length) return { key: "more requests sent than read", note: `sent ${sent.length}, read ${tg.messages.length}` };
  for (const [i, s] of sent.entries()) {
    const d = differs(s, tg.messages[i] as ParsedMessage, "request");
    if (d !== undefined) return { key: d.key, note: `request ${i}: ${d.note}` };
  }
  if (answers.end === "error") return { key: `client got error: ${answers.error ?? ""}`, note: "" };
  const last = sent.at(-1);
  const stopped = last !== undefined && (last.upgrade || !tg.messages[sent.length - 1]?.keepAlive);
  if (sent.length < tg.messages.length && !stopped && answers.messages.every(relayed)) {
    return { key: "request left out, unanswered", note: `sent ${sent.length} of ${tg.messages.length}` };
  }
  return explained === undefined ? undefined : { explained };
}

/** Responses: the client's stream as llhttp read it, against Tollgate's read of the origin's stream. */
function checkResponses(c: RoundTripCase, got: Outcome, reset: boolean): Finding | { explained: string } | undefined {
  const read = tollgateResponses(encodeLatin1(c.text), c.methods);
  // RFC 9110 §15.2: no interim response goes to an HTTP/1.0 client
  const old = c.version === "HTTP/1.0";
  const tg = old ? { ...read, messages: read.messages.filter((m) => m.status >= 200 || m.status === 101) } : read;
  // a body the gateway could not read to its end: it passed on what it had, then closed
  const cut = got.messages.every(relayed) && brokenAt(tg, got.messages.length);
  // (a close-delimited answer, as an HTTP/1.0 client gets a chunked one, that ended in a reset)
  const last = got.messages.length - 1;
  if (reset && got.end === "clean" && got.messages.every(relayed) && brokenAt(tg, last) && got.messages[last]?.keepAlive === false) {
    for (let i = 0; i < last; i++) {
      const d = differs(got.messages[i] as ParsedMessage, tg.messages[i] as ParsedMessage, "response", old);
      if (d !== undefined) return { key: d.key, note: `response ${i}: ${d.note}` };
    }
    return { explained: "broken response cut short (reset)" };
  }
  if (got.end === "error" && !cut) return { key: `client got error: ${got.error ?? ""}`, note: `after ${got.messages.length} messages` };
  const own = got.messages.findIndex((m) => !relayed(m));
  if (own >= 0 && own !== got.messages.length - 1) return { key: "gateway answer before relayed ones", note: `at ${own}` };
  const passed = own >= 0 ? own : got.messages.length;
  if (passed > tg.messages.length) return { key: "more responses relayed than read", note: `relayed ${passed}, read ${tg.messages.length}` };
  for (let i = 0; i < passed; i++) {
    const d = differs(got.messages[i] as ParsedMessage, tg.messages[i] as ParsedMessage, "response", old);
    if (d !== undefined) return { key: d.key, note: `response ${i}: ${d.note}` };
  }
  if (got.end === "incomplete" || got.end === "error") {
    return cut ? { explained: `broken response cut short (llhttp ${got.end})` } : { key: `client got incomplete: ${got.error ?? ""}`, note: "" };
  }
  const closed = got.messages[passed - 1]?.keepAlive === false;
  if (own < 0 && passed < tg.messages.length && !closed) return { key: "response left out, unanswered", note: `relayed ${passed} of ${tg.messages.length}` };
  return undefined;
}

/** Runs `fn` over `items` with at most `n` at a time, results in order. */
async function pool<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

function through(c: RoundTripCase): Promise<GatewayRun> {
  const bytes = encodeLatin1(c.text);
  return c.side === "request" ? requestsThroughGateway(bytes, c.cuts) : responsesThroughGateway(encodeLatin1(clientRequests(c)), bytes, c.cuts);
}

/** The streams llhttp reads for a case: each origin connection (requests), or what the client got. */
function toRead(c: RoundTripCase, run: GatewayRun): ReferenceInput[] {
  const methods = c.side === "request" ? tollgateRequests(encodeLatin1(c.text)).messages.map((m) => m.method) : c.methods;
  const answers: ReferenceInput = { kind: "response", text: decodeLatin1(run.client), methods };
  if (c.side === "response") return [answers];
  return [...run.upstream.map((u): ReferenceInput => ({ kind: "request", text: decodeLatin1(u), methods: [] })), answers];
}

interface Group {
  count: number;
  examples: { text: string; sent: string; note: string }[];
}

async function main(): Promise<void> {
  const { count, seed, sides, keep, mutate } = fuzzOptions();
  const groups = new Map<string, Group>();
  const explained = new Map<string, number>();
  let passed = 0;
  let ran = 0;
  const started = Date.now();
  for (const side of sides) {
    for (let start = 0; start < count; start += BATCH) {
      const cases = Array.from({ length: Math.min(BATCH, count - start) }, (_, i) => genRoundTrip(seed, start + i, side, mutate));
      const runs = await pool(cases, PARALLEL, through);
      const reads = cases.map((c, i) => toRead(c, runs[i] as GatewayRun));
      const outcomes = await reference(reads.flat());
      let at = 0;
      cases.forEach((c, i) => {
        ran++;
        const run = runs[i] as GatewayRun;
        const mine = outcomes.slice(at, at + (reads[i]?.length ?? 0));
        at += reads[i]?.length ?? 0;
        const answers = mine.pop() as Outcome;
        const result: Finding | { explained: string } | undefined = run.problem !== undefined
          ? { key: `flow ${shape(run.problem)}`, note: run.problem.slice(0, 300) }
          : side === "request" ? checkRequests(c, mine, answers) : checkResponses(c, answers, run.clientReset);
        if (result === undefined) return void passed++;
        if ("explained" in result) return void explained.set(result.explained, (explained.get(result.explained) ?? 0) + 1);
        const id = `${side}: ${result.key}`;
        const g = groups.get(id) ?? { count: 0, examples: [] };
        groups.set(id, g);
        g.count++;
        const sent = side === "request" ? run.upstream.map(decodeLatin1).join(" | ") : decodeLatin1(run.client);
        g.examples.push({ text: c.text, sent, note: result.note });
        g.examples.sort((x, y) => x.text.length - y.text.length).splice(keep);
      });
    }
  }
  const cut = (s: string): string => JSON.stringify(s.length > 600 ? `${s.slice(0, 600)}…` : s);
  for (const [id, g] of [...groups].sort(([, x], [, y]) => y.count - x.count)) {
    console.log(`\n${id}  (${g.count})`);
    for (const ex of g.examples) console.log(`  in:   ${cut(ex.text)}\n  sent: ${cut(ex.sent)}\n    ${ex.note}`);
  }
  const why = [...explained].map(([w, n]) => `${n} ${w}`).join(", ") || "none";
  console.log(`\n${ran} cases (seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s): ${passed} read as meant (${compared} messages compared), ${why} explained`);
  const failed = [...groups.values()].reduce((n, g) => n + g.count, 0);
  console.log(failed === 0 ? "every forwarded message read by llhttp as the gateway meant it" : `${failed} failing cases in ${groups.size} groups`);
  process.exitCode = failed === 0 ? 0 : 1;
}

await main();
