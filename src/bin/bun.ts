#!/usr/bin/env bun
/// <reference types="bun-types" />
import { main } from "../main.ts";
import { bunRuntime } from "../runtime/bun/index.ts";

// How to start this program again (worker processes): a compiled binary is the executable
// alone; otherwise bun and this script.
const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");
const self = compiled ? [process.execPath] : [process.execPath, Bun.main];

// Exit explicitly: after shutdown, connections still draining must not keep the process alive.
process.exit(await main(process.argv.slice(2), bunRuntime, self));
