import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodePem } from "../../../src/pki/mod.ts";
import { keyPairError } from "../../../src/runtime/node-tls/key-pair.ts";
import { tempDir } from "../../helpers/temp-dir.ts";

/** The DER of the first certificate in `pem`. */
function der(pem: string): Uint8Array {
  const block = decodePem(pem).find((b) => b.label === "CERTIFICATE");
  assert.ok(block);
  return block.der;
}

describe("keyPairError (node:crypto on Bun and Deno)", () => {
  const files: Record<string, string> = {};

  before(() => {
    const dir = tempDir("tollgate-keypair-");
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    const selfSigned = (name: string, keyArgs: string[]) => {
      openssl("req", "-x509", ...keyArgs, "-nodes", "-days", "1", "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.pem`);
      files[`${name}.pem`] = readFileSync(join(dir, `${name}.pem`), "utf8");
      files[`${name}.key`] = readFileSync(join(dir, `${name}.key`), "utf8");
    };
    selfSigned("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    selfSigned("ec2", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    selfSigned("rsa", ["-newkey", "rsa:2048"]);
    selfSigned("ed", ["-newkey", "ed25519"]);
    openssl("ec", "-in", "ec.key", "-out", "ec-sec1.key");
    openssl("rsa", "-in", "rsa.key", "-traditional", "-out", "rsa-pkcs1.key");
    files["ec-sec1.key"] = readFileSync(join(dir, "ec-sec1.key"), "utf8");
    files["rsa-pkcs1.key"] = readFileSync(join(dir, "rsa-pkcs1.key"), "utf8");
  });

  it("accepts a certificate's own key: EC, RSA, Ed25519; PKCS#8, SEC1 and PKCS#1", () => {
    for (const [cert, key] of [["ec", "ec"], ["rsa", "rsa"], ["ed", "ed"], ["ec", "ec-sec1"], ["rsa", "rsa-pkcs1"]] as const) {
      assert.equal(keyPairError(der(files[`${cert}.pem`]!), files[`${key}.key`]!), undefined, `${cert}.pem with ${key}.key`);
    }
  });

  it("names another key of the same type, or of another type, as not belonging", () => {
    for (const [cert, key] of [["ec", "ec2"], ["ec", "rsa"], ["rsa", "ec-sec1"], ["ed", "ec"]] as const) {
      assert.match(keyPairError(der(files[`${cert}.pem`]!), files[`${key}.key`]!) ?? "", /does not belong to the certificate/, `${cert}.pem with ${key}.key`);
    }
  });

  it("says an unreadable key cannot be read", () => {
    assert.match(keyPairError(der(files["ec.pem"]!), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") ?? "", /the private key cannot be read/);
  });
});
