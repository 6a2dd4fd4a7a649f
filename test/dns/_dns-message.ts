/**
 * Builds DNS responses for tests (RFC 1035 wire format), with name compression so the
 * decoder's pointer handling is exercised, and a small DNS-over-TCP server over any Conn.
 */
import type { Conn } from "../../src/core/conn.ts";

/** One answer record: an address (A for dotted quads, AAAA otherwise) or a CNAME. */
export type TestRecord =
  | { readonly name: string; readonly ttl: number; readonly address: string }
  | { readonly name: string; readonly ttl: number; readonly cname: string };

export interface TestResponse {
  /** The response code; past 15 its upper bits go in the OPT record (which needs `edns`). */
  readonly rcode?: number;
  readonly answers?: readonly TestRecord[];
  /** Whether to answer with an OPT record: by default when the query had one, as EDNS servers do. */
  readonly edns?: boolean;
  /** Records for the authority section (never to be taken as answers). */
  readonly authority?: readonly TestRecord[];
  /** Header flags after QR and the opcode (default RD + RA: a recursive server's). */
  readonly flags?: { readonly aa?: boolean; readonly rd?: boolean; readonly ra?: boolean };
}

function ipv6Bytes(text: string): number[] {
  const [head, tail] = text.includes("::") ? text.split("::") as [string, string] : [text, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
}

/** The response to a query message `query` (its ID and question are echoed). */
export function buildResponse(query: Uint8Array, response: TestResponse): Uint8Array {
  const out: number[] = [];
  const names = new Map<string, number>();
  const u16 = (n: number) => out.push(n >> 8, n & 0xff);
  const u32 = (n: number) => out.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  const name = (text: string) => {
    const labels = text.split(".");
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join(".");
      const at = names.get(suffix);
      if (at !== undefined) return u16(0xc000 | at);
      if (out.length < 0x3fff) names.set(suffix, out.length);
      out.push(labels[i]!.length, ...[...labels[i]!].map((c) => c.charCodeAt(0)));
    }
    out.push(0);
  };
  const edns = response.edns ?? ednsPayloadOf(query) !== undefined;
  const rcode = response.rcode ?? 0;
  // header: ID, QR + flags + rcode, 1 question, N answers, M authority records, the OPT
  out.push(query[0]!, query[1]!);
  const f = { rd: true, ra: true, aa: false, ...response.flags };
  u16(0x8000 | (f.aa ? 0x400 : 0) | (f.rd ? 0x100 : 0) | (f.ra ? 0x80 : 0) | (rcode & 0xf));
  u16(1);
  u16(response.answers?.length ?? 0);
  u16(response.authority?.length ?? 0);
  u16(edns ? 1 : 0);
  // question: copied, and its name registered for compression
  let at = 12;
  const labels: string[] = [];
  while (query[at] !== 0) {
    labels.push(String.fromCharCode(...query.subarray(at + 1, at + 1 + query[at]!)));
    at += 1 + query[at]!;
  }
  name(labels.join("."));
  out.push(...query.subarray(at + 1, at + 5));
  for (const r of [...(response.answers ?? []), ...(response.authority ?? [])]) {
    name(r.name);
    if ("cname" in r) {
      u16(5);
      u16(1);
      u32(r.ttl);
      const lengthAt = out.length;
      u16(0);
      const start = out.length;
      name(r.cname);
      const len = out.length - start;
      out[lengthAt] = len >> 8;
      out[lengthAt + 1] = len & 0xff;
    } else {
      const v4 = !r.address.includes(":");
      u16(v4 ? 1 : 28);
      u16(1);
      u32(r.ttl);
      const bytes = v4 ? r.address.split(".").map(Number) : ipv6Bytes(r.address);
      u16(bytes.length);
      out.push(...bytes);
    }
  }
  if (edns) {
    // OPT: root owner, payload 1232, the rcode's upper 8 bits, version 0, no data
    out.push(0);
    u16(41);
    u16(1232);
    u32((rcode >> 4) << 24);
    u16(0);
  }
  return new Uint8Array(out);
}

/** The UDP payload size a query's OPT record offers, or undefined without one. */
export function ednsPayloadOf(query: Uint8Array): number | undefined {
  if (((query[10]! << 8) | query[11]!) === 0) return undefined;
  let at = 12;
  while (query[at] !== 0) at += 1 + query[at]!;
  at += 5; // end of the question
  if (query[at] !== 0 || ((query[at + 1]! << 8) | query[at + 2]!) !== 41) return undefined;
  return (query[at + 3]! << 8) | query[at + 4]!;
}

/** The question of a query: its name and type (1 = A, 28 = AAAA). */
export function questionOf(query: Uint8Array): { name: string; type: number } {
  let at = 12;
  const labels: string[] = [];
  while (query[at] !== 0) {
    labels.push(String.fromCharCode(...query.subarray(at + 1, at + 1 + query[at]!)));
    at += 1 + query[at]!;
  }
  return { name: labels.join("."), type: (query[at + 1]! << 8) | query[at + 2]! };
}

/**
 * Serves DNS over TCP on `conn`: reads length-prefixed queries and writes what `answer`
 * returns for each ("close": close the connection without answering; "silent": never answer
 * this one). Returns when the client closes.
 */
export async function serveDnsTcp(conn: Conn, answer: (query: Uint8Array) => Uint8Array | "close" | "silent"): Promise<void> {
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  let buffered = new Uint8Array(0);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      const joined = new Uint8Array(buffered.length + value.length);
      joined.set(buffered);
      joined.set(value, buffered.length);
      buffered = joined;
      while (buffered.length >= 2 && buffered.length >= 2 + ((buffered[0]! << 8) | buffered[1]!)) {
        const length = (buffered[0]! << 8) | buffered[1]!;
        const query = buffered.slice(2, 2 + length);
        buffered = buffered.slice(2 + length);
        const reply = answer(query);
        if (reply === "silent") continue;
        if (reply === "close") {
          await writer.close().catch(() => {});
          conn.close();
          return;
        }
        await writer.write(new Uint8Array([reply.length >> 8, reply.length & 0xff, ...reply]));
      }
    }
  } catch {
    // the client went away
  } finally {
    conn.close();
  }
}
