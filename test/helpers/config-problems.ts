import assert from "node:assert/strict";
import { ConfigError } from "../../src/config/errors.ts";
import { parseConfig } from "../../src/config/parse.ts";

/** The issues `parseConfig(input)` reports, as "path: message" lines; fails when it accepts the input. */
export function configProblems(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.issues.map((issue) => (issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`));
  }
  assert.fail("expected the config to be rejected");
}
