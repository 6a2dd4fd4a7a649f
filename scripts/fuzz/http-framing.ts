/**
 * Differential fuzzer for HTTP/1.1 message framing (request smuggling / response desync):
 * generated and mutated byte streams of pipelined requests (and of upstream responses) go to
 * Tollgate's parsers (`http-framing-tollgate.ts`) and to Node's llhttp in strict mode
 * (`llhttp-reference.mjs`, run by `node`), and every disagreement is reported, grouped:
 *
 * - `desync`: both accept but delimit a message differently (method, target, version,
 *   status, body), or one has a complete message where the other waits for more bytes;
 * - `lenient`: Tollgate accepts a message llhttp rejects (a smuggling candidate unless listed
 *   as a known, harmless difference);
 * - `waits`: Tollgate still waits for bytes where llhttp has rejected;
 * - `stricter`: Tollgate rejects what llhttp accepts (fine, unless RFC 9112 says otherwise);
 * - `fields`: same boundaries, different field lines;
 * - `crash`: Tollgate threw something other than an HttpParseError.
 *
 * Comparison stops after a message either side ends the connection with (not keep-alive,
 * CONNECT, Upgrade, 101). Exits 1 when `desync`, `lenient` or `crash` has a case that no known
 * difference explains.
 *
 *   bun scripts/fuzz/http-framing.ts [--count 20000] [--seed 1] [--side request,response] [--examples 2] [--mutate 0.25]
 *   deno run -A scripts/fuzz/http-framing.ts [same options]
 *
 * `--count` cases per side; `--mutate` is the share of cases also mutated byte by byte after
 * they are built. Deterministic: case i depends only on the seed, i and `--mutate`. Needs
 * `node` on the PATH.
 *
 * @module
 */
import process from "node:process";
import { decodeLatin1, encodeLatin1 } from "../../src/core/bytes.ts";
import { ChunkedDecoder } from "../../src/protocol/chunked.ts";
import { FORBIDDEN_TRAILER_FIELDS } from "../../src/protocol/trailer-fields.ts";
import { genCase } from "./http-framing-gen.ts";
import { type Outcome, type ParsedMessage, tollgateRequests, tollgateResponses } from "./http-framing-tollgate.ts";
import { fuzzOptions } from "./_fuzz-options.ts";
import { reference } from "./llhttp-batch.ts";

const BATCH = 4000;

/** A disagreement: its class, a key to group like ones by, and a note. */
interface Finding {
  readonly kind: "desync" | "lenient" | "waits" | "stricter" | "fields" | "crash";
  readonly key: string;
  readonly note: string;
}

const KEYS = ["method", "target", "version", "status", "body"] as const;
const ows = (s: string): string => s.replace(/^[ \t]+|[ \t]+$/g, "");
type Fields = readonly (readonly [string, string])[];
const sameFields = (a: Fields, b: Fields): boolean => a.length === b.length && a.every(([n, v], i) => n === b[i]?.[0] && ows(v) === ows(b[i]?.[1] ?? ""));
/** Tollgate's message text without its quoted input and numbers, to group errors by. */
const shape = (error = ""): string => error.replace(/"(?:[^"\\]|\\.)*"…?/g, "…").replace(/\d+/g, "N");
const EXTENSION_METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const FORBIDDEN_TRAILERS = new Set(FORBIDDEN_TRAILER_FIELDS);

/** True when `raw` starts with a chunked body that decodes to `body` (or, with `body` undefined, is the start of one). */
function decodesTo(raw: string, body: string | undefined): boolean {
  try {
    const r = new ChunkedDecoder().push(encodeLatin1(raw));
    return body === undefined ? !r.done : r.done && r.data.map(decodeLatin1).join("") === body;
  } catch {
    return false;
  }
}
const values = (m: ParsedMessage, name: string): string[] => m.headers.filter(([n]) => n.toLowerCase() === name).flatMap(([, v]) => v.split(","));

