import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../../helpers/temp-dir.ts";

/** A client certificate and its key, as files and PEM. */
export interface ClientCert {
  readonly cert: string;
  readonly key: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** A CA for client certificates, run with the real `openssl ca` (so it can revoke and issue CRLs). */
export interface ClientPki {
  readonly dir: string;
  readonly caFile: string;
  /** Issues a client certificate (EKU clientAuth) for `subject` (`/CN=alice`), with SAN `email` if given. */
  issue(name: string, subject: string, email?: string): ClientCert;
  /** Revokes `cert` (a file) and writes a fresh CRL; returns the CRL file. */
  revoke(cert: string): string;
  /** Writes a fresh CRL (what is revoked so far) and returns its file. */
  crl(): string;
}

/** A throwaway client CA in a temp dir; `name` goes into its subject. */
export function makeClientPki(name = "Tollgate Test Client CA"): ClientPki {
  const dir = tempDir("tollgate-client-pki-");
  // the config names $ENV::CLIENT_EMAIL, so every openssl ca run needs it set
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe", env: { ...process.env, CLIENT_EMAIL: "unused@invalid" } });
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "crlnumber"), "01\n");
  writeFileSync(join(dir, "serial"), "1000\n");
  writeFileSync(join(dir, "ca.cnf"), [
    "[ca]", "default_ca = test", "[test]", `dir = ${dir}`, "database = $dir/index.txt", "new_certs_dir = $dir",
    "certificate = $dir/ca.pem", "private_key = $dir/ca.key", "serial = $dir/serial", "crlnumber = $dir/crlnumber",
    "default_md = sha256", "default_days = 2", "default_crl_days = 2", "policy = any", "unique_subject = no", "copy_extensions = none",
    "[any]", "commonName = supplied", "emailAddress = optional",
    "[client]", "basicConstraints = CA:FALSE", "keyUsage = critical,digitalSignature", "extendedKeyUsage = clientAuth",
    "[client_email]", "basicConstraints = CA:FALSE", "keyUsage = critical,digitalSignature", "extendedKeyUsage = clientAuth", "subjectAltName = email:$ENV::CLIENT_EMAIL",
    "",
  ].join("\n"));
  run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
    "-out", "ca.pem", "-days", "2", "-subj", `/CN=${name}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  const crl = () => {
    run("ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem");
    return join(dir, "crl.pem");
  };
  return {
    dir,
    caFile: join(dir, "ca.pem"),
    issue(file, subject, email) {
      run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${file}.key`, "-out", `${file}.csr`, "-subj", subject);
      execFileSync("openssl", ["ca", "-batch", "-config", "ca.cnf", "-extensions", email ? "client_email" : "client", "-in", `${file}.csr`, "-out", `${file}.pem`, "-notext"], {
        cwd: dir,
        stdio: "pipe",
        env: { ...process.env, CLIENT_EMAIL: email ?? "" },
      });
      const cert = join(dir, `${file}.pem`);
      const key = join(dir, `${file}.key`);
      return { cert, key, certPem: readFileSync(cert, "utf8"), keyPem: readFileSync(key, "utf8") };
    },
    revoke(cert) {
      run("ca", "-config", "ca.cnf", "-revoke", cert);
      return crl();
    },
    crl,
  };
}

/** The people of the client-certificate tests, and the CRL file the gateway reads. */
export interface ClientCast {
  readonly clients: ClientPki;
  /** Another CA, which no listener trusts. */
  readonly foreign: ClientPki;
  /** CN=alice, with e-mail alice@corp.test. */
  readonly alice: ClientCert;
  readonly bob: ClientCert;
  readonly dave: ClientCert;
  /** Revoked in `crlFile`. */
  readonly carol: ClientCert;
  /** CN=alice from the foreign CA: the right name, the wrong CA. */
  readonly mallory: ClientCert;
  /** A copy of the clients CA's CRL, in a directory of its own (rewrite it to revoke more). */
  readonly crlFile: string;
}

/** Makes a client CA, a foreign one, and the certificates of {@link ClientCast}. */
export function makeClientCast(): ClientCast {
  const clients = makeClientPki();
  const foreign = makeClientPki("Someone Else's CA");
  const carol = clients.issue("carol", "/CN=carol");
  const crlFile = join(tempDir("tollgate-crl-"), "clients.crl");
  const cast = {
    clients,
    foreign,
    alice: clients.issue("alice", "/CN=alice", "alice@corp.test"),
    bob: clients.issue("bob", "/CN=bob"),
    dave: clients.issue("dave", "/CN=dave"),
    carol,
    mallory: foreign.issue("alice", "/CN=alice"),
    crlFile,
  };
  writeFileSync(crlFile, readFileSync(clients.revoke(carol.cert)));
  return cast;
}
