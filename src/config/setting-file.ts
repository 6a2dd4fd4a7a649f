/**
 * Reading a file a config setting names, with errors that name the setting and the path:
 * the config check, the start and every reload report the same text.
 *
 * @module
 */
import { decodePem } from "../pki/pem.ts";

/** Longest CA bundle read (a system bundle of every public root is about 220 KB). */
const MAX_BUNDLE_LENGTH = 16 * 1024 * 1024;

/** Reads the file a config setting names (relative to the config); runtime-specific. */
export type ReadText = (path: string) => string;

/**
 * The text of the file `path` that setting `what` names.
 *
 * @throws {Error} `cannot read <what> "<path>": ENOENT`
 */
export function readSetting(readText: ReadText, what: string, path: string): string {
  try {
    return readText(path);
  } catch (e) {
    throw new Error(`cannot read ${what} "${path}": ${(e as { code?: string }).code ?? String(e)}`);
  }
}

/**
 * The text of a CA bundle `path` that setting `what` names: PEM with at least one
 * `CERTIFICATE`. A file that holds none (an HTML error page saved by a download, a key, the
 * wrong file) would be passed to a TLS stack that ignores it (Deno) or fails every handshake
 * with an error naming no file (Bun): it is refused here, where the file can be named.
 *
 * @throws {Error} when the file cannot be read, is not PEM, or holds no certificate
 */
export function readCaBundle(readText: ReadText, what: string, path: string): string {
  const text = readSetting(readText, what, path);
  let labels: string[];
  try {
    labels = decodePem(text, MAX_BUNDLE_LENGTH).map((b) => b.label);
  } catch (e) {
    throw new Error(`${what} "${path}": ${(e as Error).message}`);
  }
  if (!labels.includes("CERTIFICATE")) {
    const found = labels.length === 0 ? "no PEM block" : `only ${[...new Set(labels)].join(", ")}`;
    throw new Error(`${what} "${path}": expected PEM CA certificates (-----BEGIN CERTIFICATE-----), found ${found}`);
  }
  return text;
}
