import { main } from "../main.ts";
import { denoRuntime } from "../runtime/deno/index.ts";

// Exit explicitly: after shutdown, connections still draining must not keep the process alive.
Deno.exit(await main(Deno.args, denoRuntime));
