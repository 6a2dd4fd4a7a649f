import { DEFAULT_ITERATIONS, hashPassword, MAX_ITERATIONS, MIN_ITERATIONS } from "../auth/password-hash.ts";

export const AUTH_USAGE = `Usage: tollgate auth hash [--iterations N] < password
  Reads a password from standard input (first line) and prints its hash for
  "proxyAuth": {"users": [{"name": "…", "passwordHash": "<this>"}]}. The password is
  never taken from the command line, where other users could see it.
`;

/** `tollgate auth hash`: resolves to the exit code. */
export async function authCommand(
  args: readonly string[],
  io: { readonly stdin: () => Promise<string>; readonly stdout: (t: string) => void; readonly stderr: (t: string) => void },
): Promise<number> {
  if (args[0] !== "hash") {
    io.stderr(AUTH_USAGE);
    return 2;
  }
  let iterations = DEFAULT_ITERATIONS;
  const i = args.indexOf("--iterations");
  if (i >= 0) {
    iterations = Number(args[i + 1]);
    if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
      // the gateway takes no hash outside these bounds: refuse it here, not at the next reload
      io.stderr(`tollgate auth hash: --iterations must be an integer from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}\n`);
      return 2;
    }
  }
  const password = (await io.stdin()).split(/\r?\n/)[0] ?? "";
  if (password.length === 0) {
    io.stderr("tollgate auth hash: empty password on standard input\n");
    return 1;
  }
  io.stdout((await hashPassword(password, iterations)) + "\n");
  return 0;
}
