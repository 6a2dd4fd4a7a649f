/**
 * Paths in the config (certificates, keys, templates, password files) are relative to the
 * config file's directory, whatever the working directory: `serve` and every command that
 * reads a config's files resolve them alike.
 * @module
 */

/**
 * `path` as written in the config file `configFile`, as a path to open: an absolute path
 * as it is, a relative one joined to the config file's directory.
 *
 * @example
 * ```ts
 * pathFromConfig("/etc/tollgate/gateway.json", "ca/ca.pem"); // "/etc/tollgate/ca/ca.pem"
 * pathFromConfig("gateway.json", "ca/ca.pem");               // "ca/ca.pem"
 * pathFromConfig("/etc/tollgate/gateway.json", "/srv/ca.pem"); // "/srv/ca.pem"
 * ```
 */
export function pathFromConfig(configFile: string, path: string): string {
  if (path.startsWith("/")) return path;
  const slash = configFile.lastIndexOf("/");
  return slash < 0 ? path : `${configFile.slice(0, slash + 1)}${path}`;
}
