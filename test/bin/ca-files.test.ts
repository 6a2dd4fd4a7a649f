import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeCaFiles } from "../../src/bin/ca-files.ts";

function inTempDir(fn: (dir: string) => void): () => void {
  return () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-ca-files-"));
    try {
      fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

describe("nodeCaFiles", () => {
  it("creates files with exactly the requested mode", inTempDir((dir) => {
    nodeCaFiles.writeFile(join(dir, "k"), "secret", { mode: 0o600, replace: false });
    nodeCaFiles.writeFile(join(dir, "c"), "public", { mode: 0o644, replace: false });
    assert.equal(statSync(join(dir, "k")).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, "c")).mode & 0o777, 0o644);
    assert.equal(readFileSync(join(dir, "k"), "utf8"), "secret");
  }));

  it("refuses an existing file or symlink without replace", inTempDir((dir) => {
    const path = join(dir, "k");
    writeFileSync(path, "old");
    assert.throws(() => nodeCaFiles.writeFile(path, "new", { mode: 0o600, replace: false }), { code: "EEXIST" });
    assert.equal(readFileSync(path, "utf8"), "old");
    const target = join(dir, "target");
    const link = join(dir, "link");
    symlinkSync(target, link);
    assert.ok(nodeCaFiles.exists(link));
    assert.throws(() => nodeCaFiles.writeFile(link, "new", { mode: 0o600, replace: false }), { code: "EEXIST" });
    assert.equal(nodeCaFiles.exists(target), false);
  }));

  it("replaces by rename, leaving no temporary file and none of the old mode", inTempDir((dir) => {
    const path = join(dir, "k");
    writeFileSync(path, "old", { mode: 0o666 });
    nodeCaFiles.writeFile(path, "new", { mode: 0o600, replace: true });
    assert.equal(readFileSync(path, "utf8"), "new");
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ["k"]);
  }));

  it("makes nested directories and reads text", inTempDir((dir) => {
    const nested = join(dir, "a", "b");
    nodeCaFiles.makeDirectory(nested);
    nodeCaFiles.makeDirectory(nested);
    assert.ok(statSync(nested).isDirectory());
    writeFileSync(join(nested, "t"), "héllo");
    assert.equal(nodeCaFiles.readText(join(nested, "t")), "héllo");
    assert.equal(nodeCaFiles.exists(join(nested, "missing")), false);
  }));
});
