/**
 * Temporary directories for tests that are removed when the test process exits, so that a
 * suite run leaves nothing in the system's temp directory (a CI machine runs it many times).
 *
 * @module
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made: string[] = [];
let hooked = false;

function removeAll(): void {
  for (const dir of made.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort: the process is ending
    }
  }
}

/**
 * A new directory `<tmp>/<prefix>XXXXXX`, removed with everything in it when the process
 * exits (or earlier with `rmSync`, which is harmless).
 *
 * @example
 * ```ts
 * const dir = tempDir("tollgate-pki-");
 * ```
 */
export function tempDir(prefix: string): string {
  if (!hooked) {
    process.on("exit", removeAll);
    // `deno test` ends without the process "exit" event but with the global "unload" one
    globalThis.addEventListener?.("unload", removeAll);
    hooked = true;
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
