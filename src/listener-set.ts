/**
 * The gateway's bound listeners by name, and how a reload changes them without a restart:
 * - a listener whose `listen` is unchanged keeps its socket, and only its accept callback
 *   is swapped (mode, `clients`, `proxyProtocol` and the rest apply to the next connection);
 *   so does a renamed one at the same fixed address;
 * - a new or moved listener is bound first, before anything else changes: a bind that fails
 *   (address in use, no permission) refuses the whole change, naming the listener;
 * - after the swap, sockets the new config no longer uses are closed, and the connections
 *   they accepted drain: each listener's socket has its own {@linkcode Drain} (a child of
 *   the gateway's), started when the socket is dropped. `commit` returns those drains: the
 *   caller closes what is still open after its grace period.
 *
 * A connection that arrives on a new socket before the swap waits for it (a few ms).
 *
 * @example
 * ```ts
 * const set = new ListenerSet(runtime, false, gatewayDrain);
 * (await set.prepare(config.listeners)).commit((l, drain) => acceptFor(l, drain));
 * const change = await set.prepare(next.listeners); // throws: nothing changed
 * const dropped = change.commit((l, drain) => acceptFor(l, drain)); // started drains
 * ```
 * @module
 */
import type { ListenerConfig } from "./config/config.ts";
import type { Address, Conn } from "./core/conn.ts";
import type { Listener, Runtime } from "./core/runtime.ts";
import { Drain } from "./flows/drain.ts";

/** What a listener does with a connection it accepted. */
export type Accept = (conn: Conn) => void;

/** A prepared change of the listeners: bound, not yet in force. */
export interface ListenerChange {
  /** Listeners this change bound a socket for (new, or moved to another address), with the address. */
  readonly bound: ReadonlyMap<string, Address>;
  /** Listeners in force now that the change ends: removed, renamed, or moved (then also in `bound`). */
  readonly closed: readonly string[];
  /**
   * Puts the new listeners in force, `accept(l, drain)` serving each with its socket's
   * drain; closes the sockets no longer used and returns their drains, started.
   */
  commit(accept: (l: ListenerConfig, drain: Drain) => Accept): readonly Drain[];
  /** Closes the sockets this change bound; nothing changed. */
  abort(): Promise<void>;
}

interface Socket {
  readonly listener: Listener;
  /** How `listen` was written when it was bound (what a reload compares). */
  readonly hostname: string;
  readonly port: number;
  accept: Accept;
  /** The drain of the connections this socket accepted. */
  readonly drain: Drain;
}

/** A socket being bound, and the connections it accepted before it was put in force. */
interface FreshSocket {
  listener?: Listener;
  readonly hostname: string;
  readonly port: number;
  accept: Accept;
  readonly waiting: Conn[];
  /** Given when the socket is put in force. */
  drain?: Drain;
}

/** A fresh socket once bound. */
type BoundSocket = FreshSocket & { listener: Listener };

/** The listeners of one gateway process (see the module doc). */
export class ListenerSet {
  /** Bound address of every listener in force, by name (changed in place by `commit`). */
  readonly addresses = new Map<string, Address>();
  readonly #runtime: Pick<Runtime, "listen">;
  readonly #reusePort: boolean;
  readonly #drain: Drain;
  #sockets = new Map<string, Socket>();
  /** A change is being prepared, or prepared and not yet committed or aborted. */
  #changing = false;

  /**
   * `reusePort`: bind with SO_REUSEPORT (several gateway processes share the listeners);
   * `drain`: the gateway's, parent of each socket's.
   */
  constructor(runtime: Pick<Runtime, "listen">, reusePort: boolean, drain: Drain = new Drain()) {
    this.#runtime = runtime;
    this.#reusePort = reusePort;
    this.#drain = drain;
  }

