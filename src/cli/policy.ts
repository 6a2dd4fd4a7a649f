/**
 * The `tollgate policy` commands: `check` validates a config file or a bare policy section
 * and prints every problem with its field path; `explain` says what the policy decides for
 * a URL or host and why, rule by rule, as `POST /policy/explain` does.
 *
 * @example
 * ```ts
 * const code = await policyCommand(["check", "gateway.json"], {
 *   readText: (path) => readFileSync(path, "utf8"),
 *   stdout: (text) => process.stdout.write(text),
 *   stderr: (text) => process.stderr.write(text),
 * });
 * ```
 * @module
 */
import { explainConfig } from "../admin/explain.ts";
import { blockPageFromConfig } from "../block/from-config.ts";
import { checkPolicy, isBarePolicy } from "../admin/policy-check.ts";
import type { ExplainQuery, ExplainResult } from "../admin/state.ts";
import type { Config } from "../config/config.ts";
import { hostListProblems, type HostLists, loadHostLists } from "../policy/load-host-lists.ts";
import { defaultConfig } from "../config/default.ts";
import { ConfigError, type ConfigIssue } from "../config/errors.ts";
import { JsonSyntaxError, parseJson } from "../config/json.ts";
import { parseConfig } from "../config/parse.ts";
import { pathFromConfig } from "../config/config-path.ts";
import { errorText, plural, readOrSay } from "./text.ts";

/** What the `policy` commands talk to. */
export interface PolicyCommandIo {
  /** Reads a UTF-8 text file. */
  readText(path: string): string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** The config file from the environment (`TOLLGATE_CONFIG`), used when `--config` is absent. */
  readonly configFromEnv?: string | undefined;
}

/** Usage of the `policy` commands. */
export const POLICY_USAGE = `Usage:
  tollgate policy check FILE
      Validate FILE, a whole config or a bare policy section ({"rules": […], …}),
      and a config's block page template (read, placeholders checked).
      Prints every problem with its field path; exit 1 when there is one.
  tollgate policy explain URL|HOST[:PORT] [--client IP] [--mode MODE] [--listener NAME]
                          [--user NAME [--group NAME]…] [--method METHOD]
                          [--header "NAME: VALUE"]… [--at TIME]
                          [--response-type TYPE] [--config FILE]
      Show the decision for a connection to URL (or HOST, port 443 by default): the
      matching rule, then every rule with why it did (✓) or did not (✗) match.
      --client defaults to 127.0.0.1, --mode to explicit, --listener to the first
      listener of that mode, --user to none (no proxy authentication), --group (one
      per group of the user; repeat it) to a local user's groups, --at (ISO 8601,
      for rules with a schedule) to now; --response-type (a Content-Type, for url
      rules with responseTypes) to not known yet; --header (repeat it) to none: the
      methods and paths override fields (X-HTTP-Method-Override, X-Original-URL)
      name are judged by url rules, as is a _method in the URL's query; --config to
      TOLLGATE_CONFIG, else the embedded default.
`;

const EXIT_INVALID = 1;
const EXIT_USAGE = 2;
/** Invalid config for `explain` (EX_CONFIG, as `serve` uses). */
const EXIT_CONFIG = 78;

class UsageError extends Error {
  override name = "UsageError";
}

function issueLines(issues: readonly ConfigIssue[]): string {
  return issues.map((issue) => `  ${issue.path === "" ? "" : `${issue.path}: `}${issue.message}\n`).join("");
}

