import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CaCommandIo, type CaFiles, caCommand, sha256Fingerprint } from "../../src/cli/ca.ts";
import { nodeCaFiles } from "../../src/bin/ca-files.ts";
import { loadCa } from "../../src/pki/mod.ts";
import { decodePem } from "../../src/pki/pem.ts";

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(args: string[], files: CaFiles = nodeCaFiles, configFromEnv?: string): Promise<Run> {
  let out = "";
  let err = "";
  const io: CaCommandIo = { files, stdout: (t) => void (out += t), stderr: (t) => void (err += t), configFromEnv };
  const code = await caCommand(args, io);
  return { code, out, err };
}

function withTempDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-ca-test-"));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const mode = (path: string) => statSync(path).mode & 0o777;

async function fingerprintOf(certPath: string): Promise<string> {
  const [block] = decodePem(readFileSync(certPath, "utf8"));
  assert.ok(block !== undefined);
  return await sha256Fingerprint(block.der);
}

describe("tollgate ca init", () => {
  it("writes ca.key (0600) and ca.pem (0644) and prints paths, subject and fingerprint, never the key", withTempDir(async (dir) => {
    const out = join(dir, "nested", "ca");
    const r = await run(["init", "--out", out, "--cn", "Test Gateway CA", "--days", "30"]);
    assert.equal(r.err, "");
    assert.equal(r.code, 0);
    const certPath = `${out}/ca.pem`;
    const keyPath = `${out}/ca.key`;
    assert.equal(mode(keyPath), 0o600);
    assert.equal(mode(certPath), 0o644);
    const certPem = readFileSync(certPath, "utf8");
    const keyPem = readFileSync(keyPath, "utf8");
    const ca = await loadCa({ certPem, keyPem });
    assert.equal(ca.certificate.subject, "CN=Test Gateway CA");
    assert.equal(ca.keyDescription, "ECDSA P-256");
    const days = (ca.notAfter.getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 29 && days <= 30, String(days));

    const fingerprint = await fingerprintOf(certPath);
    assert.match(fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.ok(r.out.includes(`SHA-256 fingerprint: ${fingerprint}`), r.out);
    assert.ok(r.out.includes(certPath));
    assert.ok(r.out.includes(keyPath));
    assert.ok(r.out.includes("CN=Test Gateway CA"));
    assert.ok(r.out.includes(`"ca": {"cert": ${JSON.stringify(certPath)}, "key": ${JSON.stringify(keyPath)}}`), r.out);
    assert.ok(!r.out.includes("PRIVATE KEY"));
    const keyBody = keyPem.split("\n")[1] ?? "";
    assert.ok(keyBody.length > 20 && !r.out.includes(keyBody));
  }));

  it("refuses to overwrite without --force and replaces with it", withTempDir(async (dir) => {
    assert.equal((await run(["init", "--out", dir])).code, 0);
    const keyPath = join(dir, "ca.key");
    const certPath = join(dir, "ca.pem");
    const before = readFileSync(keyPath, "utf8");
    const again = await run(["init", "--out", dir]);
    assert.equal(again.code, 1);
    assert.equal(again.out, "");
    assert.match(again.err, /already exist; use --force to replace/);
    assert.equal(readFileSync(keyPath, "utf8"), before);

    // one file is enough to refuse
    rmSync(certPath);
    const one = await run(["init", "--out", dir]);
    assert.equal(one.code, 1);
    assert.match(one.err, /ca\.key" already exists/);

    // --force replaces a world-readable key with a new file created 0600
    writeFileSync(keyPath, "old", { mode: 0o644 });
    const oldInode = statSync(keyPath).ino;
    const forced = await run(["init", "--out", dir, "--force"]);
    assert.equal(forced.code, 0, forced.err);
    assert.notEqual(readFileSync(keyPath, "utf8"), "old");
    assert.equal(mode(keyPath), 0o600);
    assert.equal(mode(certPath), 0o644);
    assert.notEqual(statSync(keyPath).ino, oldInode);
  }));

  it("makes an RSA CA with --rsa", withTempDir(async (dir) => {
    const r = await run(["init", `--out=${dir}`, "--rsa"]);
    assert.equal(r.code, 0, r.err);
    const ca = await loadCa({ certPem: readFileSync(join(dir, "ca.pem"), "utf8"), keyPem: readFileSync(join(dir, "ca.key"), "utf8") });
    assert.match(ca.keyDescription, /^RSA/);
    assert.match(r.out, /\(RSA/);
    assert.ok(!r.out.includes("PRIVATE KEY"));
  }));

  it("asks the file layer for the right modes and the default directory", async () => {
    const writes: [string, number, boolean][] = [];
    const dirs: string[] = [];
    const files: CaFiles = {
      exists: () => false,
      makeDirectory: (path) => void dirs.push(path),
      writeFile: (path, _data, options) => void writes.push([path, options.mode, options.replace]),
      readText: () => assert.fail("not expected"),
    };
    const r = await run(["init"], files);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(dirs, ["./tollgate-ca"]);
    assert.deepEqual(writes, [["./tollgate-ca/ca.key", 0o600, false], ["./tollgate-ca/ca.pem", 0o644, false]]);
  });

  it("reports write failures and usage errors on stderr with a non-zero exit", async () => {
    const failing: CaFiles = {
      exists: () => false,
      makeDirectory: () => {
        throw Object.assign(new Error("permission denied, mkdir '/root/x'"), { code: "EACCES" });
      },
      writeFile: () => assert.fail("not expected"),
      readText: () => assert.fail("not expected"),
    };
    const r = await run(["init", "--out", "/root/x"], failing);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    assert.match(r.err, /^tollgate: cannot write the CA files: permission denied, mkdir '\/root\/x' \(EACCES\)\n$/);

    for (const args of [["init", "--days", "ten"], ["init", "--days", "0"], ["init", "--out"], ["init", "--bogus"], ["init", "--cn", "x".repeat(65)], ["nope"], []]) {
      const u = await run(args, failing);
      assert.equal(u.code, 2, args.join(" "));
      assert.equal(u.out, "");
      assert.match(u.err, /^tollgate ca: .+\n\nUsage:\n/, args.join(" "));
    }
  });
});

describe("tollgate ca export", () => {
  it("prints only the configured CA certificate", withTempDir(async (dir) => {
    assert.equal((await run(["init", "--out", dir])).code, 0);
    const certPath = join(dir, "ca.pem");
    const config = join(dir, "gateway.json");
    writeFileSync(config, JSON.stringify({ ca: { cert: certPath, key: join(dir, "ca.key") } }));
    const r = await run(["export", "--config", config]);
    assert.equal(r.err, "");
    assert.equal(r.code, 0);
    assert.equal(r.out, readFileSync(certPath, "utf8"));
    assert.match(r.out, /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    assert.ok(!r.out.includes("PRIVATE KEY"));
    // the environment variable works as --config
    assert.equal((await run(["export"], nodeCaFiles, config)).out, r.out);
    // a relative path is relative to the config file, not the working directory
    writeFileSync(config, JSON.stringify({ ca: { cert: "ca.pem", key: "ca.key" } }));
    const relative = await run(["export", "--config", config]);
    assert.equal(relative.err, "");
    assert.equal(relative.out, r.out);
  }));

  it("strips a private key bundled into the certificate file, with a warning", withTempDir(async (dir) => {
    assert.equal((await run(["init", "--out", dir])).code, 0);
    const bundle = join(dir, "bundle.pem");
    const certPem = readFileSync(join(dir, "ca.pem"), "utf8");
    writeFileSync(bundle, readFileSync(join(dir, "ca.key"), "utf8") + certPem);
    const config = join(dir, "gateway.json");
    writeFileSync(config, JSON.stringify({ ca: { cert: bundle, key: join(dir, "ca.key") } }));
    const r = await run(["export", `--config=${config}`]);
    assert.equal(r.code, 0);
    assert.equal(r.out, certPem);
    assert.match(r.err, /warning: .* also holds a private key/);
  }));

  it("fails clearly without a usable config or CA", withTempDir(async (dir) => {
    const none = await run(["export"]);
    assert.equal(none.code, 2);
    assert.match(none.err, /no config given/);

    const missing = await run(["export", "--config", join(dir, "missing.json")]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /cannot read config file .*missing\.json.*ENOENT/);

    const noCa = join(dir, "no-ca.json");
    writeFileSync(noCa, "{}");
    const r = await run(["export", "--config", noCa]);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    assert.match(r.err, /has no "ca" section; run "tollgate ca init"/);

    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ policy: { rules: [{ id: "x", action: "allow", decryption: "decrypt" }] } }));
    const invalid = await run(["export", "--config", bad]);
    assert.equal(invalid.code, 78);
    assert.match(invalid.err, /ca: a CA is required because rule "x" decrypts/);

    const noFile = join(dir, "no-file.json");
    writeFileSync(noFile, JSON.stringify({ ca: { cert: join(dir, "absent.pem"), key: "k" } }));
    const absent = await run(["export", "--config", noFile]);
    assert.equal(absent.code, 1);
    assert.match(absent.err, /cannot read the CA certificate .*absent\.pem/);

    const keyOnly = join(dir, "key-only.json");
    writeFileSync(join(dir, "k.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    writeFileSync(keyOnly, JSON.stringify({ ca: { cert: join(dir, "k.pem"), key: "k" } }));
    const noCert = await run(["export", "--config", keyOnly]);
    assert.equal(noCert.code, 1);
    assert.equal(noCert.out, "");
    assert.match(noCert.err, /contains no CERTIFICATE block/);

    assert.equal((await run(["export", "--config", noCa, "extra"])).code, 2);
  }));
});
