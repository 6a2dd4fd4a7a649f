/**
 * Response and request-body helpers of the admin API: JSON answers and errors
 * (`{error, issues?}`), and JSON bodies read with a size limit.
 *
 * @module
 */
import { JsonSyntaxError, parseJson } from "../config/json.ts";

/** Largest request body the admin API reads by default: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Headers on every JSON answer. */
const JSON_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

/** A JSON response (pretty-printed: the admin API is read by people with curl, too). */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body, null, 2) + "\n", { status, headers: { ...JSON_HEADERS, ...headers } });
}

/** A JSON error `{error, issues?}`. */
export function jsonError(
  status: number,
  error: string,
  headers: Record<string, string> = {},
  issues?: readonly unknown[],
): Response {
  return jsonResponse(status, issues === undefined ? { error } : { error, issues }, headers);
}

/** A request the admin API refuses: status and message (see {@linkcode jsonError}). */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * Reads a request body as JSON, at most `maxBytes` bytes (413 beyond, announced by
 * `Content-Length` or not), with the strict config JSON parser (duplicate keys and deep
 * nesting refused: 400). An empty body is a 400 too.
 *
 * @throws {HttpError} 400 or 413
 */
export async function readJsonBody(request: Request, maxBytes: number = DEFAULT_MAX_BODY_BYTES): Promise<unknown> {
  const announced = request.headers.get("content-length");
  if (announced !== null && Number(announced) > maxBytes) throw new HttpError(413, `request body larger than ${maxBytes} bytes`);
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (request.body !== null) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new HttpError(413, `request body larger than ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, "request body is not UTF-8");
  }
  if (text.trim() === "") throw new HttpError(400, "expected a JSON body, got an empty body");
  try {
    return parseJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new HttpError(400, `invalid JSON: ${e.message}`);
    throw e;
  }
}
