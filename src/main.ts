/**
 * The `tollgate` command line. Entry points (`src/bin/bun.ts`, `src/bin/deno.ts`) pass in
 * their runtime adapter; this file may use `node:` APIs that Bun and Deno both provide.
 */
import process from "node:process";
import pkg from "../package.json" with { type: "json" };
import { authCommand } from "./cli/auth.ts";
import { caCommand } from "./cli/ca.ts";
import { nodeCaFiles } from "./bin/ca-files.ts";
import { configCommand } from "./cli/config.ts";
import { policyCommand } from "./cli/policy.ts";
import type { Runtime } from "./core/runtime.ts";
import { serve as runServe } from "./bin/serve.ts";
import { worker } from "./bin/worker.ts";

const HELP = `tollgate ${pkg.version} — secure web gateway

Usage:
  tollgate serve [--config FILE]   start the gateway (default command)
  tollgate auth hash < password   hash a proxy user's password (PBKDF2) for proxyAuth.users
  tollgate ca init [--out DIR] [--rsa] [--cn NAME] [--days N] [--force]
                                   create an interception CA: DIR/ca.pem, DIR/ca.key
                                   (DIR defaults to ./tollgate-ca)
  tollgate ca export [--config FILE]
                                   print the configured CA certificate (PEM)
  tollgate policy check FILE       validate a config file or a bare policy; exit 1 on errors
  tollgate policy explain URL [--client IP] [--mode MODE] [--listener NAME] [--config FILE]
                                   show the decision for URL and why, rule by rule
  tollgate config check [FILE]     check a config and every file it names, as serve does; exit 1 on errors
  tollgate config schema           print the config's JSON Schema (for "$schema" in editors)
  tollgate --help                  show this help
  tollgate --version               show the version

Options:
  --config FILE   JSON config file; also TOLLGATE_CONFIG=FILE. Without either,
                  the embedded default runs: explicit proxy on 127.0.0.1:3128,
                  ports 80 and 443 allowed, flow logs on stdout.
`;

/**
 * Runs the CLI; resolves to the process exit code. `self` is how to start this program
 * again (argv), for worker processes; without it `workers` must be 1.
 */
export async function main(argv: readonly string[], runtime: Runtime, self?: readonly string[]): Promise<number> {
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
      return await runServe(option(args, "--config") ?? (process.env.TOLLGATE_CONFIG || undefined), runtime, self);
    case "__worker":
      // internal: a worker process started by `serve` with workers > 1
      return await worker(runtime);
    case "auth":
      return await authCommand(args, {
        stdin: async () => {
          let text = "";
          for await (const chunk of process.stdin) text += String(chunk);
          return text;
        },
        stdout: (t) => void process.stdout.write(t),
        stderr: (t) => void process.stderr.write(t),
      });
    case "ca":
      return await caCommand(args, {
        files: nodeCaFiles,
        stdout: (text) => void process.stdout.write(text),
        stderr: (text) => void process.stderr.write(text),
        configFromEnv: process.env.TOLLGATE_CONFIG,
      });
    case "policy":
      return await policyCommand(args, {
        readText: (path) => nodeCaFiles.readText(path),
        stdout: (text) => void process.stdout.write(text),
        stderr: (text) => void process.stderr.write(text),
        configFromEnv: process.env.TOLLGATE_CONFIG,
      });
    case "config":
      return await configCommand(args, {
        runtime,
        readText: (path) => nodeCaFiles.readText(path),
        stdout: (text) => void process.stdout.write(text),
        stderr: (text) => void process.stderr.write(text),
        configFromEnv: process.env.TOLLGATE_CONFIG,
        adminTokenFromEnv: process.env.TOLLGATE_ADMIN_TOKEN,
      });
    default:
      process.stderr.write(`tollgate: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
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
