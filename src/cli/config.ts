/**
 * The `tollgate config` commands: `check` (the config and every file it names, as the
 * gateway checks them before it serves) and `schema` (the JSON Schema for editors).
 * @module
 */
import { checkConfigFile, type ConfigCheckIo } from "./config-check.ts";
import { configJsonSchema } from "./config-schema.ts";

/** Usage of the `config` commands. */
export const CONFIG_USAGE = `Usage:
  tollgate config check [FILE | --config FILE]
      Check FILE (default: TOLLGATE_CONFIG) as the gateway does before it serves: the
      config itself, then every file it names (CA, certificates and keys, password files,
      block page template), relative paths taken from the config file's directory.
      Prints every problem; exit 1 when there is one. Run it before a reload.
  tollgate config schema
      Print the JSON Schema of the config file. Save it next to the config and point the
      config at it for editor completion:  tollgate config schema > tollgate.schema.json
      then add  "$schema": "./tollgate.schema.json"  to the config.
`;

/** What `config` commands talk to. */
export interface ConfigCommandIo extends ConfigCheckIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * Runs `tollgate config <subcommand>` (`args` starts at the subcommand); resolves to the
 * exit code (0 ok, 1 invalid config, 2 usage).
 */
export async function configCommand(args: readonly string[], io: ConfigCommandIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "schema" && rest.length === 0) {
    io.stdout(JSON.stringify(configJsonSchema(), null, 2) + "\n");
    return 0;
  }
  if (sub === "check") {
    const file = checkTarget(rest, io.configFromEnv);
    if (typeof file === "string") return await checkConfigFile(file, io);
    io.stderr(`tollgate config: ${file.usage}\n\n${CONFIG_USAGE}`);
    return 2;
  }
  const why = sub === undefined ? "missing subcommand" : sub === "schema" ? `unexpected argument ${JSON.stringify(rest[0])}` : `unknown subcommand ${JSON.stringify(sub)}`;
  io.stderr(`tollgate config: ${why}\n\n${CONFIG_USAGE}`);
  return 2;
}

/** The file `config check` checks: FILE, --config FILE (or =FILE), else TOLLGATE_CONFIG. */
function checkTarget(args: readonly string[], fromEnv: string | undefined): string | { usage: string } {
  const [first, second] = args;
  if (args.length === 1 && first !== undefined && !first.startsWith("-")) return first;
  if (args.length === 1 && first?.startsWith("--config=")) return first.slice("--config=".length);
  if (args.length === 2 && first === "--config" && second !== undefined) return second;
  if (args.length === 0 && fromEnv) return fromEnv;
  return { usage: args.length === 0 ? "missing FILE (or TOLLGATE_CONFIG)" : `unexpected arguments ${args.map((a) => JSON.stringify(a)).join(" ")}` };
}
