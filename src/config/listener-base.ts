/** Fields every listener has, whatever its mode. */
export interface ListenerBase {
  /** Unique; `listener-<n>` when not given. */
  readonly name: string;
  /** IP address (IPv6 without brackets) or host name to bind. */
  readonly hostname: string;
  /** 0 = any free port. */
  readonly port: number;
  /** Client CIDRs allowed on this listener; absent = any client. */
  readonly clients?: readonly string[];
  /**
   * Connections come through load balancers that send a PROXY protocol header: only peers
   * in `from` (CIDRs) are accepted, and the header's client is the connection's client.
   */
  readonly proxyProtocol?: { readonly from: readonly string[] };
}
