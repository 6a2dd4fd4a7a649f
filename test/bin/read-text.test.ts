import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTextFile } from "../../src/bin/read-text.ts";

describe("readTextFile", () => {
  it("reads a regular file; refuses a directory, a FIFO and a device at once, without blocking or filling memory", () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-read-"));
    try {
      writeFileSync(join(dir, "list.txt"), "a.test\nb.test\n");
      assert.equal(readTextFile(join(dir, "list.txt")), "a.test\nb.test\n");
      assert.throws(() => readTextFile(dir), /not a regular file/);
      execFileSync("mkfifo", [join(dir, "fifo")]);
      assert.throws(() => readTextFile(join(dir, "fifo")), /not a regular file/, "a FIFO no one writes to");
      assert.throws(() => readTextFile("/dev/zero"), /not a regular file/, "an endless device");
      assert.throws(() => readTextFile(join(dir, "missing")), (e: unknown) => (e as { code?: string }).code === "ENOENT");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
