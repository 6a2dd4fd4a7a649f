/**
 * Linux's TCP socket tables (/proc/net/tcp and tcp6), for benchmarks that need to know who
 * listens on a port or how many connections it has.
 * @module
 */
import { readFileSync } from "node:fs";

/** One socket of the tables: its state (hex, "01" established, "0A" listening) and inode. */
export interface ProcSocket {
  readonly state: string;
  readonly inode: string;
}

/** Every IPv4 and IPv6 TCP socket whose local port is `port`. */
export function socketsOnLocalPort(port: number): ProcSocket[] {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const out: ProcSocket[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      // local_address is HEXIP:HEXPORT, st is field 3, inode field 9
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(`:${hex}`) && f[3] !== undefined) out.push({ state: f[3], inode: f[9] ?? "" });
    }
  }
  return out;
}
