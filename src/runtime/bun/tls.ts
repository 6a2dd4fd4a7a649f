import type { TlsCapability } from "../../core/tls.ts";
import { bunAcceptTls } from "./tls-accept.ts";
import { bunConnectTls } from "./tls-connect.ts";
import { keyPairError } from "../node-tls/key-pair.ts";

/**
 * TLS on Bun with native sockets: `socket.upgradeTLS` for the server side of an accepted
 * connection, `Bun.connect({tls})` for the client; both stay `BunSocketConn`s (native
 * `data`/`drain` backpressure). Conns that are not native sockets fall back to `node:tls`.
 */
export const bunTls: TlsCapability = {
  accept: bunAcceptTls,
  connect: bunConnectTls,
  keyPairError,
};
