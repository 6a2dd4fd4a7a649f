/**
 * The `User-Agent` a request named, as log lines record it: which software asked, for
 * audits and for telling a browser from a script. Bounded so that a client cannot make log
 * lines arbitrarily long.
 * @module
 */
import type { HeaderList } from "../protocol/http-headers.ts";

/** Characters of a User-Agent kept in a log line; longer ones end in "…". */
export const USER_AGENT_MAX = 256;

/** The request's first `User-Agent` field, at most {@link USER_AGENT_MAX} characters; null without one. */
export function userAgentOf(headers: HeaderList): string | null {
  const value = headers.getAll("user-agent")[0];
  if (value === undefined) return null;
  return value.length > USER_AGENT_MAX ? `${value.slice(0, USER_AGENT_MAX - 1)}…` : value;
}
