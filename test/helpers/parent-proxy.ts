import type { ParentProxy } from "../../src/parent/tunnel.ts";

/**
 * A parent proxy for tests: `<name>.test:3128`, in service, no credentials, no checks;
 * `extra` overrides any field.
 */
export function testParent(name: string, extra: Partial<ParentProxy> = {}): ParentProxy {
  return {
    name,
    host: { kind: "dns", name: `${name}.test` },
    port: 3128,
    authority: `${name}.test:3128`,
    protocol: "http",
    ejectMs: 30_000,
    health: { downUntil: 0, lastError: null },
    ...extra,
  };
}
