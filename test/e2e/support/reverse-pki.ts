import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A CA made with the real openssl, able to issue server and client certificates into its directory. */
export interface OpensslCa {
  readonly dir: string;
  /** The CA certificate file. */
  readonly caFile: string;
  /**
   * Issues a leaf (ECDSA P-256) named `file`.pem / `file`.key: a server certificate for
   * `names` (DNS names or IPs; the first is the CN), or with `client` a client certificate
   * whose CN is `names[0]`, valid for `days` (default 2). Returns the two paths.
   */
  issue(file: string, names: string[], options?: { client?: boolean; days?: number }): { cert: string; key: string };
}

/** A throwaway CA named `cn`. */
export function makeOpensslCa(cn: string, dir = mkdtempSync(join(tmpdir(), "tollgate-rpki-"))): OpensslCa {
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const slug = cn.replace(/\W+/g, "-").toLowerCase();
  const caFile = join(dir, `${slug}-ca.pem`);
  const caKey = join(dir, `${slug}-ca.key`);
  run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", caKey,
    "-out", caFile, "-days", "2", "-subj", `/CN=${cn}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  return {
    dir,
    caFile,
    issue(file, names, options = {}) {
      const cert = join(dir, `${file}.pem`);
      const key = join(dir, `${file}.key`);
      const ext = join(dir, `${file}.cnf`);
      const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
      writeFileSync(ext, options.client
        ? "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n"
        : `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
      run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
        "-out", `${file}.csr`, "-subj", `/CN=${names[0]}`);
      run("x509", "-req", "-in", `${file}.csr`, "-CA", caFile, "-CAkey", caKey, "-CAcreateserial",
        "-out", cert, "-days", String(options.days ?? 2), "-extfile", ext);
      return { cert, key };
    },
  };
}
