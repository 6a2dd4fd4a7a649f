import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { openLogFile } from "../../src/bin/log-file.ts";
import { tempDir } from "../helpers/temp-dir.ts";

async function settled(path: string, want: string): Promise<string> {
  const end = Date.now() + 5000;
  for (;;) {
    const text = existsSync(path) ? readFileSync(path, "utf8") : ""; // the file is opened asynchronously
    if (text === want || Date.now() > end) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("openLogFile", () => {
  it("appends, reopens at the path after a rename, and drops writes after close", async () => {
    const path = join(tempDir("tollgate-logfile-"), "flows.jsonl");
    const errors: string[] = [];
    const log = openLogFile(path, (m) => errors.push(m));
    log.write("a\n");
    await settled(path, "a\n");
    renameSync(path, `${path}.1`);
    log.reopen();
    log.write("b\n");
    log.close();
    log.write("c\n");
    log.reopen(); // no effect once closed
    log.write("d\n");
    assert.equal(await settled(`${path}.1`, "a\n"), "a\n");
    assert.equal(await settled(path, "b\n"), "b\n");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(readFileSync(path, "utf8"), "b\n", "nothing written after close");
    assert.deepEqual(errors, []);
  });
});