async function check(args: readonly string[], io: PolicyCommandIo): Promise<number> {
  if (args.length !== 1 || args[0]!.startsWith("-")) throw new UsageError(args.length === 0 ? "missing FILE" : `expected one FILE, got ${args.map((a) => JSON.stringify(a)).join(" ")}`);
  const file = args[0]!;
  const text = readOrSay(file, io);
  if (text === undefined) return EXIT_INVALID;
  let document: unknown;
  try {
    document = parseJson(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    io.stderr(`Invalid JSON in ${JSON.stringify(file)}\n  line ${e.line}, column ${e.column}: ${e.reason}\n`);
    return EXIT_INVALID;
  }
  if (isBarePolicy(document)) {
    const result = checkPolicy(document);
    if (!result.ok) {
      io.stderr(`Invalid policy ${JSON.stringify(file)} (${plural(result.issues.length, "problem")})\n${issueLines(result.issues)}`);
      return EXIT_INVALID;
    }
    const p = result.policy;
    const problems = await hostListProblems(p.hostLists, (path) => io.readText(pathFromConfig(file, path)));
    if (problems.length > 0) {
      io.stderr(`Invalid policy ${JSON.stringify(file)} (${plural(problems.length, "problem")})\n${problems.map((m) => `  ${m}\n`).join("")}`);
      return EXIT_INVALID;
    }
    io.stdout(`OK: ${file} is a valid policy (${plural(p.rules.length, "rule")}, ${plural(p.urlRules.length, "url rule")}, default ${p.defaultAction})\n`);
    return 0;
  }
  let config: Config;
  try {
    config = parseConfig(document, file);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.stderr(`${e.message}\n`);
    return EXIT_INVALID;
  }
  // as the gateway does at start and on reload: the template file read, its placeholders
  // checked; the host lists read and parsed
  const readText = (path: string) => io.readText(pathFromConfig(file, path));
  const problems: string[] = [];
  try {
    blockPageFromConfig(config.blockPage, readText);
  } catch (e) {
    problems.push(errorText(e));
  }
  problems.push(...await hostListProblems(config.policy.hostLists, readText));
  if (problems.length > 0) {
    io.stderr(`Invalid config ${JSON.stringify(file)} (${plural(problems.length, "problem")})\n${problems.map((p) => `  ${p}\n`).join("")}`);
    return EXIT_INVALID;
  }
  const p = config.policy;
  io.stdout(
    `OK: ${file} is a valid config (${plural(config.listeners.length, "listener")}, ${plural(p.rules.length, "rule")}, ${plural(p.urlRules.length, "url rule")}, default ${p.defaultAction})\n`,
  );
  return 0;
}

interface ExplainArgs {
  readonly target: string;
  readonly values: Map<string, string>;
  /** `--group`, which may be given more than once. */
  readonly groups: readonly string[];
  /** `--header`, which may be given more than once. */
  readonly headers: readonly string[];
}

const EXPLAIN_OPTIONS = ["--client", "--mode", "--listener", "--user", "--group", "--method", "--header", "--at", "--response-type", "--config"];

function parseExplainArgs(args: readonly string[]): ExplainArgs {
  const values = new Map<string, string>();
  const groups: string[] = [];
  const headers: string[] = [];
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!EXPLAIN_OPTIONS.includes(name)) throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || value === "") throw new UsageError(`option "${name}" needs a value`);
    if (name === "--group") groups.push(value);
    else if (name === "--header") headers.push(value);
    else values.set(name, value);
  }
  if (positional.length !== 1) throw new UsageError(positional.length === 0 ? "missing URL" : `expected one URL, got ${positional.map((a) => JSON.stringify(a)).join(" ")}`);
  return { target: positional[0]!, values, groups, headers };
}