/**
 * Messages Tollgate accepts and llhttp refuses, for a reason that cannot desync what is past
 * the gateway, because the gateway does not pass on what llhttp objects to:
 * - a method llhttp does not know: RFC 9110 §9.1 allows any token (the origin answers 501);
 *   "PRI" is one too, in HTTP/1.x (llhttp expects the HTTP/2 preface after it);
 * - a Content-Length list or repeated field of one value (RFC 9110 §8.6 allows it), or one
 *   with OWS llhttp does not strip ("4\t"): the gateway sends one Content-Length, the number;
 * - framing fields in a trailer section: the gateway drops them from requests
 *   (trailer-fields.ts), and does not frame by them (llhttp may then take the connection for
 *   closed);
 * - a Transfer-Encoding value with OWS llhttp does not strip ("chunked\t"): the gateway sends
 *   the codings it parsed, not the field as it came.
 */
function known(f: Finding, tg: Outcome, ref: Outcome, at: number): string | undefined {
  const msg = tg.messages[at];
  const theirs = ref.messages[at];
  if (f.kind === "desync" && theirs !== undefined && (msg !== undefined || tg.end === "incomplete")) {
    // llhttp (whose values come trimmed) read to the close the chunked body the gateway read, or waits for
    const te = values(theirs, "transfer-encoding").at(-1) ?? "";
    if (ows(te).toLowerCase() === "chunked" && !theirs.keepAlive && decodesTo(theirs.body, msg?.body)) return "Transfer-Encoding OWS";
    // … or, in an upgrade request, did not take for chunked, so the upgrade starts after the head
    if (ows(te).toLowerCase() === "chunked" && theirs.upgrade && theirs.body === "" && msg !== undefined && msg.body !== "") return "Transfer-Encoding OWS";
  }
  if (f.kind !== "lenient" || msg === undefined) return undefined;
  const forbiddenIn = (m: ParsedMessage | undefined): boolean => m?.trailers.some(([n]) => FORBIDDEN_TRAILERS.has(n.toLowerCase())) ?? false;
  const forbidden = forbiddenIn(msg);
  // llhttp lets a trailer's framing field end the connection after that message
  if (f.key.startsWith("HPE_CLOSED_CONNECTION") && forbiddenIn(tg.messages[at - 1])) return "framing field in trailers";
  if (f.key.startsWith("HPE_INVALID_METHOD") && EXTENSION_METHOD.test(msg.method)) return "extension method";
  if (f.key.includes("HTTP/2 Connection Preface") && msg.method === "PRI") return "PRI method";
  if (/Content-Length/.test(f.key) && values(msg, "content-length").length > 1) return "Content-Length of one repeated value";
  if (/Invalid character in Content-Length/.test(f.key) && values(msg, "content-length").length === 1) return "Content-Length OWS";
  // (in an upgrade request, Node's binding hides which error llhttp had)
  if (/Content-Length|Transfer-Encoding|^HPE_UNKNOWN/.test(f.key) && forbidden) return "framing field in trailers";
  if (f.key.startsWith("HPE_INVALID_TRANSFER_ENCODING") && values(msg, "transfer-encoding").map(ows).at(-1)?.toLowerCase() === "chunked") return "Transfer-Encoding OWS";
  return undefined;
}

