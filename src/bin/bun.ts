#!/usr/bin/env bun
/// <reference types="bun-types" />
import { main } from "../main.ts";
import { bunRuntime } from "../runtime/bun/index.ts";

// Exit explicitly: after shutdown, connections still draining must not keep the process alive.
process.exit(await main(process.argv.slice(2), bunRuntime));