  /**
   * Binds what `next` needs beyond the sockets in force (`ports` overrides a listener's
   * configured port by name: a worker binds the primary's). One change at a time: the
   * caller (the gateway, which runs one reload at a time) commits or aborts it first.
   *
   * @throws {Error} naming the listener and its address when a bind fails; what this call bound is closed again
   * @throws {Error} while another change is not yet committed or aborted
   */
  async prepare(next: readonly ListenerConfig[], ports: Readonly<Record<string, number>> = {}): Promise<ListenerChange> {
    if (this.#changing) throw new Error("Another listener change is not yet committed or aborted");
    this.#changing = true;
    try {
      return await this.#prepare(next, ports, () => (this.#changing = false));
    } catch (e) {
      this.#changing = false;
      throw e;
    }
  }

  async #prepare(next: readonly ListenerConfig[], ports: Readonly<Record<string, number>>, settle: () => void): Promise<ListenerChange> {
    const kept = new Map<string, Socket>();
    const unused = new Map(this.#sockets);
    const sameListen = (s: Socket, l: ListenerConfig) => s.hostname === l.hostname && s.port === l.port;
    for (const l of next) {
      const s = unused.get(l.name);
      if (s && sameListen(s, l)) (kept.set(l.name, s), unused.delete(l.name));
    }
    for (const l of next) {
      if (kept.has(l.name) || l.port === 0) continue;
      const renamed = [...unused].find(([, s]) => sameListen(s, l));
      if (renamed) (kept.set(l.name, renamed[1]), unused.delete(renamed[0]));
    }
    const fresh = new Map<string, BoundSocket>();
    try {
      for (const l of next) {
        if (kept.has(l.name)) continue;
        const port = ports[l.name] ?? l.port;
        const waiting: Conn[] = [];
        const socket: FreshSocket = { hostname: l.hostname, port: l.port, accept: (c) => waiting.push(c), waiting };
        try {
          socket.listener = await this.#runtime.listen({ hostname: l.hostname, port, reusePort: this.#reusePort }, (c) => socket.accept(c));
        } catch (e) {
          throw new Error(`listeners "${l.name}": cannot listen on ${hostPort(l.hostname, port)}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        }
        fresh.set(l.name, socket as BoundSocket);
      }
    } catch (e) {
      await Promise.allSettled([...fresh.values()].map((s) => s.listener.close()));
      throw e;
    }
    let done = false;
    const finish = () => {
      if (done) throw new Error("This listener change was already committed or aborted");
      done = true;
      settle();
    };
    return {
      bound: new Map([...fresh].map(([name, s]) => [name, s.listener.address])),
      closed: [...this.#sockets.keys()].filter((name) => kept.get(name) !== this.#sockets.get(name)),
      commit: (accept) => {
        finish();
        const sockets = new Map<string, Socket>();
        this.addresses.clear();
        for (const l of next) {
          const s = kept.get(l.name) ?? this.#inForce(fresh.get(l.name)!);
          s.accept = accept(l, s.drain);
          sockets.set(l.name, s);
          this.addresses.set(l.name, s.listener.address);
        }
        this.#sockets = sockets;
        for (const s of unused.values()) void s.listener.close().catch(() => {});
        for (const s of fresh.values()) for (const c of s.waiting.splice(0)) s.accept(c);
        return [...unused.values()].map((s) => (s.drain.start(), s.drain));
      },
      abort: async () => {
        finish();
        for (const s of fresh.values()) for (const c of s.waiting.splice(0)) c.close();
        await Promise.allSettled([...fresh.values()].map((s) => s.listener.close()));
      },
    };
  }

  /** A fresh socket put in force, with a drain of its own. */
  #inForce(socket: BoundSocket): Socket {
    socket.drain = this.#drain.child();
    return socket as BoundSocket & Socket;
  }

  /** Closes every socket (connections already accepted are not closed). */
  async close(): Promise<void> {
    const all = [...this.#sockets.values()];
    this.#sockets = new Map();
    await Promise.allSettled(all.map((s) => s.listener.close()));
  }
}

function hostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}
