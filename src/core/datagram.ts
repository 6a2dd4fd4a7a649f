/**
 * UDP for the core (today: DNS queries to configured servers). Adapters implement it; the
 * core never trusts that a datagram came from where it asked, and checks the source itself.
 *
 * @module
 */

/** One received datagram and where it came from. */
export interface Datagram {
  readonly data: Uint8Array;
  /** The sender's IP address as text. */
  readonly address: string;
  readonly port: number;
}

/**
 * A UDP socket on a fresh ephemeral port, connected to one peer. Datagrams that arrive while
 * the reader is behind are dropped (UDP's own semantics), so a flood cannot grow memory.
 */
export interface DatagramSocket {
  /** Sends one datagram to the peer. */
  send(data: Uint8Array): Promise<void>;
  /**
   * Datagrams as they arrive; ends when the socket is closed. Where the platform reports it
   * (an ICMP "port unreachable" on a connected socket), errors with code `ECONNREFUSED`.
   */
  readonly readable: ReadableStream<Datagram>;
  /** Closes the socket; idempotent. */
  close(): void;
}

/** Opens a UDP socket to `address:port` (an IP address). */
export type OpenDatagram = (address: string, port: number) => Promise<DatagramSocket>;
