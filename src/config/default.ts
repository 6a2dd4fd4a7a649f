import type { ConfigInput } from "./schema.ts";

/**
 * The embedded default config: an explicit proxy on 127.0.0.1:3128 that allows web ports
 * (80, 443) without decryption and denies everything else (so CONNECT to SMTP, SSH, … is
 * refused), logging every flow to stdout. Sections a user config leaves out are taken
 * from here (`listeners`, `policy`, `log`); `dns` and `limits` use the schema's defaults.
 *
 * @example
 * ```ts
 * const config = parseConfig(defaultConfig);
 * ```
 */
export const defaultConfig = deepFreeze({
  listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:3128" }],
  policy: {
    defaultAction: "deny",
    defaultLog: true,
    rules: [{ id: "web", ports: [80, 443], action: "allow", log: true, decryption: "exception" }],
  },
  log: { flows: "stdout" },
  admin: { listen: "127.0.0.1:9090" },
} satisfies ConfigInput);

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
