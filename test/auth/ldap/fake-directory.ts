/**
 * A fake LDAP directory on the other end of an in-memory connection, for the directory
 * tests: it records binds, searches and unbinds, and answers as the test says.
 * @module
 */
import type { Conn } from "../../../src/core/conn.ts";
import { memoryConnPair } from "../../../src/core/memory-conn.ts";
import { children, constructed, integer, readTlv, tlv } from "../../../src/auth/ldap/ber.ts";

const dec = new TextDecoder();
const enc = new TextEncoder();

export interface Seen {
  binds: { name: string; password: string }[];
  unbinds: number;
  searches?: { base: string; scope: number; sizeLimit: number; filter: string; attributes: string[] }[];
}

/** A search as the fake reads it: the filter as `attr=value` or `(objectClass=*)`. */
export type SearchSeen = NonNullable<Seen["searches"]>[number];
/** What the fake answers a search with: entries (DN and attributes) then a result code, or raw messages. */
export type SearchReply = { entries: { dn: string; attributes: Record<string, string[]> }[]; code?: number; references?: number } | { raw: Uint8Array[] };

function readSearch(op: Uint8Array): SearchSeen {
  const [base, scope, , size, , , filter, attrs] = children(op);
  let f: string;
  if (filter!.tag === 0x87) f = `(${dec.decode(filter!.value)}=*)`;
  else {
    const [a, v] = children(filter!.value);
    f = `${dec.decode(a!.value)}=${dec.decode(v!.value)}`;
  }
  return {
    base: dec.decode(base!.value),
    scope: scope!.value[0]!,
    sizeLimit: size!.value[0]!,
    filter: f,
    attributes: children(attrs!.value).map((t) => dec.decode(t.value)),
  };
}

function searchAnswers(id: Uint8Array, reply: SearchReply): Uint8Array[] {
  if ("raw" in reply) return reply.raw;
  const msg = (op: Uint8Array) => constructed(0x30, [tlv(0x02, id), op]);
  const out = reply.entries.map((e) =>
    msg(constructed(0x64, [
      tlv(0x04, enc.encode(e.dn)),
      constructed(0x30, Object.entries(e.attributes).map(([type, values]) => constructed(0x30, [tlv(0x04, enc.encode(type)), constructed(0x31, values.map((v) => tlv(0x04, enc.encode(v))))]))),
    ])));
  for (let i = 0; i < (reply.references ?? 0); i++) out.unshift(msg(constructed(0x73, [tlv(0x04, enc.encode("ldap://other.test/dc=x"))])));
  out.push(msg(constructed(0x65, [integer(reply.code ?? 0, 0x0a), tlv(0x04, new Uint8Array(0)), tlv(0x04, new Uint8Array(0))])));
  return out;
}

/**
 * A directory on the other end of an in-memory connection: `answer` decides each bind's
 * result code, `search` each search's answers.
 */
export function fakeDirectory(
  answer: (name: string, password: string) => number | "silent" | "hang-up",
  seen: Seen,
  search: (req: SearchSeen) => SearchReply = () => ({ entries: [], code: 32 }),
  whoAmI: (bound: string) => string | number = (bound) => `dn:${bound}`,
  /** Searches of groups (`cn=…`) are answered this many at a time, the last asked first. */
  reverseBatch = 0,
): () => Promise<Conn> {
  return () => {
    const [ours, theirs] = memoryConnPair();
    void (async () => {
      const reader = theirs.readable.getReader();
      const writer = theirs.writable.getWriter();
      let got = new Uint8Array(0);
      let held: Uint8Array[][] = [];
      try {
        for (;;) {
          const msg = readTlv(got, 65536);
          if (!msg) {
            const { value, done } = await reader.read();
            if (done) return;
            const next = new Uint8Array(got.length + value.length);
            next.set(got);
            next.set(value, got.length);
            got = next;
            continue;
          }
          got = got.subarray(msg.size);
          const [id, op] = children(msg.value);
          if (op!.tag === 0x42) {
            seen.unbinds++;
            continue;
          }
          if (op!.tag === 0x77) {
            // "Who am I?": the authorization identity of the last bind, or a result code
            const said = whoAmI(seen.binds.at(-1)?.name ?? "");
            const code = typeof said === "number" ? said : 0;
            const value = typeof said === "string" ? [tlv(0x8b, enc.encode(said))] : [];
            await writer.write(constructed(0x30, [tlv(0x02, id!.value), constructed(0x78, [integer(code, 0x0a), tlv(0x04, new Uint8Array(0)), tlv(0x04, new Uint8Array(0)), ...value])]));
            continue;
          }
          if (op!.tag === 0x63) {
            const req = readSearch(op!.value);
            (seen.searches ??= []).push(req);
            const answers = searchAnswers(id!.value, search(req));
            if (reverseBatch > 0 && req.base.startsWith("cn=")) {
              held.push(answers);
              if (held.length < reverseBatch) continue;
              for (const one of held.reverse()) for (const m of one) await writer.write(m);
              held = [];
              continue;
            }
            for (const m of answers) await writer.write(m);
            continue;
          }
          const [, name, password] = children(op!.value);
          const n = dec.decode(name!.value);
          const p = dec.decode(password!.value);
          seen.binds.push({ name: n, password: p });
          const code = answer(n, p);
          if (code === "silent") continue;
          if (code === "hang-up") return void theirs.close();
          await writer.write(constructed(0x30, [tlv(0x02, id!.value), constructed(0x61, [integer(code, 0x0a), tlv(0x04, new Uint8Array(0)), tlv(0x04, enc.encode(code === 0 ? "" : "no"))])]));
        }
      } catch {
        theirs.close();
      }
    })();
    return Promise.resolve(ours);
  };
}

