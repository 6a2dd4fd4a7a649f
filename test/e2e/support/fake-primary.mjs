// A stand-in primary for worker-orphan.test.ts: starts the real worker (argv[3…] plus
// `__worker`) with the start message given as argv[2] (JSON), reads its output as the
// primary does, and says "ready <worker pid>" on its own stdout once the worker serves.
// The test then kills this process, which closes its ends of the worker's pipes.
import { spawn } from "node:child_process";

const [start, command, ...args] = process.argv.slice(2);
const child = spawn(command, [...args, "__worker"], { stdio: ["pipe", "pipe", "inherit"] });
child.stdin.write(start + "\n");
let out = "";
child.stdout.on("data", (d) => {
  out += d;
  if (out.includes('"t":"ready"')) {
    process.stdout.write(`ready ${child.pid}\n`);
    out = "";
  }
});
