/** One problem found in a config: where (`policy.rules[2].hosts[0]`, "" for the whole) and what. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * An invalid config. `message` has a header line then one line per issue, e.g.
 *
 * ```text
 * Invalid config "gateway.json" (1 problem)
 *   policy.rules[2].hosts[0]: expected a host name, "*.suffix", …, got "exa mple.com"
 * ```
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly issues: readonly ConfigIssue[];
  /** The file name or other label the config came from, if known. */
  readonly source: string | undefined;

  constructor(issues: readonly ConfigIssue[], source?: string, options?: ErrorOptions) {
    const count = `${issues.length} ${issues.length === 1 ? "problem" : "problems"}`;
    const where = source === undefined ? "" : ` ${JSON.stringify(source)}`;
    const lines = issues.map((issue) => `\n  ${issue.path === "" ? "" : `${issue.path}: `}${issue.message}`);
    super(`Invalid config${where} (${count})${lines.join("")}`, options);
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ path: issue.path, message: issue.message })));
    this.source = source;
  }
}
