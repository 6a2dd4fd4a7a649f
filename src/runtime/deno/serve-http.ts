/**
 * The admin API's HTTP listener on Deno (`Deno.serve`), kept serving. When accepting fails,
 * out of file descriptors above all, Deno ends the server and rejects `finished`; unhandled,
 * that rejection ended the whole gateway, proxy included, at the admin port's first request
 * once the proxy's clients had taken every descriptor. Here it is logged and the listener
 * bound again a second later (and again, until it can be), on the port it had.
 * @module
 */
import type { Listener, ListenOptions } from "../../core/runtime.ts";

/** How long after a failure the listener is bound again. */
export const RESERVE_MS = 1000;

/** What the listener reports on stderr, one line each (tests catch it). */
export type ServeLog = (line: string) => void;

export function serveHttpDeno(
  options: ListenOptions,
  fetch: (request: Request) => Response | Promise<Response>,
  log: ServeLog = (line) => console.error(line),
  serve: typeof Deno.serve = Deno.serve,
): Promise<Listener> {
  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer | undefined;
    let closed = false;
    let again: ReturnType<typeof setTimeout> | undefined;
    let port = options.port;
    const close = async () => {
      closed = true;
      clearTimeout(again);
      await server?.shutdown().catch(() => {});
    };
    const retry = () => {
      again = setTimeout(() => {
        if (!closed) start(false);
      }, RESERVE_MS);
    };
    const start = (first: boolean) => {
      let current: Deno.HttpServer;
      try {
        current = serve({
          hostname: options.hostname,
          port,
          onListen: ({ hostname, port: bound }) => {
            port = bound;
            if (first) resolve({ address: { address: hostname, port: bound }, close });
          },
        }, fetch);
      } catch (e) {
        if (first) return reject(e);
        log(`tollgate: admin API: cannot listen on port ${port} again (${e instanceof Error ? e.message : String(e)}); trying again in ${RESERVE_MS} ms`);
        return retry();
      }
      server = current;
      current.finished.catch((e: unknown) => {
        if (closed) return;
        log(`tollgate: admin API stopped accepting (${e instanceof Error ? e.message : String(e)}); listening again in ${RESERVE_MS} ms`);
        void current.shutdown().catch(() => {});
        retry();
      });
    };
    start(true);
  });
}
