/**
 * The `tollgate ca` commands: `init` creates an interception CA on disk, `export` prints
 * the configured CA certificate. File access goes through {@link CaFiles} so the logic is
 * testable; `main.ts` passes the `node:fs` implementation from `src/bin/ca-files.ts`.
 *
 * @example
 * ```ts
 * const code = await caCommand(["init", "--out", "/etc/tollgate"], {
 *   files: nodeCaFiles,
 *   stdout: (text) => process.stdout.write(text),
 *   stderr: (text) => process.stderr.write(text),
 * });
 * ```
 * @module
 */
import { ConfigError } from "../config/errors.ts";
import { parseConfigText } from "../config/parse.ts";
import { pathFromConfig } from "../config/config-path.ts";
import { generateCa, loadCa } from "../pki/mod.ts";
import { decodePem, encodePem, type PemBlock } from "../pki/pem.ts";
import { errorText } from "./text.ts";

/** The file operations the `ca` commands use. Paths are used as given. */
export interface CaFiles {
  /** True when anything (file, directory, symlink) exists at `path`. */
  exists(path: string): boolean;
  /** Create a directory and its missing parents; no error when it exists. */
  makeDirectory(path: string): void;
  /**
   * Write `data` to a file that is created with `mode` (never readable more widely, not
   * even while being written). Without `replace`, an existing file is an error; with it,
   * the file is written under a temporary name and renamed over the old one.
   */
  writeFile(path: string, data: string, options: { readonly mode: number; readonly replace: boolean }): void;
  /** Read a UTF-8 text file. */
  readText(path: string): string;
}

/** What the `ca` commands talk to. */
export interface CaCommandIo {
  readonly files: CaFiles;
  stdout(text: string): void;
  stderr(text: string): void;
  /** The config file from the environment (`TOLLGATE_CONFIG`), used when `--config` is absent. */
  readonly configFromEnv?: string | undefined;
}

/** Usage of the `ca` commands (also printed on usage errors). */
export const CA_USAGE = `Usage:
  tollgate ca init [--out DIR] [--rsa] [--cn NAME] [--days N] [--force]
      Create an interception CA: DIR/ca.pem (certificate, mode 0644) and DIR/ca.key
      (private key, mode 0600). DIR defaults to ./tollgate-ca. --rsa makes an RSA-3072
      key instead of ECDSA P-256; --cn sets the subject common name; --days the validity
      (default 3650); --force replaces existing files.
  tollgate ca export [--config FILE]
      Print the CA certificate (PEM) of the config's "ca" section, to install on clients.
`;

/** Exit codes: usage error, and config error (EX_CONFIG, as `serve` uses). */
const EXIT_USAGE = 2;
const EXIT_CONFIG = 78;

class UsageError extends Error {
  override name = "UsageError";
}

interface ParsedArgs {
  readonly values: Map<string, string>;
  readonly flags: Set<string>;
}

/** Parse `--name value`, `--name=value` and `--flag`; anything else is a usage error. */
function parseArgs(args: readonly string[], valueNames: readonly string[], flagNames: readonly string[]): ParsedArgs {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (flagNames.includes(name) && name === arg) flags.add(name);
    else if (valueNames.includes(name)) {
      const value = name === arg ? args[++i] : arg.slice(eq + 1);
      if (value === undefined || value === "") throw new UsageError(`option "${name}" needs a value`);
      values.set(name, value);
    } else throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
  }
  return { values, flags };
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") || dir.endsWith("\\") ? dir + name : `${dir}/${name}`;
}

