/**
 * Waiting for a child process to be gone, output and all (worker processes). Entry-point
 * code: it uses `node:child_process`, which Bun and Deno both provide.
 *
 * @module
 */
import type { ChildProcess } from "node:child_process";

/**
 * Resolves once `child`'s output is read to its end (its last flow lines delivered), which
 * comes after its exit; kills it if it still runs 2 s after `graceMs`.
 */
export function exited(child: ChildProcess, graceMs: number): Promise<void> {
  const out = child.stdout;
  if (child.exitCode !== null || child.signalCode !== null) {
    // exited already: what it wrote last may still be in its pipe
    if (!out || out.readableEnded || out.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const limit = setTimeout(resolve, 1000);
      out.once("close", () => (clearTimeout(limit), resolve()));
    });
  }
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), graceMs + 2000);
    let late: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      clearTimeout(kill);
      clearTimeout(late);
      resolve();
    };
    child.once("close", done);
    // its output normally ends with it; a pipe some descendant still holds does not hold the shutdown
    child.once("exit", () => (late = setTimeout(done, 1000)));
  });
}
