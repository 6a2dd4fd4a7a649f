/**
 * The reference side of `http-framing.ts`: Node's own HTTP/1.1 parser (llhttp, strict mode —
 * no lenient flags) run over byte streams. Run by Node, not Bun or Deno (they do not carry
 * llhttp): reads one JSON case a line on stdin, writes one JSON result a line on stdout.
 *
 *   case:   {"kind": "request", "data": "<base64>"}
 *           {"kind": "response", "data": "<base64>", "methods": ["GET", "HEAD", ...]}
 *   result: {"messages": [{method, target, status, version, headers, body, trailers, keepAlive, upgrade}],
 *            "end": "clean" | "incomplete" | "error" | "upgrade", "error"?: "HPE_… reason"}
 *
 * Bodies and header values are latin1 strings. A response stream answers `methods` in order;
 * 1xx responses other than 101 answer no request of their own. The end of the input is the
 * end of the stream (`finish()`), which completes a close-delimited response.
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import { createInterface } from "node:readline";

const { HTTPParser, allMethods: methods } = process.binding("http_parser");

/** @param {{kind: string, data: string, methods?: string[]}} input */
function run(input) {
  const bytes = Buffer.from(input.data, "base64");
  const response = input.kind === "response";
  const asked = input.methods ?? [];
  const parser = new HTTPParser();
  const messages = [];
  let answered = 0;
  let pendingHeaders = [];
  let pendingUrl = "";
  /** @type {Record<string, unknown> | undefined} */
  let current;
  let body = [];
  let upgraded = false;
  parser[HTTPParser.kOnMessageBegin] = () => {};
  parser[HTTPParser.kOnHeaders] = (headers, url) => {
    pendingHeaders.push(...headers);
    pendingUrl += url;
  };
  parser[HTTPParser.kOnHeadersComplete] = (major, minor, headers, method, url, status, _reason, upgrade, keepAlive) => {
    const fields = headers ?? pendingHeaders;
    const pairs = [];
    for (let i = 0; i + 1 < fields.length; i += 2) pairs.push([fields[i], fields[i + 1]]);
    current = {
      method: response ? (asked[answered] ?? "GET") : methods[method],
      target: response ? "" : (url ?? pendingUrl),
      status: response ? status : 0,
      version: `HTTP/${major}.${minor}`,
      headers: pairs,
      keepAlive,
      upgrade,
    };
    pendingHeaders = [];
    pendingUrl = "";
    body = [];
    if (!response) return 0;
    // as Node's client: no body after an interim or HEAD answer (llhttp leaves that to its
    // user), and stop at an upgrade or a 2xx to CONNECT
    if (status >= 100 && status < 200 && status !== 101) return 1;
    const asks = asked[answered];
    answered++;
    if (upgrade || (asks === "CONNECT" && status >= 200 && status < 300)) return 2;
    return asks === "HEAD" ? 1 : 0;
  };
  parser[HTTPParser.kOnBody] = (chunk) => {
    body.push(Buffer.from(chunk));
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    // field lines flushed after the head are a chunked body's trailer section (as in Node's _http_common)
    const trailers = [];
    for (let i = 0; i + 1 < pendingHeaders.length; i += 2) trailers.push([pendingHeaders[i], pendingHeaders[i + 1]]);
    pendingHeaders = [];
    pendingUrl = "";
    if (current === undefined) return;
    messages.push({ ...current, body: Buffer.concat(body).toString("latin1"), trailers });
    if (current.upgrade) upgraded = true;
    current = undefined;
  };
  parser[HTTPParser.kOnExecute] = () => {};
  parser.initialize(response ? HTTPParser.RESPONSE : HTTPParser.REQUEST, {}, 0, HTTPParser.kLenientNone);
  const ret = parser.execute(bytes);
  if (ret instanceof Error) return { messages, end: "error", error: `${ret.code} ${ret.reason}` };
  if (upgraded) return { messages, end: "upgrade" };
  // Node's binding returns no Error once the head asked for an upgrade, only the bytes it took
  if (ret < bytes.length) return { messages, end: "error", error: "HPE_UNKNOWN error in an upgrade request (Node hides the code)" };
  const fin = parser.finish();
  if (fin instanceof Error) return { messages, end: "incomplete", error: `${fin.code} ${fin.reason}` };
  return { messages, end: current === undefined && ret === bytes.length ? "clean" : "incomplete" };
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = [];
for await (const line of lines) {
  if (line === "") continue;
  let result;
  try {
    result = run(JSON.parse(line));
  } catch (e) {
    result = { messages: [], end: "error", error: `reference crashed: ${e instanceof Error ? e.message : String(e)}` };
  }
  out.push(JSON.stringify(result));
  if (out.length >= 256) process.stdout.write(`${out.splice(0).join("\n")}\n`);
}
if (out.length > 0) process.stdout.write(`${out.join("\n")}\n`);
