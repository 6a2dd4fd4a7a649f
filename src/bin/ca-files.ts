/**
 * The `node:fs` implementation of {@link CaFiles} (Bun and Deno both provide `node:fs`).
 * @module
 */
import { closeSync, fchmodSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { readTextFile } from "./read-text.ts";
import type { CaFiles } from "../cli/ca.ts";

/** Create `path` exclusively (O_CREAT|O_EXCL, so no existing file or symlink is followed) with `mode`, write, sync. */
function createExclusive(path: string, data: string, mode: number): void {
  const fd = openSync(path, "wx", mode);
  try {
    // The umask may have narrowed the mode; set it exactly (never wider than asked).
    fchmodSync(fd, mode);
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * `CaFiles` on the local file system. New files are opened with their final mode, so a
 * private key is never readable by others, not even while it is written; a replaced
 * file is written under a temporary name in the same directory and renamed over the old
 * one (the old file's wider mode is never reused).
 *
 * @example
 * ```ts
 * await caCommand(args, { files: nodeCaFiles, stdout, stderr });
 * ```
 */
export const nodeCaFiles: CaFiles = {
  exists(path) {
    try {
      lstatSync(path);
      return true;
    } catch {
      return false;
    }
  },
  makeDirectory(path) {
    mkdirSync(path, { recursive: true, mode: 0o755 });
  },
  writeFile(path, data, { mode, replace }) {
    if (!replace) {
      createExclusive(path, data, mode);
      return;
    }
    const temporary = `${path}.${crypto.randomUUID()}.tmp`;
    try {
      createExclusive(temporary, data, mode);
      renameSync(temporary, path);
    } catch (e) {
      try {
        unlinkSync(temporary);
      } catch {
        // already renamed or never created
      }
      throw e;
    }
  },
  readText(path) {
    return readTextFile(path);
  },
};
