/**
 * Reading a file the config names (certificates, keys, templates, host lists, password
 * files, the config itself): a regular file only, and not past a size no such file comes
 * near. A FIFO would block the process until someone writes to it, and a device such as
 * `/dev/zero` would fill memory; either could be named by a mistake, or through `PUT
 * /policy` by anyone holding the admin token.
 * @module
 */
import { readFileSync, statSync } from "node:fs";

/** The largest file read: above the largest host list accepted (128 Mi characters). */
export const MAX_FILE_BYTES = 512 * 1024 * 1024;

/**
 * The text of the file at `path` (UTF-8).
 *
 * @throws {Error} when it cannot be read, is not a regular file, or is larger than {@link MAX_FILE_BYTES}
 */
export function readTextFile(path: string): string {
  // stat, not open: opening a FIFO blocks until a writer comes
  const stat = statSync(path);
  if (!stat.isFile()) throw new Error("not a regular file");
  if (stat.size > MAX_FILE_BYTES) throw new Error(`${stat.size} bytes, more than the ${MAX_FILE_BYTES} read at most`);
  return readFileSync(path, "utf8");
}
