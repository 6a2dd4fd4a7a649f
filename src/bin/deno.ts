import { main } from "../main.ts";
import { denoRuntime } from "../runtime/deno/index.ts";

// How to start this program again (worker processes): deno with each permission this
// process holds in full, and reusePort (an unstable option of Deno.listen). Only when this
// process may run deno at all (`--allow-run=<deno>`, as `deno task serve:workers` grants).
const canRunDeno = Deno.permissions.querySync({ name: "run", command: Deno.execPath() }).state === "granted";
const permissions = (["read", "write", "net", "env", "sys", "ffi"] as const)
  .filter((name) => Deno.permissions.querySync({ name }).state === "granted")
  .map((name) => `--allow-${name}`);
const self = canRunDeno ? [Deno.execPath(), "run", ...permissions, "--unstable-net", Deno.mainModule] : undefined;

// Exit explicitly: after shutdown, connections still draining must not keep the process alive.
Deno.exit(await main(Deno.args, denoRuntime, self));