/** `https://x/…` → url; `host:port` / `[v6]:port` → host and port; anything else → host. */
function targetQuery(target: string): Pick<ExplainQuery, "url" | "host" | "port"> {
  if (target.includes("://")) return { url: target };
  const hostPort = /^([^:/[\]]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(target);
  if (hostPort) return { host: hostPort[1]!, port: Number(hostPort[2]) };
  return { host: target };
}

function loadConfig(file: string | undefined, io: PolicyCommandIo): Config {
  if (file === undefined) return parseConfig(defaultConfig, "embedded default");
  let text: string;
  try {
    text = io.readText(file);
  } catch (e) {
    throw new Error(`cannot read config file ${JSON.stringify(file)}: ${errorText(e)}`);
  }
  let document: unknown;
  try {
    document = parseJson(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    throw new ConfigError([{ path: "", message: `invalid JSON at line ${e.line}, column ${e.column}: ${e.reason}` }], file, { cause: e });
  }
  return parseConfig(document, file);
}

/** The human-readable form of an explanation. */
export function formatExplanation(target: string, r: ExplainResult, source: string): string {
  const d = r.decision;
  const by = d.ruleId === "default" ? "by the default action" : `by rule "${d.ruleId}"`;
  const where = [`destination ${r.host}:${r.port}`];
  if (r.clientIp !== undefined) where.push(`client ${r.clientIp}`);
  if (r.mode !== undefined) where.push(`mode ${r.mode}`);
  where.push(r.listener === undefined ? "no listener" : `listener "${r.listener}"`);
  if (r.user !== undefined) where.push(`user "${r.user}"${r.groups?.length ? ` (groups ${r.groups.map((g) => JSON.stringify(g)).join(", ")})` : ""}`);
  const lines = [
    `${target}: ${d.action.toUpperCase()} ${by}`,
    `  ${d.reason}`,
    `  ${where.join(", ")}; decryption ${d.decryption}${d.action === "allow" ? `; ${d.parent ? `via parent proxy "${d.parent}"` : "direct"}` : ""}`,
  ];
  if (r.url !== undefined) lines.push(`  url rules: ${r.url.action.toUpperCase()} by ${r.url.ruleId === "default" ? "the default" : `"${r.url.ruleId}"`}: ${r.url.reason}`);
  const limits = [r.url?.maxRequestBytes === undefined ? "" : `request bodies up to ${r.url.maxRequestBytes} bytes`, r.url?.maxResponseBytes === undefined ? "" : `response bodies up to ${r.url.maxResponseBytes} bytes`].filter(Boolean);
  if (limits.length > 0) lines.push(`  with ${limits.join(" and ")}`);
  if (r.url?.byResponse !== undefined) {
    const rules = r.url.byResponse.map((p) => `"${p.ruleId}" (${p.action.toUpperCase()} ${p.types.join(", ")})`);
    lines.push(`  unless the response's type decides first: ${rules.join(", then ")} (ask with --response-type)`);
  }
  lines.push("", `Rules in ${source} (the first match decides):`);
  if (r.rules.length === 0) lines.push("  (none)");
  const width = Math.max(0, ...r.rules.map((rule) => rule.ruleId.length));
  let decided = false;
  for (const rule of r.rules) {
    const decides = rule.matched && !decided && rule.ruleId === d.ruleId;
    if (decides) decided = true;
    lines.push(`  ${rule.matched ? "✓" : "✗"} ${String(rule.index + 1).padStart(2)}. ${rule.ruleId.padEnd(width)}  ${rule.reason}${decides ? "  ← decides" : ""}`);
  }
  if (d.ruleId === "default") lines.push(`  → no rule matched: default ${d.action}`);
  return lines.join("\n") + "\n";
}

async function explain(args: readonly string[], io: PolicyCommandIo): Promise<number> {
  const { target, values, groups, headers } = parseExplainArgs(args);
  const file = values.get("--config") ?? (io.configFromEnv || undefined);
  let config: Config;
  let hostLists: HostLists;
  try {
    config = loadConfig(file, io);
  } catch (e) {
    io.stderr(`tollgate: ${errorText(e)}\n`);
    return e instanceof ConfigError ? EXIT_CONFIG : EXIT_INVALID;
  }
  try {
    hostLists = await loadHostLists(config.policy.hostLists, (path) => io.readText(file === undefined ? path : pathFromConfig(file, path)));
  } catch (e) {
    io.stderr(`tollgate: ${errorText(e)}\n`);
    return EXIT_CONFIG;
  }
  const client = values.get("--client");
  const mode = values.get("--mode");
  const listener = values.get("--listener");
  const user = values.get("--user");
  const method = values.get("--method");
  const at = values.get("--at");
  const responseType = values.get("--response-type");
  const query: ExplainQuery = {
    ...targetQuery(target),
    ...(client === undefined ? {} : { clientIp: client }),
    ...(mode === undefined ? {} : { mode }),
    ...(listener === undefined ? {} : { listener }),
    ...(user === undefined ? {} : { user }),
    ...(groups.length === 0 ? {} : { groups }),
    ...(method === undefined ? {} : { method }),
    ...(headers.length === 0 ? {} : { headers }),
    ...(at === undefined ? {} : { at }),
    ...(responseType === undefined ? {} : { responseType }),
  };
  let result: ExplainResult;
  try {
    result = explainConfig(config, query, hostLists);
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  io.stdout(formatExplanation(target, result, file === undefined ? "the embedded default config" : JSON.stringify(file)));
  return 0;
}

/**
 * Runs `tollgate policy <subcommand> [args]` (`args` starts at the subcommand). Resolves to
 * the exit code: 0 ok, 1 invalid or unreadable file, 2 usage error, 78 invalid config for
 * `explain`.
 */
export async function policyCommand(args: readonly string[], io: PolicyCommandIo): Promise<number> {
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case "check":
        return await check(rest, io);
      case "explain":
        return await explain(rest, io);
      default:
        throw new UsageError(sub === undefined ? "missing subcommand" : `unknown subcommand ${JSON.stringify(sub)}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`tollgate policy: ${e.message}\n\n${POLICY_USAGE}`);
      return EXIT_USAGE;
    }
    io.stderr(`tollgate policy: ${errorText(e)}\n`);
    return EXIT_INVALID;
  }
}
