/**
 * `tollgate config check FILE`: the config file, then every file it names, checked as the
 * gateway checks them before it serves (see `config-check.ts` at the top of `src/`). What an
 * operator runs before a reload or a deploy, as `nginx -t` is.
 *
 * @example
 * ```ts
 * const code = await checkConfigFile("/etc/tollgate/gateway.json", { runtime, readText, stdout, stderr });
 * ```
 * @module
 */
import { checkConfigFiles } from "../config-check.ts";
import type { Config } from "../config/config.ts";
import { pathFromConfig } from "../config/config-path.ts";
import { ConfigError } from "../config/errors.ts";
import { parseConfigText } from "../config/parse.ts";
import type { Runtime } from "../core/runtime.ts";
import { plural, readOrSay } from "./text.ts";

/** What `config check` talks to. */
export interface ConfigCheckIo {
  /** The runtime's TLS key checks (a certificate's key must be its own, as at start). */
  readonly runtime: Pick<Runtime, "dial" | "tls">;
  /** Reads a UTF-8 text file (a path as given: relative to the working directory). */
  readText(path: string): string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** The config file from the environment (`TOLLGATE_CONFIG`), used when no FILE is given. */
  readonly configFromEnv?: string | undefined;
  /** `TOLLGATE_ADMIN_TOKEN`: the admin API is checked with it, as `serve` would bind it. */
  readonly adminTokenFromEnv?: string | undefined;
}

const EXIT_INVALID = 1;

/** Checks `file` and says so; resolves to the exit code (0 valid, 1 a problem). */
export async function checkConfigFile(file: string, io: ConfigCheckIo): Promise<number> {
  const text = readOrSay(file, io);
  if (text === undefined) return EXIT_INVALID;
  let config: Config;
  try {
    config = parseConfigText(text, file);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.stderr(`${e.message}\n`);
    return EXIT_INVALID;
  }
  const read = new Set<string>();
  const { problems, warnings } = await checkConfigFiles(config, {
    runtime: io.runtime,
    adminTokenFromEnv: io.adminTokenFromEnv,
    readText: (path) => {
      const text = io.readText(pathFromConfig(file, path));
      read.add(path);
      return text;
    },
  });
  for (const w of warnings) io.stderr(`warning: ${w}\n`);
  if (problems.length > 0) {
    io.stderr(`Invalid config ${JSON.stringify(file)} (${plural(problems.length, "problem")})\n${problems.map((p) => `  ${p}\n`).join("")}`);
    return EXIT_INVALID;
  }
  const p = config.policy;
  io.stdout(
    `OK: ${file} (${plural(config.listeners.length, "listener")}, ${plural(p.rules.length, "rule")}, ${plural(p.urlRules.length, "url rule")}, ` +
      `default ${p.defaultAction}; ${plural(read.size, "file")} read and checked)\n`,
  );
  return 0;
}
