import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

const support = new URL("./", import.meta.url).pathname;

/** A `reverse-backend.mjs` process under Node. */
export interface Backend {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
}

/** Starts `reverse-backend.mjs NAME [CERT KEY [CLIENT_CA]]` under Node; resolves once it listens. */
export function startBackend(name: string, tlsArgs: string[] = []): Promise<Backend> {
  const child = spawn("node", [join(support, "reverse-backend.mjs"), name, ...tlsArgs], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.stdout!.once("data", (d) => resolve({ name, port: Number(String(d).trim()), child }));
    child.once("exit", (c) => reject(new Error(`backend ${name} exited ${c}`)));
  });
}

/** Stops a backend (SIGTERM) and waits for it to exit; nothing if it is gone already. */
export function stopBackend(b: Backend | undefined): Promise<void> {
  if (!b || b.child.exitCode !== null || b.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    b.child.once("exit", () => resolve());
    b.child.kill("SIGTERM");
  });
}
