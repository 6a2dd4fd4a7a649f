/**
 * The setup runtime TLS tests share: the runtime in use (with `preferOwnTls` as asked), a
 * test PKI and its CA's PEM, set up before the suite's tests; listeners and Conns a test
 * registers are closed after them.
 *
 * @module
 */
import { after, before } from "node:test";
import { readFileSync } from "node:fs";
import type { Conn } from "../../src/core/conn.ts";
import type { Listener, Runtime } from "../../src/core/runtime.ts";
import { makeTestPki, type TestPki } from "../e2e/support/certs.ts";
import { currentRuntime } from "./runtime.ts";

/** What {@linkcode tlsSuite} sets up; `rt`, `pki` and `caPem` once the suite's `before` ran. */
export interface TlsSuite {
  rt: Runtime;
  pki: TestPki;
  caPem: string;
  /** Closed after the suite. */
  readonly listeners: Listener[];
  /** Closed after the suite. */
  readonly held: Conn[];
  /** A loopback listener whose accepted Conns go to `onConn` (closed after the suite): its port. */
  listen(onConn: (conn: Conn) => void): Promise<number>;
}

/** Registers the suite's `before` and `after` (call it inside `describe`); `ownTls`: Deno's own TLS or `node:tls`. */
export function tlsSuite(ownTls = false): TlsSuite {
  const t: TlsSuite = {
    rt: undefined as unknown as Runtime,
    pki: undefined as unknown as TestPki,
    caPem: "",
    listeners: [],
    held: [],
    async listen(onConn) {
      const l = await t.rt.listen({ hostname: "127.0.0.1", port: 0 }, onConn);
      t.listeners.push(l);
      return l.address.port;
    },
  };
  before(async () => {
    t.rt = await currentRuntime();
    t.rt.tls.preferOwnTls?.(ownTls);
    t.pki = makeTestPki();
    t.caPem = readFileSync(t.pki.caFile, "utf8");
  });
  after(async () => {
    t.rt.tls.preferOwnTls?.(false);
    for (const c of t.held) c.close();
    for (const l of t.listeners) await l.close();
  });
  return t;
}