/** SHA-256 of DER bytes as uppercase hex pairs joined by colons. */
export async function sha256Fingerprint(der: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

async function init(args: readonly string[], io: CaCommandIo): Promise<number> {
  const { values, flags } = parseArgs(args, ["--out", "--cn", "--days"], ["--rsa", "--force"]);
  const dir = values.get("--out") ?? "./tollgate-ca";
  const daysText = values.get("--days");
  if (daysText !== undefined && !/^\d{1,6}$/.test(daysText)) throw new UsageError(`option "--days" expects a whole number of days, got ${JSON.stringify(daysText)}`);
  const force = flags.has("--force");
  const certPath = joinPath(dir, "ca.pem");
  const keyPath = joinPath(dir, "ca.key");
  if (!force) {
    const existing = [certPath, keyPath].filter((path) => io.files.exists(path));
    if (existing.length > 0) {
      io.stderr(`tollgate: ${existing.map((p) => JSON.stringify(p)).join(" and ")} already ${existing.length === 1 ? "exists" : "exist"}; use --force to replace\n`);
      return 1;
    }
  }
  let generated;
  try {
    generated = await generateCa({
      keyAlgorithm: flags.has("--rsa") ? "rsa-3072" : "ecdsa-p256",
      ...(values.has("--cn") ? { commonName: values.get("--cn") } : {}),
      ...(daysText === undefined ? {} : { validityDays: Number(daysText) }),
    });
  } catch (e) {
    if (e instanceof RangeError || e instanceof TypeError) throw new UsageError(e.message);
    throw e;
  }
  const ca = await loadCa(generated);
  const fingerprint = await sha256Fingerprint(new Uint8Array(ca.certificate.rawData));
  try {
    io.files.makeDirectory(dir);
    io.files.writeFile(keyPath, generated.keyPem, { mode: 0o600, replace: force });
    io.files.writeFile(certPath, generated.certPem, { mode: 0o644, replace: force });
  } catch (e) {
    io.stderr(`tollgate: cannot write the CA files: ${errorText(e)}\n`);
    return 1;
  }
  io.stdout(
    `Created an interception CA (${ca.keyDescription})\n` +
      `  certificate:  ${certPath}\n` +
      `  private key:  ${keyPath} (mode 0600; anyone holding it can intercept the traffic of clients that trust this CA)\n` +
      `  subject:      ${ca.certificate.subject}\n` +
      `  valid until:  ${ca.notAfter.toISOString()}\n` +
      `  SHA-256 fingerprint: ${fingerprint}\n\n` +
      `Add to the config:\n  "ca": {"cert": ${JSON.stringify(certPath)}, "key": ${JSON.stringify(keyPath)}}\n` +
      `Then install ${certPath} as a trusted root on the clients whose traffic is decrypted.\n`,
  );
  return 0;
}

function exportCert(args: readonly string[], io: CaCommandIo): number {
  const { values } = parseArgs(args, ["--config"], []);
  const configFile = values.get("--config") ?? io.configFromEnv;
  if (configFile === undefined || configFile === "") {
    io.stderr('tollgate: no config given: use --config FILE or TOLLGATE_CONFIG (the default config has no "ca")\n');
    return EXIT_USAGE;
  }
  let configText: string;
  try {
    configText = io.files.readText(configFile);
  } catch (e) {
    io.stderr(`tollgate: cannot read config file ${JSON.stringify(configFile)}: ${errorText(e)}\n`);
    return 1;
  }
  let ca;
  try {
    ca = parseConfigText(configText, configFile).ca;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.stderr(`tollgate: ${e.message}\n`);
    return EXIT_CONFIG;
  }
  if (ca === undefined) {
    io.stderr(`tollgate: config ${JSON.stringify(configFile)} has no "ca" section; run "tollgate ca init" and add the "ca" it prints\n`);
    return 1;
  }
  let blocks: PemBlock[];
  try {
    blocks = decodePem(io.files.readText(pathFromConfig(configFile, ca.cert)));
  } catch (e) {
    io.stderr(`tollgate: cannot read the CA certificate ${JSON.stringify(ca.cert)}: ${errorText(e)}\n`);
    return 1;
  }
  const cert = blocks.find((block) => block.label === "CERTIFICATE");
  if (cert === undefined) {
    io.stderr(`tollgate: ${JSON.stringify(ca.cert)} contains no CERTIFICATE block\n`);
    return 1;
  }
  if (blocks.some((block) => block.label.includes("PRIVATE KEY"))) {
    io.stderr(`tollgate: warning: ${JSON.stringify(ca.cert)} also holds a private key; only the certificate is printed, but keep that file private\n`);
  }
  io.stdout(encodePem(cert.der, "CERTIFICATE"));
  return 0;
}

/**
 * Run `tollgate ca <subcommand> [options]` (`args` starts at the subcommand). Errors go to
 * `stderr`; resolves to the exit code (0 ok, 1 failure, 2 usage, 78 invalid config).
 * Never prints the private key.
 */
export async function caCommand(args: readonly string[], io: CaCommandIo): Promise<number> {
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case "init":
        return await init(rest, io);
      case "export":
        return exportCert(rest, io);
      default:
        throw new UsageError(sub === undefined ? "missing subcommand" : `unknown subcommand ${JSON.stringify(sub)}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`tollgate ca: ${e.message}\n\n${CA_USAGE}`);
      return EXIT_USAGE;
    }
    io.stderr(`tollgate ca: ${errorText(e)}\n`);
    return 1;
  }
}
