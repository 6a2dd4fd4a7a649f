import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { LOG_RETRY_MS, openLogFile } from "../../src/bin/log-file.ts";
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

  it("a failure drops lines for a while, then the file is opened again: the log goes on once the path works", async () => {
    // the log directory is not there yet (a volume mounted late)
    const dir = join(tempDir("tollgate-logfile-"), "later");
    const path = join(dir, "flows.jsonl");
    const errors: string[] = [];
    let t = 0;
    const log = openLogFile(path, (m) => errors.push(m), () => t);
    log.write("lost-1\n");
    for (const end = Date.now() + 3000; errors.length === 0 && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
    assert.match(errors[0] ?? "", /(ENOENT|No such file).*lines are dropped, and the file opened again 1 s from now/);
    log.write("lost-2\n");
    log.write("lost-3\n");
    mkdirSync(dir); // the problem goes away
    t += LOG_RETRY_MS;
    log.write("kept-1\n");
    log.write("kept-2\n");
    assert.equal(await settled(path, "kept-1\nkept-2\n"), "kept-1\nkept-2\n");
    // lost-1, which the file never took, and the two written while it was failing
    assert.deepEqual(errors.slice(1), ["3 lines dropped since the file failed; opening it again"]);
    log.close();
  });

  it("a file that keeps failing (a full disk) is tried again each second and each loss reported", async () => {
    const errors: string[] = [];
    let t = 0;
    const log = openLogFile("/dev/full", (m) => errors.push(m), () => t);
    const failures = () => errors.filter((e) => /ENOSPC|No space left/.test(e)).length;
    for (let round = 0; round < 3; round++) {
      log.write(`line-${round}\n`);
      for (const end = Date.now() + 3000; failures() === round && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
      log.write("dropped\n");
      t += LOG_RETRY_MS;
    }
    log.close();
    assert.equal(failures(), 3, JSON.stringify(errors));
    // each round: the line the full disk refused, and the one written while it was failing
    assert.deepEqual(errors.filter((e) => /^2 lines dropped since the file failed/.test(e)).length, 2, JSON.stringify(errors));
  });
});
