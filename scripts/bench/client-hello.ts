/**
 * ClientHello parser cost: a ~2 KiB post-quantum-sized hello pushed whole, and a 64 KiB one
 * pushed one byte at a time (must stay linear). Run: bun scripts/bench/client-hello.ts
 * or deno run -A scripts/bench/client-hello.ts. Prints medians of several rounds.
 */
import { ClientHelloReader } from "../../src/protocol/client-hello.ts";
import { alpnExt, encodeHello, ext, type HelloSpec, keyShareExt, recordize, sniExt, versionsExt } from "../../test/protocol/client-hello-builder.ts";

function hello(over: Partial<HelloSpec>, cuts: number[] = []): Uint8Array {
  const base: HelloSpec = { legacyVersion: 0x0303, sessionId: new Uint8Array(32), cipherSuites: [0x1301, 0x1302, 0xc02f], compressionMethods: [0], extensions: [] };
  return recordize(encodeHello({ ...base, ...over }), cuts);
}

const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const small = hello({ extensions: [sniExt("example.com"), alpnExt(["h2", "http/1.1"]), versionsExt([0x0304]), keyShareExt([[0x11ec, 1216], [29, 32]]), ext(21, new Array(600).fill(0))] });
const big = hello({ extensions: [ext(0x1234, new Array(65000).fill(7))] }, [16000, 32000, 48000, 64000]);

const whole: number[] = [];
const bytewise: number[] = [];
for (let round = 0; round < 7; round++) {
  const n = 5000;
  let t = performance.now();
  for (let i = 0; i < n; i++) new ClientHelloReader().push(small);
  whole.push(((performance.now() - t) / n) * 1000);
  t = performance.now();
  const r = new ClientHelloReader();
  for (let i = 0; i < big.length; i++) r.push(big.subarray(i, i + 1));
  bytewise.push(performance.now() - t);
}
console.log(`${runtime}: ${small.length}-byte hello whole: ${median(whole).toFixed(2)} µs (median of 7)`);
console.log(`${runtime}: ${big.length}-byte hello byte by byte: ${median(bytewise).toFixed(1)} ms (median of 7)`);
