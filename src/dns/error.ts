/** Why a resolution failed: no such name, too slow, or anything else. */
export type DnsErrorCode = "notfound" | "timeout" | "error";

/**
 * A failed name resolution.
 *
 * @example
 * ```ts
 * throw new DnsError("notfound", "nowhere.test");
 * // DnsError: Host "nowhere.test" not found
 * ```
 */
export class DnsError extends Error {
  override name = "DnsError";
  readonly code: DnsErrorCode;
  /** The name that was looked up. */
  readonly hostname: string;

  constructor(code: DnsErrorCode, hostname: string, message?: string, options?: ErrorOptions) {
    super(message ?? defaultMessage(code, hostname), options);
    this.code = code;
    this.hostname = hostname;
  }
}

function defaultMessage(code: DnsErrorCode, hostname: string): string {
  const quoted = JSON.stringify(hostname);
  if (code === "notfound") return `Host ${quoted} not found`;
  if (code === "timeout") return `Lookup of ${quoted} timed out`;
  return `Lookup of ${quoted} failed`;
}