function compare(tg: Outcome, ref: Outcome): { finding: Finding; at: number } | undefined {
  if (tg.end === "crash") return { finding: { kind: "crash", key: shape(tg.error), note: tg.error ?? "" }, at: tg.messages.length };
  let fieldDiff: { finding: Finding; at: number } | undefined;
  for (let i = 0; ; i++) {
    const a = tg.messages[i];
    const b = ref.messages[i];
    if (a !== undefined && b !== undefined) {
      const key = KEYS.find((k) => a[k] !== b[k]);
      if (key !== undefined) return { finding: { kind: "desync", key: `${key} differs`, note: `tollgate ${JSON.stringify(a[key])} llhttp ${JSON.stringify(b[key])}` }, at: i };
      if (fieldDiff === undefined && !sameFields(a.headers, b.headers)) {
        fieldDiff = { finding: { kind: "fields", key: "field lines differ", note: `tollgate ${JSON.stringify(a.headers)} llhttp ${JSON.stringify(b.headers)}` }, at: i };
      }
      if (fieldDiff === undefined && !sameFields(a.trailers, b.trailers)) {
        fieldDiff = { finding: { kind: "fields", key: "trailer fields differ", note: `tollgate ${JSON.stringify(a.trailers)} llhttp ${JSON.stringify(b.trailers)}` }, at: i };
      }
      if (a.upgrade || b.upgrade || !a.keepAlive || !b.keepAlive) return fieldDiff;
      continue;
    }
    if (a !== undefined) {
      if (ref.end === "error") return { finding: { kind: "lenient", key: ref.error ?? "", note: `llhttp: ${ref.error}` }, at: i };
      return { finding: { kind: "desync", key: `tollgate complete, llhttp ${ref.end}`, note: "" }, at: i };
    }
    if (b !== undefined) {
      if (tg.end === "error") return { finding: { kind: "stricter", key: shape(tg.error), note: tg.error ?? "" }, at: i };
      return { finding: { kind: "desync", key: `llhttp complete, tollgate ${tg.end}`, note: "" }, at: i };
    }
    if ((tg.end === "error") === (ref.end === "error")) return fieldDiff;
    if (tg.end === "error") return { finding: { kind: "stricter", key: shape(tg.error), note: tg.error ?? "" }, at: i };
    const kind = tg.end === "incomplete" ? "waits" : "lenient";
    return { finding: { kind, key: ref.error ?? "", note: `llhttp: ${ref.error}; tollgate ${tg.end}` }, at: i };
  }
}

const escape = (s: string): string => JSON.stringify(s.length > 600 ? `${s.slice(0, 600)}…` : s);

interface Group {
  readonly finding: Finding;
  count: number;
  examples: { text: string; methods: readonly string[]; note: string }[];
}

async function main(): Promise<void> {
  const { count, seed, sides, keep, mutate } = fuzzOptions();
  const groups = new Map<string, Group>();
  const explained = new Map<string, number>();
  let agreed = 0;
  let ran = 0;
  for (const side of sides) {
    for (let start = 0; start < count; start += BATCH) {
      const cases = Array.from({ length: Math.min(BATCH, count - start) }, (_, i) => genCase(seed, start + i, side, mutate));
      const refs = await reference(cases);
      cases.forEach((c, i) => {
        ran++;
        const bytes = encodeLatin1(c.text);
        const tg = side === "request" ? tollgateRequests(bytes) : tollgateResponses(bytes, c.methods);
        const diff = compare(tg, refs[i] as Outcome);
        if (diff === undefined) return void agreed++;
        const why = known(diff.finding, tg, refs[i] as Outcome, diff.at);
        if (why !== undefined) return void explained.set(why, (explained.get(why) ?? 0) + 1);
        const id = `${side} ${diff.finding.kind}: ${diff.finding.key}`;
        const g = groups.get(id) ?? { finding: diff.finding, count: 0, examples: [] };
        groups.set(id, g);
        g.count++;
        g.examples.push({ text: c.text, methods: c.methods, note: diff.finding.note });
        g.examples.sort((x, y) => x.text.length - y.text.length).splice(keep);
      });
    }
  }
  const order = ["crash", "desync", "lenient", "waits", "stricter", "fields"];
  const sorted = [...groups.entries()].sort(([, x], [, y]) => order.indexOf(x.finding.kind) - order.indexOf(y.finding.kind) || y.count - x.count);
  for (const [id, g] of sorted) {
    console.log(`\n${id}  (${g.count})`);
    for (const ex of g.examples) console.log(`  ${escape(ex.text)}${ex.methods.length > 2 ? `  methods ${ex.methods.slice(0, -2).join(",")}` : ""}\n    ${ex.note.slice(0, 300)}`);
  }
  console.log(`\n${ran} cases (seed ${seed}): ${agreed} agree, ${[...explained].map(([w, n]) => `${n} ${w}`).join(", ") || "none"} explained`);
  const bad = sorted.filter(([, g]) => g.finding.kind === "crash" || g.finding.kind === "desync" || g.finding.kind === "lenient");
  console.log(bad.length === 0 ? "no unexplained desync, lenient or crash" : `${bad.reduce((n, [, g]) => n + g.count, 0)} unexplained desync/lenient/crash cases in ${bad.length} groups`);
  process.exitCode = bad.length === 0 ? 0 : 1;
}

await main();
