/**
 * The `tollgate` command line. Entry points (`src/bin/bun.ts`, `src/bin/deno.ts`) pass in
 * their runtime adapter; this file may use `node:` APIs that Bun and Deno both provide.
 */
import { createWriteStream, readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { dirname, resolve } from "node:path";
import process from "node:process";
import pkg from "../package.json" with { type: "json" };
import { caCommand } from "./cli/ca.ts";
import { nodeCaFiles } from "./cli/ca-files.ts";
import { ConfigError } from "./config/errors.ts";
import { parseConfig, parseConfigText } from "./config/parse.ts";
import type { Config } from "./config/config.ts";
import { defaultConfig } from "./config/default.ts";
import type { Runtime } from "./core/runtime.ts";
import { startGateway } from "./gateway.ts";

const HELP = `tollgate ${pkg.version} — secure web gateway

Usage:
  tollgate serve [--config FILE]   start the gateway (default command)
  tollgate ca init [--out DIR] [--rsa] [--cn NAME] [--days N] [--force]
                                   create an interception CA: DIR/ca.pem, DIR/ca.key
                                   (DIR defaults to ./tollgate-ca)
  tollgate ca export [--config FILE]
                                   print the configured CA certificate (PEM)
  tollgate --help                  show this help
  tollgate --version               show the version

Options:
  --config FILE   JSON config file; also TOLLGATE_CONFIG=FILE. Without either,
                  the embedded default runs: explicit proxy on 127.0.0.1:3128,
                  ports 80 and 443 allowed, flow logs on stdout.
`;

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[], runtime: Runtime): Promise<number> {
  const args = [...argv];
  if (args.includes("--help") || args.includes("-h") || args[0] === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.includes("--version") || args.includes("-V")) {
    process.stdout.write(`tollgate ${pkg.version} (${runtime.name} ${runtime.version})\n`);
    return 0;
  }
  const command = args[0] && !args[0].startsWith("-") ? args.shift() : "serve";
  switch (command) {
    case "serve":
      return await serve(args, runtime);
    case "ca":
      return await caCommand(args, {
        files: nodeCaFiles,
        stdout: (text) => void process.stdout.write(text),
        stderr: (text) => void process.stderr.write(text),
        configFromEnv: process.env.TOLLGATE_CONFIG,
      });
    default:
      process.stderr.write(`tollgate: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

async function serve(args: string[], runtime: Runtime): Promise<number> {
  let config: Config;
  const file = option(args, "--config") ?? (process.env.TOLLGATE_CONFIG || undefined);
  try {
    config = loadConfig(file);
  } catch (e) {
    process.stderr.write(`tollgate: ${e instanceof Error ? e.message : String(e)}\n`);
    return e instanceof ConfigError ? 78 : 1;
  }
  // Paths in the config (CA files…) are relative to the config file's directory.
  const base = file ? dirname(resolve(file)) : process.cwd();
  let gateway;
  try {
    gateway = await startGateway(config, runtime, {
    readText: (path) => readFileSync(resolve(base, path), "utf8"),
    localAddresses: Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)),
    write: (stream, line) => (stream === "stdout" ? process.stdout : process.stderr).write(line),
    appendTo: (path) => {
      const file = createWriteStream(resolve(base, path), { flags: "a" });
      file.on("error", (e) => process.stderr.write(`tollgate: flow log "${path}": ${e.message}\n`));
      return (line) => void file.write(line);
    },
  });
  } catch (e) {
    process.stderr.write(`tollgate: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const bound = [...gateway.addresses].map(([n, a]) => `${n}=${a.address}:${a.port}`).join(" ");
  process.stderr.write(`tollgate ${pkg.version} (${runtime.name} ${runtime.version}) listening ${bound}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  process.stderr.write("tollgate: shutting down\n");
  await gateway.close();
  return 0;
}

function loadConfig(file: string | undefined): Config {
  if (!file) return parseConfig(defaultConfig);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read config file "${file}": ${(e as { code?: string }).code ?? String(e)}`);
  }
  return parseConfigText(text, file);
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) {
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  }
  const eq = args.findIndex((a) => a.startsWith(name + "="));
  if (eq >= 0) {
    const v = args[eq]!.slice(name.length + 1);
    args.splice(eq, 1);
    return v;
  }
  return undefined;
}
