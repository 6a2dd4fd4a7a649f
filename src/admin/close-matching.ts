/**
 * `DELETE /connections?…`: closes every open connection a filter selects, in every gateway
 * process — e.g. all of a user's connections once their account is disabled, or everything
 * open to a host found to be malicious. The filter is the one `GET /connections` takes; one
 * is required, so a bare `DELETE /connections` closes nothing. Each connection's flow line
 * ends `"revoked"`, its error naming the request.
 *
 * The connections are those open when the request is made (as `GET /connections` would
 * list them, at most `limit`, default the most one listing returns); one opened meanwhile
 * is not closed, and `remaining` says how many matched beyond `limit`.
 *
 * @module
 */
import { type ConnectionQuery, MAX_CONNECTIONS_LIMIT, processOf } from "./open-connections.ts";
import type { AdminState } from "./state.ts";

/** What a bulk close did. */
export interface BulkClose {
  /** Ids of the connections closed. */
  readonly closed: readonly string[];
  /** Connections listed that ended by themselves before they could be closed. */
  readonly ended: number;
  /** Matching connections beyond `limit`, not closed: ask again. */
  readonly remaining: number;
  /** Worker processes that did not answer, when listing or closing: theirs may still be open. */
  readonly unanswered: readonly number[];
}

/** The request's filter as text, for the flow lines' reason: `user=alice&host=*.example.com`. */
export function filterText(query: ConnectionQuery): string {
  return Object.entries(query.filter)
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

/** Why `query` may not close anything (it has no filter: the API's 400), or undefined. */
export function unfiltered(query: ConnectionQuery): string | undefined {
  if (filterText(query) !== "") return undefined;
  return "name the connections to close with at least one filter (host, user, client, rule, minDurationMs, …); to close every connection, minDurationMs=0";
}

/**
 * Closes what `query` selects (its `limit`; `limitGiven` false: up to the most one listing
 * returns). `query` must have a filter (see {@linkcode unfiltered}).
 */
export async function closeMatching(state: Pick<AdminState, "connections" | "closeConnections">, query: ConnectionQuery, limitGiven: boolean): Promise<BulkClose> {
  const text = filterText(query);
  if (text === "") throw new Error("closeMatching needs a filter");
  const list = await state.connections({ ...query, limit: limitGiven ? query.limit : MAX_CONNECTIONS_LIMIT });
  const reason = `closed by an administrator (DELETE /connections?${text})`;
  const ids = list.connections.map((f) => f.id);
  const outcomes = (await state.closeConnections(ids, reason)).map((outcome, i) => ({ id: ids[i]!, outcome }));
  const silent = outcomes.filter((o) => o.outcome === "no-answer").map((o) => processOf(o.id) ?? 0);
  return {
    closed: outcomes.filter((o) => o.outcome === "closed").map((o) => o.id),
    ended: outcomes.filter((o) => o.outcome === "not-found").length,
    remaining: list.total - list.connections.length,
    unanswered: [...new Set([...list.unanswered, ...silent])].sort((a, b) => a - b),
  };
}
