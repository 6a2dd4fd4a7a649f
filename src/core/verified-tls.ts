import type { Conn } from "./conn.ts";
import type { TlsCapability } from "./tls.ts";

/**
 * TLS (1.2 or later, no ALPN) to a service the gateway itself uses (a DNS server, a
 * directory): its certificate validated against the system roots and `extraCaPem`, for
 * `servername` (also the SNI). The plaintext side.
 */
export async function connectVerified(
  tls: Pick<TlsCapability, "connect">,
  address: string,
  port: number,
  servername: string,
  extraCaPem: readonly string[],
  signal: AbortSignal,
): Promise<Conn> {
  const session = await tls.connect({
    address,
    port,
    servername,
    verify: true,
    alpn: [],
    minVersion: "TLSv1.2",
    signal,
    ...(extraCaPem.length > 0 ? { extraCaPem } : {}),
  });
  return session.conn;
}
