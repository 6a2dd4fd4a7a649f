/** Tollgate's Deno entry with the memory trace loaded first (same arguments as src/bin/deno.ts). */
import "./trace.ts";
await import("../../../src/bin/deno.ts");
