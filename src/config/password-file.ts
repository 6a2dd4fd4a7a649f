/**
 * A password kept in a file of its own (`passwordFile` settings: a parent proxy's, the
 * directory reader's), read at start and at every reload so a rotated secret takes effect
 * on reload. One trailing newline is not part of the password.
 * @module
 */

/**
 * The password in `path`; `field` names the setting in the error.
 * @throws {Error} `cannot read FIELD "PATH": ENOENT` (the error code, not the message)
 */
export function readPasswordFile(readText: (path: string) => string, field: string, path: string): string {
  try {
    return readText(path).replace(/\r?\n$/, "");
  } catch (e) {
    throw new Error(`cannot read ${field} "${path}": ${(e as { code?: string }).code ?? String(e)}`);
  }
}
