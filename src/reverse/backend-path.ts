/**
 * A route's `backendPrefix`: the part of the path the route matched on (its `pathPrefix`) is
 * replaced with another before the request goes to the backend, as nginx's
 * `location /api/ { proxy_pass http://app/; }` does: an app served at `/` can be published
 * under `/api`, or an old public path kept for a moved app.
 *
 * The rewritten path is built from the normalised path the route was chosen by (dot-segments
 * resolved, escapes of unreserved characters decoded; other escapes such as `%2F` kept as
 * they are), never from the raw one, so what the backend gets is what the route's checks saw.
 * @module
 */

/**
 * The origin-form target for the backend: `path` (normalised, at or below `routePrefix`) with
 * `routePrefix` replaced by `backendPrefix` (both normalised: no trailing `/` except the root),
 * then the query of the client's `target`.
 *
 * @example
 * ```ts
 * backendTarget("/api/users", "/api", "/", "/api/users?page=2"); // "/users?page=2"
 * backendTarget("/x", "/", "/v2", "/x");                          // "/v2/x"
 * backendTarget("/api", "/api", "/", "/api");                     // "/"
 * ```
 */
export function backendTarget(path: string, routePrefix: string, backendPrefix: string, target: string): string {
  const rest = routePrefix === "/" ? path : path.slice(routePrefix.length); // "" or "/…"
  const rewritten = (backendPrefix === "/" ? "" : backendPrefix) + rest;
  const q = target.indexOf("?");
  return (rewritten === "" ? "/" : rewritten) + (q < 0 ? "" : target.slice(q));
}
