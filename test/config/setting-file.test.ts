import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readCaBundle, readSetting } from "../../src/config/setting-file.ts";

const CERT = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n";
const files: Record<string, string> = {
  "bundle.pem": `# corp roots\nsubject=CN=A\n${CERT}\nsubject=CN=B\n${CERT}`,
  "with-key.pem": KEY + CERT,
  "key.pem": KEY,
  "page.html": "<html>404</html>",
  "empty.pem": "",
  "mismatch.pem": "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END X509 CRL-----\n",
};
const readText = (path: string) => {
  const text = files[path];
  if (text === undefined) throw Object.assign(new Error("no such file"), { code: "ENOENT" });
  return text;
};

describe("readSetting", () => {
  it("returns the text, or names the setting, the file and the error code", () => {
    assert.equal(readSetting(readText, "x.file", "key.pem"), KEY);
    assert.throws(() => readSetting(readText, "x.file", "gone.pem"), { message: 'cannot read x.file "gone.pem": ENOENT' });
  });
});

describe("readCaBundle", () => {
  it("takes PEM text with at least one certificate, comments and other blocks beside them", () => {
    assert.equal(readCaBundle(readText, "dns.caFile", "bundle.pem"), files["bundle.pem"]);
    assert.equal(readCaBundle(readText, "dns.caFile", "with-key.pem"), files["with-key.pem"]);
  });

  it("refuses a file with no certificate, saying what it found", () => {
    const expected = 'dns.caFile "%s": expected PEM CA certificates (-----BEGIN CERTIFICATE-----), found ';
    assert.throws(() => readCaBundle(readText, "dns.caFile", "page.html"), { message: expected.replace("%s", "page.html") + "no PEM block" });
    assert.throws(() => readCaBundle(readText, "dns.caFile", "empty.pem"), { message: expected.replace("%s", "empty.pem") + "no PEM block" });
    assert.throws(() => readCaBundle(readText, "dns.caFile", "key.pem"), { message: expected.replace("%s", "key.pem") + "only PRIVATE KEY" });
  });

  it("names the setting for malformed PEM and for a file it cannot read", () => {
    assert.throws(() => readCaBundle(readText, "log.syslog.caFile", "mismatch.pem"), { message: 'log.syslog.caFile "mismatch.pem": PEM block "CERTIFICATE" ends with "X509 CRL"' });
    assert.throws(() => readCaBundle(readText, "log.syslog.caFile", "gone.pem"), { message: 'cannot read log.syslog.caFile "gone.pem": ENOENT' });
  });
});
