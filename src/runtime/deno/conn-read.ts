/**
 * Reads from a `Deno.Conn` without the garbage `Deno.Conn.read` leaves behind on every read.
 *
 * `Deno.Conn.read` (ext/net/01_net.js, Deno 2.9.6) adds each pending read's promise to a
 * `Set` owned by the conn and deletes it when the read completes. A conn that lives through two
 * minor collections has its `Set` in V8's old generation, and V8 shrinks an ordered hash
 * table that a delete leaves empty by allocating a new one in the generation of the old one:
 * about 120 bytes of old-generation garbage per read, freed only by a full collection. A relay
 * makes ~65,000 reads per GiB on a TLS conn (one 16 KiB record each) and more on its loopback
 * hops: about 10 MiB of `deno.ownTls`'s RSS growth for a 1 GiB decrypted body (23 → 14 MiB
 * without it; `scripts/bench/memory/floor.ts --own-tls`).
 *
 * The `Set` exists only so that `conn.ref()`/`conn.unref()` can re-reference pending reads.
 * This module calls the same op `Deno.Conn.read` calls (Deno's internal `core.read` with the
 * conn's resource id), which is what `read` does minus the `Set` and minus un-referencing the
 * read of an `unref()`ed conn: a pending read here always keeps the process alive (nothing
 * here unrefs a conn it reads). Where the internals are not there (another Deno), it falls
 * back to `conn.read`: the same bytes, the garbage back.
 *
 * @module
 */

/** The part of Deno's internal `core` this module uses. */
interface CoreRead {
  read(rid: number, buffer: Uint8Array): Promise<number>;
  readonly internalRidSymbol: symbol;
}

function findCore(): CoreRead | undefined {
  try {
    const internal = (Deno as unknown as { internal?: unknown }).internal;
    if (typeof internal !== "symbol") return undefined;
    const core = (Deno as unknown as Record<symbol, { core?: Partial<CoreRead> } | undefined>)[internal]?.core;
    if (typeof core?.read !== "function" || typeof core.internalRidSymbol !== "symbol") return undefined;
    return core as CoreRead;
  } catch {
    return undefined;
  }
}

const core = findCore();

/** Whether reads take the direct route on this Deno (false: they fall back to `conn.read`). */
export const readsDirect: boolean = core !== undefined;

/**
 * Reads into `buffer` like `conn.read(buffer)`: resolves to the number of bytes read, or null
 * at the end of the stream; rejects as `conn.read` does (a closed conn, for one).
 *
 * @example
 * ```ts
 * const n = await readConn(conn, buf);
 * if (n === null) return; // EOF
 * ```
 */
export async function readConn(conn: Deno.Conn, buffer: Uint8Array): Promise<number | null> {
  const rid = core && buffer.byteLength > 0 ? (conn as unknown as Record<symbol, unknown>)[core.internalRidSymbol] : undefined;
  if (typeof rid !== "number") return await conn.read(buffer);
  const n = await core!.read(rid, buffer);
  return n === 0 ? null : n;
}
